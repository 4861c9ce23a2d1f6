"""``MarketIntelligence`` on a gpt-trader server: analysis, recommendation, comparison and sizing.

The same methods (names, arguments, returned core values) as ``gpt_trader_core.services.intelligence``
for what the CLI asks (``market analyze``, ``strategies recommend|compare``, ``backtest --strategy all``,
``portfolio size``); each is one REST call whose answer the remote converter turns back into the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from adapters.remote.client import RemoteClient
from adapters.remote.converter import structure
from adapters.remote.services import _compact, _day
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from gpt_trader_core.analysis import MarketAnalysis, StrategyComparison
    from gpt_trader_core.ml import StrategyRecommendation
    from gpt_trader_core.sizing import SizingDecision

#: The costs ``POST /strategies/compare`` takes (the server's ``Costs``; the rest are its defaults).
COMPARE_COSTS = ("cash", "commission", "slippage")


class RemoteIntelligence:
    """``MarketIntelligence`` answered by the server at ``client.url``."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def analyze(
        self, symbol: str, start: dt.datetime | None = None, end: dt.datetime | None = None, timeframe: str = "1d"
    ) -> MarketAnalysis:
        """``POST /api/v1/market/analyze`` for one symbol."""
        body = {"symbols": [symbol], "start": _day(start, "from"), "end": _day(end, "to"), "timeframe": timeframe}
        data = await self._client.call("POST", "/api/v1/market/analyze", body=_compact(body))
        from gpt_trader_core.analysis import MarketAnalysis

        return structure(data["analysis"], MarketAnalysis)

    async def recommend(
        self,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        *,
        model: str | None = None,
    ) -> StrategyRecommendation:
        """``GET /api/v1/strategies/recommend``: the server's ranking (its heuristic; a saved selection model
        is a file of the machine that trained it, so ``--model`` is refused here rather than ignored)."""
        if model is not None:
            raise InvalidParameterError(
                f"--model names a selection model saved on this machine; {self._client.url} ranks with its "
                "heuristic: drop --model with --remote"
            )
        query = {"symbol": symbol, "start": _day(start, "from"), "end": _day(end, "to"), "timeframe": timeframe}
        data = await self._client.call("GET", "/api/v1/strategies/recommend", query=query)
        from gpt_trader_core.ml import StrategyRecommendation

        return structure(data["result"], StrategyRecommendation)

    async def compare(
        self,
        symbol: str,
        strategies: Sequence[Any],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
        *,
        rank_by: str = "sharpe_ratio",
        config: Mapping[str, Any] | None = None,
    ) -> StrategyComparison:
        """``POST /api/v1/strategies/compare`` (strategies by name; costs: cash, commission, slippage)."""
        names = [s if isinstance(s, str) else getattr(s, "name", None) for s in strategies]
        if not all(isinstance(n, str) for n in names):
            raise InvalidParameterError("--remote compares registered strategies by name")
        costs = _compare_costs(config or {})
        body = {
            "symbol": symbol,
            "strategies": names,
            "rank_by": rank_by,
            "start": _day(start, "from"),
            "end": _day(end, "to"),
            "timeframe": timeframe,
            "costs": costs,
        }
        data = await self._client.call("POST", "/api/v1/strategies/compare", body=_compact(body))
        return _comparison(data["result"])

    async def size(self, symbol: str, **options: Any) -> SizingDecision:
        """``POST /api/v1/portfolio/size`` (the server prices the symbol at its latest close)."""
        data = await self._client.call("POST", "/api/v1/portfolio/size", body=_compact({"symbol": symbol, **options}))
        from gpt_trader_core.sizing import SizingDecision

        return structure(data["result"], SizingDecision)


def _compare_costs(config: Mapping[str, Any]) -> dict[str, Any]:
    """The costs the server's comparison takes; any other backtest setting must be its default there (the
    server backtests with the defaults), else the comparison would not be the one asked for: refused."""
    from gpt_trader_core.backtesting.config import BacktestConfig

    defaults = BacktestConfig()
    differ = sorted(
        k
        for k, v in config.items()
        if k not in COMPARE_COSTS and (not hasattr(defaults, k) or getattr(defaults, k) != v)
    )
    if differ:
        raise InvalidParameterError(
            f"the server compares strategies with the default {', '.join(differ)}: drop those options with --remote"
        )
    return {k: v for k, v in config.items() if k in COMPARE_COSTS}


def _comparison(data: Mapping[str, Any]) -> StrategyComparison:
    """A ``StrategyComparison`` from the JSON edge's form of one (each row with its full result)."""
    from adapters.remote.services import _plain_result
    from gpt_trader_core.analysis import ComparisonRow, StrategyComparison
    from gpt_trader_core.backtesting.config import BacktestConfig

    rows = []
    for row in data["rows"]:
        result = _plain_result(row["result"])
        # the row's statistics as the core takes them from its result (the JSON edge writes them as floats:
        # a trade count would come back 10.0)
        stats = {k: _number(result.stats.get(k, v)) for k, v in row["stats"].items()}
        rows.append(
            ComparisonRow(
                rank=int(row["rank"]), strategy=row["strategy"], params=dict(row["params"]), stats=stats, result=result
            )
        )
    return StrategyComparison(
        rows=tuple(rows),
        rank_by=data["rank_by"],
        symbol=data["symbol"],
        config=structure(data["config"], BacktestConfig),
    )


def _number(value: Any) -> Any:
    """As ``compare_strategies`` keeps a statistic: a count stays an int, anything else a float (NaN for none)."""
    import math

    if value is None:
        return math.nan
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return float(value)
