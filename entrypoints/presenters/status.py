"""``gpt-trader status --format json``: version, data source, component health, sessions, recent
executions, system metrics and alerts — built from the same component, execution and session shapes
the REST API answers."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from entrypoints.presenters.jobs import ExecutionView, execution_view
from entrypoints.presenters.sessions import SessionView, session_view
from entrypoints.presenters.system import ComponentView
from entrypoints.serialization import to_plain
from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.services.monitoring import MonitoringSnapshot


@attrs.frozen
class MarketDataView:
    source: str
    synthetic: bool
    label: str


@attrs.frozen
class SystemInfoView:
    version: str
    python: str
    data_dir: str
    config_file: str | None
    market_data: MarketDataView


@attrs.frozen
class StatusView:
    """The whole status; ``sessions_error`` says why sessions could not be listed (then ``sessions`` is empty)."""

    status: str
    system: SystemInfoView
    components: tuple[ComponentView, ...]
    executions: tuple[ExecutionView, ...]
    metrics: Mapping[str, Any]
    alerts: tuple[Mapping[str, Any], ...]
    sessions: tuple[SessionView, ...]
    sessions_error: str | None


def status_view(
    settings: Any,
    config_file: Path | None,
    snapshot: MonitoringSnapshot,
    sessions: Sequence[SessionRecord] = (),
    sessions_error: str | None = None,
) -> StatusView:
    from gpt_trader_core import __version__

    source = settings.market_data.source
    synthetic = source == "synthetic"
    label = f"SYNTHETIC (seed={settings.market_data.seed})" if synthetic else f"{source}: {settings.market_data.path}"
    return StatusView(
        snapshot.health.status,
        SystemInfoView(
            __version__,
            platform.python_version(),
            str(Path(settings.system.data_dir).expanduser()),
            str(config_file) if config_file else None,
            MarketDataView(source, synthetic, label),
        ),
        tuple(ComponentView(c.name, c.ok, c.latency_ms, c.error) for c in snapshot.health.components),
        tuple(execution_view(e) for e in snapshot.executions),
        {**to_plain(snapshot.system), "loop_lag_ms": snapshot.loop_lag_ms, "collect_ms": snapshot.collect_ms},
        tuple(to_plain(a) for a in snapshot.alerts),
        tuple(session_view(s) for s in sessions),
        sessions_error,
    )
