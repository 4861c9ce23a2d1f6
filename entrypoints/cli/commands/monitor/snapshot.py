"""One monitor snapshot: what the sessions, executions and alerts look like now, as plain data
(the same for the live view, ``--once`` and ``--format json``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from entrypoints.container import Container


async def collect(container: Container, *, sessions: int = 10, fills: int = 3, executions: int = 10) -> dict[str, Any]:
    """Sessions (newest first) with equity, P&L, positions and last fills; recent executions with their
    progress; the alerts firing now (the monitoring use case's one-shot evaluation)."""
    from entrypoints.serialization import to_plain

    reads = await container.services.session_reads()  # read-only: no trading engine, no statistics
    monitoring = await container.services.monitoring()
    snapshot = await monitoring.status()
    rows = []
    for record in await reads.list(limit=sessions):
        view = await reads.overview(record.id, recent_fills=fills)
        rows.append(
            {
                "id": record.id,
                "strategy": record.strategy,
                "symbols": list(record.symbols),
                "status": record.status.value,
                "last_time": record.last_time,
                "capital": record.capital,
                "equity": record.equity,
                "pnl": record.equity - record.capital,
                "return_pct": view.return_pct,
                "realized_pnl": view.realized_pnl,
                "unrealized_pnl": view.unrealized_pnl,
                "positions": [
                    {"symbol": p.symbol, "size": p.size, "entry_price": p.entry_price} for p in view.positions
                ],
                "fills": [
                    {"time": f.time, "symbol": f.symbol, "side": f.side.value, "quantity": f.quantity, "price": f.price}
                    for f in reversed(view.fills)
                ],
            }
        )
    return to_plain(
        {
            "time": dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
            "sessions": rows,
            "executions": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "name": e.name,
                    "status": e.status.value,
                    "progress": e.progress,
                    "message": e.message,
                    "created_at": e.created_at,
                }
                for e in snapshot.executions[:executions]
            ],
            "alerts": [
                {"rule": a.rule, "severity": a.severity, "value": a.value, "since": a.since, "message": a.message}
                for a in snapshot.alerts
            ],
        }
    )
