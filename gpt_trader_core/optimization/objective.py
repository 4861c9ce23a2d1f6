"""What an optimisation maximises or minimises: a statistic by name (or alias), or a callable."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from gpt_trader_core.backtesting.stats import STAT_KEYS
from gpt_trader_core.errors import InvalidParameterError

#: Short names users type (CLI ``--metric sharpe``) → statistic keys.
METRIC_ALIASES: dict[str, str] = {
    "sharpe": "sharpe_ratio",
    "sortino": "sortino_ratio",
    "calmar": "calmar_ratio",
    "omega": "omega_ratio",
    "return": "return_pct",
    "returns": "return_pct",
    "cagr": "cagr_pct",
    "drawdown": "max_drawdown_pct",
    "max_drawdown": "max_drawdown_pct",
    "win_rate": "win_rate_pct",
    "expectancy": "expectancy_pct",
    "equity": "equity_final",
    "trades": "num_trades",
}

_NUMERIC = tuple(
    k
    for k in STAT_KEYS
    if k
    not in {
        "start",
        "end",
        "duration",
        "max_drawdown_duration",
        "avg_drawdown_duration",
        "max_trade_duration",
        "avg_trade_duration",
    }
)


@attrs.frozen
class Objective:
    """``metric`` (a statistic name) or ``function`` (stats → float), maximised unless ``maximize=False``.
    Undefined scores (NaN) always rank last."""

    metric: str = "sharpe_ratio"
    maximize: bool = True
    function: Callable[[Mapping[str, Any]], float] | None = attrs.field(default=None, eq=False)

    @classmethod
    def of(cls, target: str | Callable[[Mapping[str, Any]], float], maximize: bool = True) -> Objective:
        if callable(target):
            return cls(getattr(target, "__name__", "custom"), maximize, target)
        metric = METRIC_ALIASES.get(target, target)
        if metric not in _NUMERIC:
            raise InvalidParameterError(
                f"unknown objective {target!r}; use a statistic such as {', '.join(_NUMERIC[:8])}, ... "
                f"or an alias ({', '.join(METRIC_ALIASES)})"
            )
        return cls(metric, maximize)

    @classmethod
    def choose(
        cls,
        maximize: str | Callable[[Mapping[str, Any]], float] | None = None,
        minimize: str | Callable[[Mapping[str, Any]], float] | None = None,
    ) -> Objective:
        """The Python API's ``maximize=`` / ``minimize=`` pair: at most one of them (default: maximise
        the Sharpe ratio)."""
        if maximize is not None and minimize is not None:
            raise InvalidParameterError(
                f"give maximize= or minimize=, not both (got maximize={maximize!r}, minimize={minimize!r})"
            )
        if minimize is not None:
            return cls.of(minimize, maximize=False)
        return cls.of(maximize if maximize is not None else "sharpe_ratio")

    def value(self, stats: Mapping[str, Any]) -> float:
        raw = self.function(stats) if self.function is not None else stats[self.metric]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return math.nan
        return value

    def rank_key(self, value: float) -> float:
        """Larger is better; NaN → -inf."""
        if math.isnan(value):
            return -math.inf
        return value if self.maximize else -value
