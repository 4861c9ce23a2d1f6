"""Paper-trading sessions and the portfolio shapes built on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from entrypoints.serialization import to_plain
from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord

if TYPE_CHECKING:  # annotations only: the service imports numpy and the backtester, which `status` never runs
    from gpt_trader_core.services.sessions import SessionReport


@attrs.frozen
class SessionView:
    """A trading session: what it trades and where it has got to (``last_bar``, cash, equity)."""

    id: str
    created_at: dt.datetime
    strategy: str
    params: Mapping[str, Any]
    symbols: tuple[str, ...]
    mode: str
    capital: float
    status: Literal["running", "stopped", "finished", "failed", "interrupted"]
    last_bar: int
    last_time: dt.datetime | None
    cash: float
    equity: float
    error: str | None
    #: How it trades (the backtest config), on what (the feed: kind, data source, range, fingerprints),
    #: its risk limits and when it last changed: enough for a client to rebuild the stored record.
    config: Mapping[str, Any] = attrs.field(factory=dict)
    feed: Mapping[str, Any] = attrs.field(factory=dict)
    risk: Mapping[str, Any] | None = None
    updated_at: dt.datetime | None = None


@attrs.frozen
class SessionPage:
    items: tuple[SessionView, ...]
    next_cursor: str | None


@attrs.frozen
class SessionDetail:
    """A session with its positions, recent fills and performance."""

    session: SessionView
    running: bool
    orders: int
    positions: tuple[Mapping[str, Any], ...]
    recent_fills: tuple[Mapping[str, Any], ...]
    performance: Mapping[str, Any]


@attrs.frozen
class SessionEquity:
    """A session's account value by bar, in columns (bar number, bar time, cash, equity); realised P&L
    is ``cash - capital`` and unrealised ``equity - cash``, as in the session's performance."""

    session_id: str
    bars: tuple[int, ...]
    times: tuple[dt.datetime, ...]
    cash: tuple[float, ...]
    equity: tuple[float, ...]


def session_equity(session_id: str, snapshots: Sequence[EquitySnapshot]) -> SessionEquity:
    return SessionEquity(
        session_id,
        tuple(e.bar for e in snapshots),
        tuple(e.time for e in snapshots),
        tuple(float(e.cash) for e in snapshots),
        tuple(float(e.equity) for e in snapshots),
    )


def session_view(record: SessionRecord) -> SessionView:
    return SessionView(
        record.id,
        record.created_at,
        record.strategy,
        to_plain(dict(record.params)),
        tuple(record.symbols),
        record.mode,
        record.capital,
        record.status.value,
        record.last_bar,
        record.last_time,
        record.cash,
        record.equity,
        record.error,
        to_plain(dict(record.config)),
        to_plain(record.feed),
        to_plain(record.risk),
        record.updated_at,
    )


def session_detail(report: SessionReport) -> SessionDetail:
    return SessionDetail(
        session_view(report.session),
        report.running,
        report.orders,
        tuple(to_plain(p) for p in report.positions),
        tuple(to_plain(f) for f in report.fills),
        to_plain(dict(report.performance)),
    )
