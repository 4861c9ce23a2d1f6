"""Reading trading sessions without running any: what ``status`` and ``monitor`` show.

``TradingSessions`` starts, drives and stops sessions, so it imports the trading engine, the statistics
(numpy) and the charts. A driver that only looks at the stored sessions (the CLI's ``status`` and
``monitor``) uses ``SessionReads`` instead: the same records over the ``TradingStore`` and ``SessionLeases``
ports, a stored "running" session that no live process holds shown as ``interrupted`` exactly as
``TradingSessions.list`` shows it, and a session's headline (positions, recent fills, return, P&L split)
without the full performance statistics.

``ReportedSessionReads`` gives the same reads over a use case that reports sessions (``list`` and
``status``, e.g. a server's through ``adapters/remote``), so a command reads alike in both places.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import attrs

from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord, SessionStatus
from gpt_trader_core.domain.trading import Fill, Position
from gpt_trader_core.ports import SessionLeases, TradingStore


@attrs.frozen
class SessionOverview:
    """One session at a glance: its record (``interrupted`` when no process holds it), its positions, its
    ``recent_fills`` newest last, the return in % (over its equity snapshots, as the performance
    statistics compute it; ``None`` when unknown), realised P&L (cash - capital) and unrealised P&L
    (equity - cash)."""

    session: SessionRecord
    positions: tuple[Position, ...]
    fills: tuple[Fill, ...]
    return_pct: float | None
    realized_pnl: float | None
    unrealized_pnl: float | None


def session_return_pct(record: SessionRecord, equity: Sequence[EquitySnapshot]) -> float:
    """The session's return in %: from its first to its last equity snapshot, as the statistics compute a
    return (``compute_stats``'s ``return_pct``), or equity over capital before it has two snapshots."""
    if len(equity) < 2:
        return (record.equity / record.capital - 1) * 100
    first, last = float(equity[0].equity), float(equity[-1].equity)
    if first == 0:  # as the statistics' float64 division gives it
        return math.nan if last == first else math.copysign(math.inf, last - first)
    return (last - first) / first * 100


class SessionReads:
    """The stored sessions as ``TradingSessions`` shows them, read-only (this use case runs no session)."""

    def __init__(self, store: TradingStore, leases: SessionLeases) -> None:
        self._store = store
        self._leases = leases

    async def list(
        self, *, status: SessionStatus | None = None, limit: int = 50, here: Collection[str] = ()
    ) -> builtins.list[SessionRecord]:
        """Sessions, newest first; ``interrupted`` ones are stored as running with no live owner.
        ``here``: the sessions the calling process runs itself (held without asking the leases)."""
        wanted = SessionStatus(status) if status is not None else None
        stored = SessionStatus.RUNNING if wanted is SessionStatus.INTERRUPTED else wanted
        records = await self._store.list_sessions(status=stored, limit=limit)
        held = set(here) | await self._leases.holding(
            {r.id: r.owner for r in records if r.status is SessionStatus.RUNNING and r.id not in here}
        )
        seen = [
            attrs.evolve(r, status=SessionStatus.INTERRUPTED)
            if r.status is SessionStatus.RUNNING and r.id not in held
            else r
            for r in records
        ]
        return [r for r in seen if wanted is None or r.status is wanted]

    async def get(self, session_id: str) -> SessionRecord:
        """The stored session (``NotFoundError`` for an unknown id), ``interrupted`` when no process holds it."""
        return await self.seen(await self._store.get_session(session_id))

    async def seen(self, record: SessionRecord, here: Collection[str] = ()) -> SessionRecord:
        """``record`` as shown: a stored "running" session that no live process holds is interrupted."""
        if record.status is not SessionStatus.RUNNING or record.id in here:
            return record
        if await self._leases.holds(record.id, record.owner):
            return record
        return attrs.evolve(record, status=SessionStatus.INTERRUPTED)

    async def overview(self, session_id: str, *, recent_fills: int = 20) -> SessionOverview:
        record = await self.get(session_id)
        fills = await self._store.list_fills(session_id)
        positions = await self._store.list_positions(session_id)
        equity = await self._store.list_equity(session_id)
        return SessionOverview(
            record,
            tuple(positions),
            tuple(fills[-recent_fills:]) if recent_fills > 0 else (),
            session_return_pct(record, equity),
            float(record.cash - record.capital),
            float(record.equity - record.cash),
        )


class _SessionReport(Protocol):
    session: SessionRecord
    positions: Sequence[Position]
    fills: Sequence[Fill]
    performance: Mapping[str, Any]


class SessionReporter(Protocol):
    """A use case that lists sessions and reports one (``TradingSessions``, a server's sessions)."""

    async def list(self, *, status: Any = None, limit: int = 50) -> builtins.list[SessionRecord]: ...

    async def status(self, session_id: str, *, recent_fills: int = 20) -> Any: ...


class ReportedSessionReads:
    """``SessionReads`` over a ``SessionReporter``: the overview taken from its report's performance."""

    def __init__(self, sessions: SessionReporter) -> None:
        self._sessions = sessions

    async def list(self, *, status: SessionStatus | None = None, limit: int = 50) -> builtins.list[SessionRecord]:
        return await self._sessions.list(status=status, limit=limit)

    async def overview(self, session_id: str, *, recent_fills: int = 20) -> SessionOverview:
        report: _SessionReport = await self._sessions.status(session_id, recent_fills=recent_fills)
        performance = report.performance
        return SessionOverview(
            report.session,
            tuple(report.positions),
            tuple(report.fills),
            performance.get("return_pct"),
            performance.get("realized_pnl"),
            performance.get("unrealized_pnl"),
        )
