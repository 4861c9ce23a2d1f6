"""The values ``PortfolioView`` returns, in a module of their own: a remote client rebuilds them from JSON
(``portfolio positions --remote``) without importing the view, which loads numpy and the analysis slice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.trading import Position

__all__ = ["PortfolioPerformance", "PortfolioRisk", "SessionPositions"]


@attrs.frozen
class SessionPositions:
    session_id: str
    positions: tuple[Position, ...]


@attrs.frozen
class PortfolioPerformance:
    """Performance statistics of a session and its equity curve (at most ``points`` points)."""

    session_id: str
    statistics: Mapping[str, Any]
    equity_times: tuple[dt.datetime, ...]
    equity: tuple[float, ...]


@attrs.frozen
class PortfolioRisk:
    """Risk of a session's equity curve: historical VaR/CVaR of bar returns (as % of equity), drawdown,
    exposure and each configured risk limit with its current value."""

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
