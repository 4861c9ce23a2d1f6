"""The backtest answer's fast path (``fast_plain``, ``backtest_view``, ``backtest_json``) gives the very bytes
the cattrs-based serialisation gave before it: the reference below is the previous ``backtest_view`` and
``result_to_dict``, converting every value with ``to_plain`` (cattrs) and encoding with ``presenters.dumps``."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from typing import Any

import attrs
import numpy as np
import pytest

from adapters.market_data.synthetic import SyntheticMarketData
from entrypoints.presenters import dumps
from entrypoints.presenters.backtests import BacktestView, EquityCurve, backtest_json, backtest_view
from entrypoints.serialization import fast_plain, result_to_dict, to_plain
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.domain.trading import ExitReason, Position, Trade
from gpt_trader_core.services.backtest import BacktestRun
from gpt_trader_core.services.portfolio_view import downsample
from gpt_trader_core.strategy import REGISTRY


def reference_result_dict(
    result: BacktestResult, *, trades: bool = True, equity: bool = False, record_id: str | None = None
) -> dict[str, Any]:
    """``result_to_dict`` as it was: every part through the cattrs converter."""
    data: dict[str, Any] = {
        "id": record_id,
        "strategy": result.strategy,
        "params": to_plain(result.params),
        "symbol": result.symbol,
        "timeframe": result.timeframe,
        "source": result.source,
        "synthetic": result.synthetic,
        "data_fingerprint": result.data_fingerprint,
        "config": to_plain(result.config),
        "stats": to_plain(result.stats),
        "open_position": to_plain(result.open_position),
        "exit_reasons": to_plain(result.exit_reasons),
        "monthly_returns": [{"month": m, "return_pct": to_plain(r)} for m, r in result.monthly_returns],
        "yearly_returns": [{"year": y, "return_pct": to_plain(r)} for y, r in result.yearly_returns],
    }
    if trades:
        data["trades"] = [to_plain(t) for t in result.trades]
    if equity:
        data["equity"] = {
            "timestamps": np.datetime_as_string(result.timestamps, unit="s").tolist(),
            "equity": to_plain(result.equity),
            "drawdown": to_plain(result.drawdown),
        }
    return data


def reference_view(run: BacktestRun, points: int, *, full: bool) -> BacktestView:
    """``backtest_view`` as it was (the whole result converted, then the view)."""
    data = reference_result_dict(run.result, trades=True, equity=full, record_id=run.record_id)
    result = run.result
    whole = None
    if full:
        data["equity"]["position"] = to_plain(result.position)
        whole = {**data, "rejected_orders": result.rejected_orders}
    keep = downsample(result.equity, points)
    stamps = np.datetime_as_string(result.timestamps[keep], unit="s").tolist()
    return BacktestView(
        run.record_id,
        run.cached,
        result.strategy,
        data["params"],
        result.symbol,
        result.timeframe,
        result.source,
        result.synthetic,
        data["stats"],
        tuple(data["trades"]),
        EquityCurve(tuple(stamps), tuple(to_plain(result.equity[keep])), tuple(to_plain(result.drawdown[keep]))),
        whole,
    )


_MARKET = SyntheticMarketData()

#: (symbol, start, end, strategy, params, config): long and short, stops (exit reasons), an open position at
#: the end, no trade at all (NaN statistics → null), costs, long-only, a non-default strategy.
CASES = [
    ("AAPL", "2015-01-01", "2024-12-31", "sma_cross", {"fast": 10, "slow": 60}, BacktestConfig()),
    (
        "MSFT",
        "2018-01-01",
        "2022-12-31",
        "sma_cross",
        {"fast": 3, "slow": 12},
        BacktestConfig(commission=0.001, slippage=0.0005, stop_loss=0.02, take_profit=0.05, trailing_stop=0.03),
    ),
    ("SPY", "2020-01-01", "2020-03-15", "sma_cross", {"fast": 40, "slow": 45}, BacktestConfig()),
    ("BTCUSD", "2016-01-01", "2019-12-31", "mean_reversion", {}, BacktestConfig(mode="long_only", fill="close")),
    ("EURUSD", "2019-01-01", "2021-06-30", "momentum", {}, BacktestConfig(close_at_end=True, spread=0.001)),
]


def _runs() -> list[BacktestRun]:
    runs = []
    for i, (symbol, start, end, strategy, params, config) in enumerate(CASES):
        bars = _MARKET.history(symbol, start, end, "1d")
        result = run_backtest(bars, REGISTRY.create(strategy, **params), config)
        runs.append(BacktestRun(result, f"bt_{i:016x}" if i % 2 else None, cached=i == 1))
    return runs


RUNS = _runs()


def test_cases_cover_the_awkward_values() -> None:
    stats = [run.result.stats for run in RUNS]
    assert any(s["num_trades"] == 0 for s in stats), "a run without trades (NaN statistics)"
    assert any(not math.isfinite(v) for s in stats for v in s.values() if isinstance(v, float))
    assert any(t.exit_reason is not ExitReason.SIGNAL for run in RUNS for t in run.result.trades)
    assert any(run.result.open_position is not None for run in RUNS)
    assert any(len(run.result.equity) < 200 for run in RUNS), "fewer bars than equity points"


@pytest.mark.parametrize("run", RUNS, ids=[f"{c[0]}-{c[3]}" for c in CASES])
@pytest.mark.parametrize(("points", "full"), [(200, False), (2, False), (5000, False), (50, True)])
def test_the_answer_is_byte_for_byte_the_cattrs_one(run: BacktestRun, points: int, full: bool) -> None:
    fast = backtest_json(backtest_view(run, points, full=full))
    assert fast == dumps(reference_view(run, points, full=full))
    assert fast == dumps(backtest_view(run, points, full=full))  # the view's values are JSON-ready already


@pytest.mark.parametrize("run", RUNS, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_result_to_dict_is_the_cattrs_one(run: BacktestRun) -> None:
    for trades, equity in [(True, True), (False, False)]:
        fast = result_to_dict(run.result, trades=trades, equity=equity, record_id=run.record_id)
        reference = reference_result_dict(run.result, trades=trades, equity=equity, record_id=run.record_id)
        assert repr(fast) == repr(reference)  # repr: 1 and 1.0, a list and a tuple differ


class Colour(enum.Enum):
    RED = "red"


@attrs.frozen
class Reading:
    """An attrs record ``fast_plain`` converts itself: the declared types decide (an int in a float field
    becomes a float, as with the converter's float hook)."""

    at: dt.datetime
    day: dt.date
    value: float
    count: int
    colour: Colour
    held: dt.timedelta


@attrs.frozen
class Nested:
    """Not simple (a declared mapping, a union): left to the converter."""

    readings: tuple[Reading, ...]
    extra: dict[str, float] | None = None


VALUES: list[Any] = [
    {"a": 1, "b": 1.5, "c": float("nan"), "d": float("-inf"), "e": None, "f": True, "g": "é"},
    (1, 2.0, (3, [4.5, float("inf")])),
    {dt.date(2020, 1, 2): np.float32(0.1), 7: np.int64(3), "x": np.bool_(True), "y": np.float64("nan")},
    np.array([1.0, 2.5, 1e300]),
    np.array([[1.0, np.nan], [np.inf, -0.0]]),
    np.array([1, 2, 3], dtype=np.int32),
    np.array([True, False]),
    np.array(["2020-01-01T00:00:00", "2021-06-30T12:00:00"], dtype="datetime64[s]"),
    [dt.datetime(2020, 1, 2, 3, 4, 5), dt.datetime(2020, 1, 2, tzinfo=dt.UTC), dt.timedelta(days=1, seconds=3)],
    Colour.RED,
    Reading(dt.datetime(2020, 1, 1), dt.date(2020, 1, 2), 3, 4, Colour.RED, dt.timedelta(hours=1)),  # type: ignore[arg-type]
    Reading(dt.datetime(2020, 1, 1), dt.date(2020, 1, 2), float("nan"), 4, Colour.RED, dt.timedelta(0)),
    Nested((Reading(dt.datetime(2020, 1, 1), dt.date(2020, 1, 2), 1.5, 4, Colour.RED, dt.timedelta(0)),), {"k": 2}),
    Trade("AAPL", 3, 1, 5, dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 7), 10, 11.5, 4.5, 15.0, 0.0),  # type: ignore[arg-type]
    Position("AAPL", -2.0, 10.0, 3, dt.datetime(2020, 1, 1)),
    BacktestConfig(stop_loss=0.1),
    RUNS[0].result.params,
    RUNS[0].result.stats,
    RUNS[1].result.exit_reasons,
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_fast_plain_is_to_plain(value: Any) -> None:
    assert repr(fast_plain(value)) == repr(to_plain(value))
    assert repr(fast_plain(value)) == repr(fast_plain(value))  # the second call takes the cached dispatch


def test_the_answer_is_json_with_nulls_for_non_finite_numbers() -> None:
    empty = next(run for run in RUNS if run.result.stats["num_trades"] == 0)
    nan = [k for k, v in empty.result.stats.items() if isinstance(v, float) and not math.isfinite(v)]
    answer = json.loads(backtest_json(backtest_view(empty)))
    assert nan and all(answer["stats"][k] is None for k in nan)
    assert answer["trades"] == []
    assert len(answer["equity"]["equity"]) == len(empty.result.equity)  # fewer bars than points: all of them
