"""What every command shares: settings from --config/--set, the container, output formats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cleo.commands.command import Command

from gpt_trader_core.errors import InvalidParameterError

T = TypeVar("T")


class AppCommand(Command):
    """A command that runs against the application container."""

    #: Executor for CPU work: one job from a terminal runs in-process.
    executor = "inline"

    def settings_overrides(self) -> list[str]:
        """Extra ``key=value`` settings a command derives from its own options (e.g. --data-dir)."""
        return []

    def load_settings(self) -> Any:
        from entrypoints.settings import load_settings

        overrides = list(self.option("set") or []) + self.settings_overrides()
        return load_settings(config_path=self.option("config"), overrides=overrides)

    def run_with_container(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Build the container, start its resources, run ``work(container)``, shut everything down."""
        from entrypoints.container import build_container, start_resources, stop_resources

        loaded = self.load_settings()
        container = build_container(loaded.settings, executor=self.executor)

        async def main() -> T:
            await start_resources(container)
            try:
                return await work(container)
            finally:
                await stop_resources(container)

        return asyncio.run(main())

    def output_format(self, default: str = "table") -> str:
        fmt = (self.option("format") or default).lower()
        if fmt not in ("table", "json", "csv"):
            raise InvalidParameterError(f"--format must be table, json or csv, got {fmt!r}")
        return str(fmt)

    def parse_pairs(self, name: str, values: Sequence[str]) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for item in values:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InvalidParameterError(f"--{name} expects key=value, got {item!r} (e.g. --{name} fast=10)")
            pairs[key.strip()] = value.strip()
        return pairs
