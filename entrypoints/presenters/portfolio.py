"""Portfolio shapes: positions and rebalance outcomes of the paper sessions. Performance and risk are
answered as the core's own values (``PortfolioPerformance``, ``PortfolioRisk``): their fields are the shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from entrypoints.serialization import to_plain
from gpt_trader_core.services.portfolio_values import SessionPositions

if TYPE_CHECKING:  # the view module loads numpy; the CLI's remote path need not
    from gpt_trader_core.services.portfolio_view import Rebalance


@attrs.frozen
class PositionView:
    session_id: str
    symbol: str
    size: float
    entry_price: float
    entry_time: dt.datetime
    entry_bar: int


@attrs.frozen
class PositionList:
    items: tuple[PositionView, ...]


@attrs.frozen
class RebalanceView:
    session_id: str
    executed: bool
    plan: Mapping[str, Any]
    explanation: str


def positions_view(groups: Iterable[SessionPositions]) -> PositionList:
    return PositionList(
        tuple(
            PositionView(g.session_id, p.symbol, p.size, p.entry_price, p.entry_time, p.entry_bar)
            for g in groups
            for p in g.positions
        )
    )


def rebalance_view(outcome: Rebalance) -> RebalanceView:
    return RebalanceView(outcome.session_id, outcome.executed, to_plain(outcome.plan), outcome.plan.explain())
