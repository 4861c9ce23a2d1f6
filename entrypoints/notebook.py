"""``open_app()``: a ``gt.App`` wired through the composition root, for notebooks and scripts.

from entrypoints.notebook import open_app
with open_app() as app:                       # ~/.gpt-trader/state.db, synthetic data
    run = app.backtest("AAPL", "sma_cross", fast=10, slow=30)
    app.results()[:5]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entrypoints.container import build_container, start_resources, stop_resources
from entrypoints.settings import load_settings
from gpt_trader_core.app import App, AppServices


def open_app(config: str | Path | None = None, *, inline: bool = True, **overrides: Any) -> App:
    """An App over the settings (``config`` file, environment, ``overrides`` such as
    ``state__url="sqlite:///tmp/x.db"`` — a double underscore separates levels)."""
    items = [f"{key.replace('__', '.')}={value}" for key, value in overrides.items()]
    settings = load_settings(config_path=config, overrides=items).settings
    container = build_container(settings, executor="inline" if inline else None)

    async def connect() -> AppServices:
        await start_resources(container)
        return AppServices(
            await container.services.backtester(),
            await container.services.results(),
            await container.services.sessions(),
        )

    async def disconnect() -> None:
        await stop_resources(container)

    return App(connect, disconnect)
