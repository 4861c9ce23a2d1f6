"""Portfolio shapes: positions, performance, risk and rebalance outcomes of the paper sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from entrypoints.serialization import to_plain
from gpt_trader_core.services.portfolio_values import PortfolioPerformance, PortfolioRisk, SessionPositions

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
class PerformanceView:
    """A session's P&L split, exposure, statistics and (downsampled) equity curve."""

    session_id: str
    statistics: Mapping[str, Any]
    equity_times: tuple[dt.datetime, ...]
    equity: tuple[float, ...]


@attrs.frozen
class RiskView:
    """Historical VaR/CVaR of the session's bar returns (% of equity; null under 20 bars), drawdown,
    exposure and each configured limit."""

    session_id: str
    bars: int
    var_95_pct: float | None
    cvar_95_pct: float | None
    var_99_pct: float | None
    cvar_99_pct: float | None
    max_drawdown_pct: float
    current_drawdown_pct: float
    net_exposure_pct: float | None
    gross_exposure_pct: float | None
    limits: Mapping[str, Any]


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


def performance_view(perf: PortfolioPerformance) -> PerformanceView:
    return PerformanceView(perf.session_id, to_plain(dict(perf.statistics)), tuple(perf.equity_times), perf.equity)


def risk_view(risk: PortfolioRisk) -> RiskView:
    # The core value and the view have the same fields: the view exists for the OpenAPI document's names.
    return RiskView(**{a.name: getattr(risk, a.name) for a in attrs.fields(PortfolioRisk)})


def rebalance_view(outcome: Rebalance) -> RebalanceView:
    return RebalanceView(outcome.session_id, outcome.executed, to_plain(outcome.plan), outcome.plan.explain())
