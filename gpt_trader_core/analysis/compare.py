"""``compare_strategies``: backtest several strategies on the same bars and rank them.

Each entry is a registered strategy name or a ``(name, params)`` pair; every one runs through
``gpt_trader_core.backtesting.runner.run_backtest`` with the same ``BacktestConfig(**backtest_config)``.
Rows are ranked by ``rank_by`` (one of ``RANKABLE``), highest first - ``max_drawdown_pct`` is <= 0 in the
backtest statistics, so "highest" is the shallowest drawdown there too. NaN values rank last; ties keep the
order the strategies were given in.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from gpt_trader_core.analysis.technical import as_bars
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.readonly import read_only_fields, rebuild
from gpt_trader_core.domain.results import BacktestResult, format_value
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.strategy.registry import StrategyRegistry

#: The statistics every row carries, and by which it can be ranked.
RANKABLE: tuple[str, ...] = (
    "return_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown_pct",
    "win_rate_pct",
    "num_trades",
    "profit_factor",
    "calmar_ratio",
)

StrategyEntry = str | tuple[str, Mapping[str, Any]]


@attrs.frozen(eq=False)
class ComparisonRow:
    """One strategy's rank, resolved parameters, key statistics and full ``BacktestResult``."""

    rank: int
    strategy: str
    params: Mapping[str, Any]
    stats: Mapping[str, float]
    result: BacktestResult

    def __getitem__(self, stat: str) -> float:
        return self.stats[stat]

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this a comparison run on a process pool (the
        # server's executor) cannot come back to the event loop.
        return (rebuild, read_only_fields(self))

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.strategy}({args})"


@attrs.frozen(eq=False)
class StrategyComparison:
    """Strategies ranked by ``rank_by`` (best first)."""

    rows: tuple[ComparisonRow, ...]
    rank_by: str
    symbol: str
    config: BacktestConfig

    @property
    def best(self) -> ComparisonRow:
        return self.rows[0]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ComparisonRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> ComparisonRow:
        return self.rows[index]

    def records(self) -> list[dict[str, Any]]:
        """One dict per row: rank, strategy, params and the key statistics (JSON-ready, NaN as None)."""
        return [
            {
                "rank": row.rank,
                "strategy": row.strategy,
                "params": dict(row.params),
                **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.stats.items()},
            }
            for row in self.rows
        ]

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame indexed by rank (needs pandas)."""
        import importlib

        pandas = importlib.import_module("pandas")
        return pandas.DataFrame(self.records()).set_index("rank")

    def __str__(self) -> str:
        header = ["#", "strategy", *RANKABLE]
        lines = [[str(r.rank), r.label, *(format_value(r.stats[k]) for k in RANKABLE)] for r in self.rows]
        widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=True)]
        out = [
            f"{self.symbol}: {len(self.rows)} strategies ranked by {self.rank_by}",
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        ]
        out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
        return "\n".join(out)

    def __repr__(self) -> str:
        best = self.best.label
        return f"StrategyComparison({self.symbol}, {len(self.rows)} strategies by {self.rank_by}, best {best})"


def _entry(entry: Any, position: int) -> tuple[str, Mapping[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if (
        isinstance(entry, tuple | list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], Mapping)
    ):
        return entry[0], entry[1]
    raise InvalidParameterError(
        f"strategies[{position}] must be a strategy name or a (name, params) pair such as "
        f"('sma_cross', {{'fast': 10, 'slow': 30}}), got {entry!r}"
    )


def _config(options: Mapping[str, Any]) -> BacktestConfig:
    known = [field.name for field in attrs.fields(BacktestConfig)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidParameterError(
            f"unknown backtest setting {', '.join(map(repr, unknown))}; valid settings: {', '.join(known)}"
        )
    return BacktestConfig(**options)


def compare_strategies(
    bars: Bars | Any,
    strategies: Sequence[StrategyEntry],
    *,
    registry: StrategyRegistry,
    rank_by: str = "sharpe_ratio",
    **backtest_config: Any,
) -> StrategyComparison:
    """Backtest each strategy on ``bars`` and rank them by ``rank_by`` (best first, NaN last).

    ``strategies``: names of strategies in ``registry`` or ``(name, params)`` pairs (``gt.compare_strategies``
    passes the registry of ``gt.strategies()``);
    ``backtest_config``: ``BacktestConfig`` fields (``cash``, ``commission``, ``mode`` ...) shared by all::

        cmp = compare_strategies(bars, ["sma_cross", ("momentum", {"lookback": 50})], registry=REGISTRY,
                                 commission=0.001)
        cmp.best.strategy, cmp.rows[0].stats["sharpe_ratio"]; print(cmp)
    """
    data = as_bars(bars)
    if rank_by not in RANKABLE:
        raise InvalidParameterError(f"rank_by must be one of {', '.join(RANKABLE)}; got {rank_by!r}")
    if isinstance(strategies, str | bytes) or not isinstance(strategies, Sequence):
        raise InvalidParameterError(
            f"strategies must be a list of names or (name, params) pairs, got {type(strategies).__name__}"
        )
    if not strategies:
        raise InvalidParameterError("strategies is empty; give at least one strategy name")
    config = _config(backtest_config)
    entries = [_entry(entry, i) for i, entry in enumerate(strategies)]
    instances = [registry.create(name, **params) for name, params in entries]  # validate all before running
    results = [run_backtest(data, strategy, config) for strategy in instances]

    def key(item: tuple[int, BacktestResult]) -> tuple[bool, float, int]:
        position, result = item
        value = float(result.stats[rank_by])
        return (math.isnan(value), -value if not math.isnan(value) else 0.0, position)

    ranked = sorted(enumerate(results), key=key)
    rows = tuple(
        ComparisonRow(
            rank=rank,
            strategy=result.strategy,
            params=MappingProxyType(dict(result.params)),
            stats=MappingProxyType({k: _number(result.stats[k]) for k in RANKABLE}),
            result=result,
        )
        for rank, (_, result) in enumerate(ranked, start=1)
    )
    return StrategyComparison(rows=rows, rank_by=rank_by, symbol=data.symbol, config=config)


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return float(value)
