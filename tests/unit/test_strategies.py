"""Strategies: declared parameters, the registry, user strategies, and causality."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpt_trader_core as gt
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError, UnknownStrategyError
from gpt_trader_core.strategy import BUILTIN_STRATEGIES, StrategyRegistry
from gpt_trader_core.strategy import REGISTRY as DEFAULT_REGISTRY
from tests.conftest import make_bars

BUILTINS = sorted(cls.name for cls in BUILTIN_STRATEGIES)


def test_builtins_are_registered_with_parameter_specs() -> None:
    specs = gt.strategies()
    assert set(BUILTINS) <= set(specs)
    sma = specs["sma_cross"]
    assert [(p.name, p.default) for p in sma.params] == [("fast", 10), ("slow", 30)]
    described = sma.describe()["params"][0]
    assert described["type"] == "int" and described["low"] == 2 and described["description"]
    assert specs["momentum"].create().values == {"lookback": 20, "threshold": 0.02}
    assert specs["mean_reversion"].create().values == {"period": 20, "num_std": 2.0}
    assert specs["volatility"].create().values == {"period": 20, "vol_threshold": 0.02}
    assert specs["breakout"].create().values == {"lookback": 20}


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("sma_cross", {"fast": 30, "slow": 20}, "fast \\(30\\) must be smaller than slow \\(20\\)"),
        ("sma_cross", {"fast": 1}, "'fast' is 1, out of range \\(valid range 2 .. 200\\)"),
        ("sma_cross", {"fast": "ten"}, "'fast' must be int, got 'ten'"),
        ("sma_cross", {"fast": 2.5}, "'fast' must be int"),
        ("sma_cross", {"speed": 3}, "unknown parameter 'speed'; valid parameters: fast, slow"),
        ("momentum", {"threshold": "nan"}, "'threshold' must be float"),
    ],
)
def test_bad_parameters_are_refused_clearly(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        gt.strategies()[name].create(**params)


def test_string_parameters_are_coerced() -> None:
    assert gt.strategies()["sma_cross"].create(fast="5", slow="15").values == {"fast": 5, "slow": 15}


def test_unknown_strategy_lists_the_available_ones() -> None:
    with pytest.raises(UnknownStrategyError, match=r"unknown strategy 'nope'; available: .*sma_cross"):
        gt.backtest(make_bars(np.arange(1, 60.0)), "nope")


def test_user_strategy_registration() -> None:
    registry = StrategyRegistry()

    @registry.register
    class AlwaysLong(gt.Strategy):
        """Always long."""

        name = "always_long"
        params = (gt.Param("size", float, 1.0, 0.1, 1.0, "Fraction of equity"),)

        def signals(self, bars: gt.Bars) -> gt.Signals:
            return gt.Signals(np.full(len(bars), self.values["size"]), warmup=0)

    assert registry["always_long"].description == "Always long."
    res = gt.backtest(make_bars(np.linspace(10, 20, 30)), registry.create("always_long"))
    assert res.open_position is not None and res.equity[-1] > 10_000
    with pytest.raises(InvalidParameterError, match="already registered"):

        @registry.register
        class Other(gt.Strategy):
            name = "always_long"

            def signals(self, bars: gt.Bars) -> gt.Signals:
                return gt.Signals(np.zeros(len(bars)), 0)

    with pytest.raises(InvalidParameterError, match="needs a class attribute `name`"):
        registry.register(type("Nameless", (gt.Strategy,), {"signals": lambda self, bars: None}))


def test_the_default_registry_takes_user_strategies_via_the_decorator() -> None:
    @gt.register_strategy(replace=True)
    class HoldShort(gt.Strategy):
        name = "test_hold_short"

        def signals(self, bars: gt.Bars) -> gt.Signals:
            return gt.Signals(np.full(len(bars), -1.0), 0)

    try:
        res = gt.backtest(make_bars(np.linspace(20, 10, 30)), "test_hold_short")
        assert res.open_position is not None and res.open_position.size < 0
    finally:  # the default registry is shared by every test of this process
        DEFAULT_REGISTRY.unregister("test_hold_short")
    assert "test_hold_short" not in DEFAULT_REGISTRY and "sma_cross" in gt.strategies()


def test_too_little_data_is_a_clear_error() -> None:
    with pytest.raises(InvalidDataError, match="sma_cross\\(fast=10, slow=30\\): needs at least 31 bars, got 20"):
        gt.backtest(make_bars(np.arange(1, 21.0)), "sma_cross")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    name=st.sampled_from(BUILTINS),
    cut=st.integers(60, 199),
)
def test_signals_are_causal(seed: int, name: str, cut: int) -> None:
    """The signal at bar i is the same whether or not later bars exist (so live trading agrees)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 200)))
    bars = make_bars(close)
    strategy = gt.strategies()[name].create()
    full = strategy.signals(bars)
    part = strategy.signals(bars.slice(0, cut))
    np.testing.assert_array_equal(full.target[:cut], part.target)
    assert full.warmup == part.warmup


def test_each_builtin_trades_on_real_data(goog: gt.Bars) -> None:
    for name in BUILTINS:
        res = gt.backtest(goog, name, commission=0.001)
        assert res.stats["num_trades"] > 3, name
        assert np.isfinite(res.stats["return_pct"])
