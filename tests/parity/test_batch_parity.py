"""Batched optimisation equals the single-run engine, and its best parameters equal backtesting.py's.

For every built-in strategy on GOOG (daily) and EURUSD (hourly), a grid of 1,000+ parameter sets
goes through the batched path (``evaluate_many``); every combination's trades (every column) and
statistics must equal ``simulate`` + ``stats_with`` on that combination alone — bit-for-bit (floats
compared with ``==``, NaN equal to NaN). Then a smaller grid per strategy is optimised by
backtesting.py's ``Backtest.optimize`` with a peer strategy that trades our target positions, and
the best parameters must agree.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import pytest

pytest.importorskip("backtesting")
from backtesting import Backtest
from backtesting import Strategy as PeerStrategy
from backtesting.test import EURUSD, GOOG

import gpt_trader_core as gt
from gpt_trader_core.backtesting.batch import simulate_batch
from gpt_trader_core.backtesting.batch_run import can_batch, evaluate_many
from gpt_trader_core.backtesting.batch_signals import batch_signals_for
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import desired_positions, simulate
from gpt_trader_core.backtesting.stats import StatsContext, stats_with
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.strategy.base import Strategy

DATA = {"GOOG": GOOG, "EURUSD": EURUSD}

#: 1,000+ combinations each (after the strategy's own constraints); breakout's one parameter has 249 values.
BIG_GRIDS: dict[str, dict[str, Any]] = {
    "sma_cross": {"fast": range(2, 61, 2), "slow": range(10, 206, 5)},
    "momentum": {"lookback": range(2, 202, 2), "threshold": [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3]},
    "mean_reversion": {"period": range(2, 202, 2), "num_std": [0.5, 0.75, 1.0, 1.5, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0]},
    "volatility": {
        "period": range(2, 202, 2),
        "vol_threshold": [0.001, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.2],
    },
    "breakout": {"lookback": range(2, 251)},
}

CONFIGS = {
    "commission": BacktestConfig(cash=10_000, commission=0.002),
    "long_only+slippage+fixed": BacktestConfig(
        cash=10_000, commission=0.001, commission_fixed=1.0, slippage=0.0005, mode="long_only"
    ),
    "fractional+close+close_at_end": BacktestConfig(
        cash=10_000, commission=0.002, fractional=True, fill="close", close_at_end=True
    ),
}

_SPREAD: dict[str, Any] = {"cash": 10_000, "commission": 0.002, "spread": 0.001, "slippage": 5e-4}
if "spread" in attrs.fields_dict(BacktestConfig):  # backtesting.py's spread, where the engine offers it
    CONFIGS["spread+slippage"] = BacktestConfig(**_SPREAD)


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    return (bool(a == b) and type(a) is type(b)) or (isinstance(a, float) and isinstance(b, float) and a == b)


def _bars(name: str) -> Bars:
    return gt.as_bars(DATA[name], name)


@pytest.fixture(scope="module", params=list(DATA))
def bars(request: pytest.FixtureRequest) -> Bars:
    return _bars(request.param)


@pytest.mark.parametrize("strategy_name", list(BIG_GRIDS))
def test_every_combination_equals_the_single_run_engine(bars: Bars, strategy_name: str) -> None:
    strategy = REGISTRY.get_spec(strategy_name).cls
    params = list(SearchSpace.build(strategy, BIG_GRIDS[strategy_name]).grid())
    # Breakout has one parameter: its whole valid range (2..250) is the grid, 249 points.
    assert len(params) >= (249 if strategy_name == "breakout" else 1_000)
    config = CONFIGS["commission"]
    assert can_batch(strategy, config)
    batched = evaluate_many(bars, strategy, params, config)
    cache, context = IndicatorCache(), StatsContext(bars.timestamps, bars.close)
    fn = batch_signals_for(strategy)
    assert fn is not None
    sim = simulate_batch(bars.open, bars.close, fn(bars, params, IndicatorCache()), config)
    equity = sim.equity
    for row, (p, stats) in enumerate(zip(params, batched, strict=True)):
        signals = strategy(**p).signals_cached(bars, cache)
        alone = simulate(
            bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config, signals.reentry
        )
        expected = stats_with(context, alone.equity, alone.trades, min(signals.warmup, len(bars) - 1))
        mismatched = [key for key in expected if not _same(stats[key], expected[key])]
        assert not mismatched, (p, {key: (stats[key], expected[key]) for key in mismatched})
        if sim.ruined[row]:
            continue  # ruined rows are re-run by the single-run engine: their kernel figures are not used
        log = sim.trades.log(row)
        for column in ("size", "entry_bar", "exit_bar", "entry_price", "exit_price", "pnl", "return_pct", "commission"):
            np.testing.assert_array_equal(getattr(log, column), getattr(alone.trades, column), err_msg=f"{p} {column}")
        np.testing.assert_array_equal(log.exit_reason, alone.trades.exit_reason)
        np.testing.assert_array_equal(equity[row], alone.equity, err_msg=str(p))
    assert np.array_equal(sim.ruined, np.any(equity <= 0, axis=1))  # ruin found from segment extremes


@pytest.mark.parametrize("config_name", [name for name in CONFIGS if name != "commission"])
@pytest.mark.parametrize("strategy_name", list(BIG_GRIDS))
def test_other_fill_settings_equal_the_single_run_engine(strategy_name: str, config_name: str) -> None:
    bars = _bars("GOOG")
    strategy = REGISTRY.get_spec(strategy_name).cls
    params = list(SearchSpace.build(strategy, BIG_GRIDS[strategy_name]).grid())[::7]
    config = CONFIGS[config_name]
    batched = evaluate_many(bars, strategy, params, config)
    cache, context = IndicatorCache(), StatsContext(bars.timestamps, bars.close)
    for p, stats in zip(params, batched, strict=True):
        signals = strategy(**p).signals_cached(bars, cache)
        alone = simulate(
            bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config, signals.reentry
        )
        expected = stats_with(context, alone.equity, alone.trades, min(signals.warmup, len(bars) - 1))
        assert all(_same(stats[key], expected[key]) for key in expected), p


def test_stops_and_unbatched_strategies_fall_back_to_the_single_run_engine() -> None:
    bars = _bars("GOOG")
    stops = BacktestConfig(cash=10_000, commission=0.002, stop_loss=0.05, trailing_stop=0.1)
    assert not can_batch(REGISTRY.get_spec("sma_cross").cls, stops)

    class Contrarian(gt.Strategy):  # a user strategy without batch_signals
        name = "contrarian_test"
        params = (gt.Param("n", int, 5, 2, 50),)

        def signals(self, bars: Bars) -> gt.Signals:
            change = np.full(len(bars), np.nan)
            n = self.values["n"]
            change[n:] = -np.sign(bars.close[n:] - bars.close[:-n])
            return gt.Signals(change, n)

    assert not can_batch(Contrarian, BacktestConfig())
    for strategy, config, grid in (
        (REGISTRY.get_spec("sma_cross").cls, stops, {"fast": [5, 10], "slow": [20, 40]}),
        (Contrarian, BacktestConfig(commission=0.002), {"n": [3, 7, 11]}),
    ):
        params = list(SearchSpace.build(strategy, grid).grid())
        got = evaluate_many(bars, strategy, params, config)
        for p, stats in zip(params, got, strict=True):
            expected = gt.backtest(GOOG, strategy, **p, **_options(config), symbol="GOOG").stats
            assert all(_same(stats[key], expected[key]) for key in expected), p


def _options(config: BacktestConfig) -> dict[str, Any]:
    return {
        "cash": config.cash,
        "commission": config.commission,
        "stop_loss": config.stop_loss,
        "trailing_stop": config.trailing_stop,
    }


# --- best parameters against backtesting.py's Backtest.optimize -------------------------------------------


def _peer_class(strategy: type[Strategy]) -> type[PeerStrategy]:
    """A backtesting.py strategy trading our target positions with its own engine (close, then buy/sell)."""

    class Peer(PeerStrategy):  # type: ignore[misc]
        def init(self) -> None:
            params = {p.name: getattr(self, p.name) for p in strategy.params}
            data = self.data.df
            bars = gt.as_bars(data, "PEER")
            signals = strategy(**params).signals(bars)
            want = desired_positions(signals.target, signals.warmup, False)
            previous = np.concatenate(([0.0], want[:-1]))
            acts = want != previous
            if signals.reentry is not None:
                acts |= signals.reentry & (want != 0)
            acts[: signals.warmup + 1] = False
            self._want, self._acts = want, acts

        def next(self) -> None:
            i = len(self.data) - 1
            if not self._acts[i]:
                return
            self.position.close()
            if self._want[i] > 0:
                self.buy()
            elif self._want[i] < 0:
                self.sell()

    for p in strategy.params:
        setattr(Peer, p.name, p.default)
    # Module-level by name, so that Backtest.optimize's worker processes can unpickle it.
    Peer.__name__ = Peer.__qualname__ = f"Peer_{strategy.name}"
    globals()[Peer.__name__] = Peer
    return Peer


PEER_GRIDS: dict[str, dict[str, Any]] = {
    "momentum": {"lookback": [10, 20, 40, 60, 90], "threshold": [0.0, 0.02, 0.05]},
    "mean_reversion": {"period": [10, 20, 30, 50], "num_std": [1.0, 1.5, 2.0, 2.5]},
    "volatility": {"period": [10, 20, 40], "vol_threshold": [0.01, 0.02, 0.03]},
    "breakout": {"lookback": [5, 10, 20, 40, 60, 80]},
    "sma_cross": {"fast": [5, 10, 15, 20], "slow": [30, 50, 70]},
}


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("strategy_name", list(PEER_GRIDS))
def test_best_parameters_equal_backtesting_py(name: str, strategy_name: str) -> None:
    strategy = REGISTRY.get_spec(strategy_name).cls
    grid = PEER_GRIDS[strategy_name]
    data = DATA[name]
    ours = gt.optimize(data, strategy_name, **grid, maximize="return_pct", commission=0.002, cash=100_000, symbol=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(data, _peer_class(strategy), cash=100_000, commission=0.002, exclusive_orders=True)
        stats, heat = bt.optimize(**grid, maximize="Return [%]", return_heatmap=True)
    theirs = {p: getattr(stats._strategy, p) for p in grid}
    by_params = {tuple(t.params[p] for p in grid): t.stats["return_pct"] for t in ours.trials}
    traded = {tuple(t.params[p] for p in grid) for t in ours.trials if t.stats["num_trades"]}
    for key, value in heat.items():
        key = key if isinstance(key, tuple) else (key,)
        if key not in traded:  # backtesting.py leaves runs without trades out of its ranking (NaN)
            assert math.isnan(value)
            continue
        np.testing.assert_allclose(by_params[key], value, rtol=1e-9, atol=1e-9)
    # Ours ranks runs without trades too (return 0 %); theirs skips them: compare among runs that traded.
    best = next(t for t in ours.trials if t.stats["num_trades"])
    assert _params_of(best.params, grid) == theirs or math.isclose(
        by_params[tuple(theirs[p] for p in grid)], best.stats["return_pct"], rel_tol=1e-12
    )


def _params_of(params: Mapping[str, Any], grid: Mapping[str, Any]) -> dict[str, Any]:
    return {p: params[p] for p in grid}


def test_a_user_strategy_opts_in_with_a_batch_signals_classmethod() -> None:
    from gpt_trader_core.backtesting.batch import BatchSignals

    calls: list[int] = []

    class Contrarian(gt.Strategy):
        name = "contrarian_batched_test"
        params = (gt.Param("n", int, 5, 2, 50),)

        def signals(self, bars: Bars) -> gt.Signals:
            n = self.values["n"]
            target = np.full(len(bars), np.nan)
            target[n:] = -np.sign(bars.close[n:] - bars.close[:-n])
            return gt.Signals(target, n)

        @classmethod
        def batch_signals(cls, bars: Bars, params_list: list[dict[str, Any]], cache: IndicatorCache) -> BatchSignals:
            calls.append(len(params_list))
            rows = [cls(**p).signals(bars) for p in params_list]
            return BatchSignals(np.stack([s.target for s in rows]), np.array([s.warmup for s in rows]))

    bars = _bars("GOOG")
    config = BacktestConfig(cash=10_000, commission=0.002)
    assert can_batch(Contrarian, config)
    params = [{"n": n} for n in range(2, 40)]
    got = evaluate_many(bars, Contrarian, params, config)
    assert calls == [len(params)]  # one batched call for the whole chunk
    context = StatsContext(bars.timestamps, bars.close)
    for p, stats in zip(params, got, strict=True):
        signals = Contrarian(**p).signals(bars)
        alone = simulate(bars.open, bars.high, bars.low, bars.close, signals.target, signals.warmup, config)
        expected = stats_with(context, alone.equity, alone.trades, signals.warmup)
        assert all(_same(stats[key], expected[key]) for key in expected), p
