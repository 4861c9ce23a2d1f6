"""The portfolio of paper sessions as the REST API shows it: positions, performance with its equity
curve, risk (historical VaR/CVaR of the equity curve, exposure, drawdown, limit status) and
rebalancing (a plan, or with ``execute`` the orders through the session's own order path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.analysis import historical_cvar, historical_var
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.portfolio import RebalancePlan
from gpt_trader_core.ports import TradingStore
from gpt_trader_core.services.portfolio_values import PortfolioPerformance, PortfolioRisk, SessionPositions
from gpt_trader_core.services.sessions import TradingSessions

__all__ = ["PortfolioPerformance", "PortfolioRisk", "PortfolioView", "Rebalance", "SessionPositions", "downsample"]


@attrs.frozen
class Rebalance:
    session_id: str
    executed: bool
    plan: RebalancePlan


def downsample(values: np.ndarray, points: int) -> np.ndarray:
    """Indices of at most ``points`` evenly spaced samples, first and last included."""
    if len(values) <= points:
        return np.arange(len(values))
    return np.unique(np.linspace(0, len(values) - 1, points).round().astype(np.int64))


class PortfolioView:
    def __init__(self, store: TradingStore, sessions: TradingSessions) -> None:
        self._store = store
        self._sessions = sessions

    async def positions(self, session_id: str | None = None) -> list[SessionPositions]:
        """Positions of one session, or of every running session."""
        if session_id is not None:
            await self._store.get_session(session_id)
            ids = [session_id]
        else:
            ids = [s.id for s in await self._store.list_sessions(status=SessionStatus.RUNNING, limit=1000)]
        return [SessionPositions(i, tuple(await self._store.list_positions(i))) for i in ids]

    async def performance(self, session_id: str, points: int = 200) -> PortfolioPerformance:
        report = await self._sessions.status(session_id)
        equity = await self._store.list_equity(session_id)
        curve = np.array([e.equity for e in equity], dtype=float)
        keep = downsample(curve, points)
        return PortfolioPerformance(
            session_id,
            dict(report.performance),
            tuple(equity[i].time for i in keep),
            tuple(float(curve[i]) for i in keep),
        )

    async def risk(self, session_id: str) -> PortfolioRisk:
        report = await self._sessions.status(session_id)
        equity = np.array([e.equity for e in await self._store.list_equity(session_id)], dtype=float)
        returns = equity[1:] / equity[:-1] - 1 if len(equity) > 1 else np.array([])
        enough = len(returns) >= 20  # fewer returns make a meaningless quantile
        peak = np.maximum.accumulate(equity) if len(equity) else np.array([1.0])
        drawdown = (equity / peak - 1) * 100 if len(equity) else np.array([0.0])
        perf = report.performance
        record = report.session
        limits: dict[str, Any] = {}
        for name, value in (attrs.asdict(record.risk) if record.risk is not None else {}).items():
            limits[name] = {"limit": value}
        if "max_drawdown_pct" in limits:
            limits["max_drawdown_pct"]["current"] = float(-drawdown.min())
            limits["max_drawdown_pct"]["breached"] = float(-drawdown.min()) > float(limits["max_drawdown_pct"]["limit"])
        return PortfolioRisk(
            session_id,
            len(equity),
            historical_var(returns, 0.95) * 100 if enough else None,
            historical_cvar(returns, 0.95) * 100 if enough else None,
            historical_var(returns, 0.99) * 100 if enough else None,
            historical_cvar(returns, 0.99) * 100 if enough else None,
            float(-drawdown.min()),
            float(-drawdown[-1]),
            perf.get("net_exposure_pct"),
            perf.get("gross_exposure_pct"),
            limits,
        )

    async def rebalance(self, session_id: str, target_weights: Mapping[str, float], *, execute: bool) -> Rebalance:
        """The plan that moves the session to ``target_weights``; ``execute`` sends its orders through the
        session (submitted at its next bar). The session may run in any process (worker) that shares
        its leases: its prices come from there."""
        weights = {k.upper(): v for k, v in target_weights.items()}
        return Rebalance(session_id, execute, await self._sessions.rebalance(session_id, weights, execute=execute))
