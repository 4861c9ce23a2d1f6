"""Position sizing: hand-computed examples, the explanation steps, clear errors, and properties."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.trading import OrderSide, Trade
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.indicators import atr
from gpt_trader_core.market_sim.regimes import REGIMES as SYNTHETIC_REGIMES
from gpt_trader_core.sizing import (
    DEFAULT_REGIME_MULTIPLIERS,
    REGIMES,
    SizingDecision,
    SizingLimits,
    SizingRequest,
    size_from_request,
    size_position,
)
from tests.conftest import make_bars

BIG: dict[str, Any] = {"max_position_pct": 100.0, "max_risk_pct": 100.0}


def _step_names(decision: SizingDecision) -> list[str]:
    return [step.name for step in decision.steps]


def _trade(return_pct: float) -> Trade:
    t = dt.datetime(2024, 1, 1)
    return Trade("X", 1.0, 0, 1, t, t, 100.0, 100.0 * (1 + return_pct), 100.0 * return_pct, return_pct * 100, 0.0)


# -- methods, by hand -------------------------------------------------------------------------------


def test_fixed_fractional_by_hand() -> None:
    d = size_position(capital=10_000, price=50, stop=48, risk_fraction=0.005)
    # 10,000 × 0.5 % = 50 at risk; 2 per unit → 25 units, 1,250 = 12.5 % of capital (no cap binds)
    assert (d.units, d.notional, d.fraction_of_capital, d.risk) == (25.0, 1250.0, 0.125, 50.0)
    assert d.method == "fixed_fractional" and d.side is OrderSide.BUY
    assert _step_names(d) == ["base_units"]
    assert "stop distance 2" in d.steps[0].note


def test_fixed_fractional_short_has_its_stop_above() -> None:
    d = size_position(capital=10_000, price=50, stop=52, side="short", risk_fraction=0.005)
    assert d.units == 25.0 and d.side is OrderSide.SELL


def test_fixed_units_and_amount() -> None:
    assert size_position(capital=10_000, price=20, method="fixed", units=7).units == 7.0
    d = size_position(capital=10_000, price=30, method="fixed", amount=1_000)
    assert d.units == 33.0 and "whole units: 33.3333 → 33" in d.steps[-1].note
    frac = size_position(capital=10_000, price=30, method="fixed", amount=1_000, whole_units=False)
    assert frac.units == pytest.approx(1_000 / 30) and "whole_units" not in _step_names(frac)


@pytest.mark.parametrize(("win_rate", "payoff"), [(0.55, 1.5), (0.6, 2.0), (0.4, 3.0), (1.0, 1.0)])
def test_kelly_matches_hand_computation(win_rate: float, payoff: float) -> None:
    kelly = win_rate - (1 - win_rate) / payoff
    full = size_position(capital=100_000, price=1, method="kelly", win_rate=win_rate, payoff_ratio=payoff,
                         whole_units=False, **BIG)  # fmt: skip
    assert full.fraction_of_capital == pytest.approx(kelly, rel=1e-12)
    assert full.steps[0].name == "kelly_fraction" and full.steps[0].value == pytest.approx(kelly)
    half = size_position(capital=100_000, price=1, method="fractional_kelly", win_rate=win_rate,
                         payoff_ratio=payoff, whole_units=False, **BIG)  # fmt: skip
    assert half.fraction_of_capital == pytest.approx(kelly / 2, rel=1e-12)
    assert any(step.note.startswith("half Kelly") for step in half.steps)
    quarter = size_position(capital=100_000, price=1, method="fractional_kelly", win_rate=win_rate,
                            payoff_ratio=payoff, kelly_multiplier=0.25, whole_units=False, **BIG)  # fmt: skip
    assert quarter.fraction_of_capital == pytest.approx(kelly / 4, rel=1e-12)


def test_kelly_example_from_the_docs() -> None:
    # W = 0.55, R = 1.5: f* = 0.55 - 0.45 / 1.5 = 0.25; half Kelly 0.125 of 10,000 = 1,250 = 25 units at 50
    d = size_position(capital=10_000, price=50, method="fractional_kelly", win_rate=0.55, payoff_ratio=1.5)
    assert d.units == 25.0 and d.notional == 1250.0
    assert _step_names(d) == ["kelly_fraction", "kelly_multiplier", "base_units"]  # no "25 → 25" noise


def test_negative_kelly_gives_zero_with_the_reason() -> None:
    d = size_position(capital=10_000, price=50, method="kelly", win_rate=0.3, payoff_ratio=1.5)
    assert d.units == 0.0 and d.notional == 0.0
    assert "≤ 0" in d.reason and "no edge" in d.reason


def test_kelly_from_trades_returns_and_backtest_result() -> None:
    returns = [0.05, -0.02, 0.03, -0.01, 0.04]  # W = 0.6, R = 0.04 / 0.015 = 8/3, f* = 0.6 - 0.4 * 3/8 = 0.45
    for trades in (returns, [_trade(r) for r in returns]):
        d = size_position(capital=10_000, price=1, method="kelly", trades=trades, whole_units=False, **BIG)
        assert d.fraction_of_capital == pytest.approx(0.45)
        assert "3 wins" in d.steps[0].note
    import gpt_trader_core as gt

    result = gt.backtest(gt.synthetic("KEL", "2020-01-01", "2021-12-31"), "sma_cross", fast=5, slow=20)
    assert result.trades
    from_result = size_position(capital=10_000, price=10, method="fractional_kelly", trades=result)
    from_list = size_position(capital=10_000, price=10, method="fractional_kelly", trades=list(result.trades))
    assert from_result == from_list


def test_kelly_edge_cases_of_trades() -> None:
    no_win = size_position(capital=10_000, price=1, method="kelly", trades=[-0.01, -0.02])
    assert no_win.units == 0.0 and "no winning trade" in no_win.reason
    no_loss = size_position(capital=10_000, price=1, method="kelly", trades=[0.01, 0.02], **BIG)
    assert no_loss.fraction_of_capital == 1.0  # W = 1, R = ∞ → f* = 1
    with pytest.raises(InvalidDataError, match="trades is empty"):
        size_position(capital=10_000, price=1, method="kelly", trades=[])


def test_volatility_target_with_given_vol() -> None:
    # 100,000 × 0.10 / (25 × 0.20) = 2,000 units = 50,000 → capped by max position 20 % = 20,000 → 800 units
    d = size_position(capital=100_000, price=25, method="volatility_target", target_vol=0.10, asset_vol=0.20)
    assert d.units == 800.0
    assert d.steps[-1].name == "cap_max_position"
    assert d.steps[-1].note == "capped by max position 20%: 50,000.00 → 20,000.00"
    uncapped = size_position(capital=100_000, price=25, method="volatility_target", target_vol=0.10,
                             asset_vol=0.20, **BIG)  # fmt: skip
    assert uncapped.units == 2000.0


def test_volatility_target_from_bars_atr_and_stdev() -> None:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    bars = make_bars(close)  # daily, with weekend bars → 365 periods a year
    price = float(close[-1])
    kwargs: dict[str, Any] = {"capital": 1_000_000, "price": price, "method": "volatility_target",
                              "target_vol": 0.1, "whole_units": False, **BIG}  # fmt: skip
    d = size_position(bars=bars, vol_window=14, **kwargs)
    vol = float(atr(bars.high, bars.low, bars.close, 14)[-1]) / price * math.sqrt(365)
    assert d.steps[0].name == "asset_vol" and d.steps[0].value == pytest.approx(vol, rel=1e-12)
    assert d.units == pytest.approx(1_000_000 * 0.1 / (price * vol), rel=1e-12)

    d = size_position(bars=bars, vol_estimator="stdev", vol_window=20, periods_per_year=252, **kwargs)
    rets = np.diff(close[-21:]) / close[-21:-1]
    vol = float(np.std(rets, ddof=1)) * math.sqrt(252)
    assert d.steps[0].value == pytest.approx(vol, rel=1e-9)
    assert d.units == pytest.approx(1_000_000 * 0.1 / (price * vol), rel=1e-9)


def test_volatility_target_refuses_short_or_flat_bars() -> None:
    with pytest.raises(InvalidDataError, match="too few"):
        size_position(capital=1e5, price=10, method="volatility_target", bars=make_bars([10.0] * 10))
    with pytest.raises(InvalidDataError, match="volatility is 0"):
        size_position(capital=1e5, price=10, method="volatility_target", bars=make_bars([10.0] * 40),
                      vol_estimator="stdev")  # fmt: skip


# -- adjustments, caps and the explanation ---------------------------------------------------------


def test_confidence_scales_linearly() -> None:
    full = size_position(capital=10_000, price=1, stop=0.9, whole_units=False)
    for c in (0.0, 0.25, 0.5, 1.0):
        d = size_position(capital=10_000, price=1, stop=0.9, confidence=c, whole_units=False)
        assert d.units == pytest.approx(full.units * c)


def test_regime_multipliers_defaults_and_overrides() -> None:
    assert tuple(SYNTHETIC_REGIMES) == REGIMES == tuple(DEFAULT_REGIME_MULTIPLIERS)
    assert DEFAULT_REGIME_MULTIPLIERS["crisis"] == 0.0 and DEFAULT_REGIME_MULTIPLIERS["bull_quiet"] == 1.0
    base = size_position(capital=10_000, price=1, stop=0.9, whole_units=False)
    for regime, factor in DEFAULT_REGIME_MULTIPLIERS.items():
        d = size_position(capital=10_000, price=1, stop=0.9, regime=regime, whole_units=False)
        assert d.units == pytest.approx(base.units * factor)
    d = size_position(capital=10_000, price=1, stop=0.9, regime="bear_volatile", whole_units=False,
                      regime_multipliers={"bear_volatile": 0.1})  # fmt: skip
    assert d.units == pytest.approx(base.units * 0.1)
    assert "regime bear_volatile ×0.1" in d.steps[-1].note


def test_crisis_gives_zero_and_says_why() -> None:
    d = size_position(capital=10_000, price=50, method="fixed", amount=3_000, regime="crisis")
    assert d.units == 0.0 and "regime crisis ×0" in d.reason


def test_caps_each_explained() -> None:
    # risk 5 % of 10,000 = 500 over a 1.0 stop distance = 500 units = 5,000; max position 20 % → 2,000
    d = size_position(capital=10_000, price=10, stop=9, risk_fraction=0.05, max_risk_pct=100)
    assert d.units == 200.0 and d.steps[-1].note == "capped by max position 20%: 5,000.00 → 2,000.00"
    assert d.reason.endswith("capped by max position 20%")
    # max risk 1 % = 100 at the stop → 100 units
    d = size_position(capital=10_000, price=10, stop=9, risk_fraction=0.05, max_risk_pct=1)
    assert d.units == 100.0 and d.risk == 100.0
    assert _step_names(d) == ["base_units", "cap_max_position", "cap_max_risk"]
    # cash
    d = size_position(capital=10_000, price=10, stop=9, cash=550)
    assert d.units == 55.0 and d.steps[-1].name == "cap_cash"


def test_price_above_budget_rounds_to_zero_and_says_so() -> None:
    d = size_position(capital=10_000, price=5_000, method="volatility_target", asset_vol=0.3)
    assert d.units == 0.0 and "one unit costs 5,000.00" in d.reason


def test_explain_lists_every_step() -> None:
    d = size_position(capital=10_000, price=50, stop=48, risk_fraction=0.02, confidence=0.8,
                      regime="bear_volatile")  # fmt: skip
    text = d.explain()
    assert text.splitlines()[0] == d.reason
    assert "confidence 0.8: 100 → 80 units" in text and "regime bear_volatile ×0.25: 80 → 20 units" in text
    assert d.units == 20.0


def test_request_object_gives_the_same_decision() -> None:
    request = SizingRequest(capital=10_000, price=50, stop=48, limits=SizingLimits(max_position_pct=10))
    assert size_from_request(request) == size_position(capital=10_000, price=50, stop=48, max_position_pct=10)


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"capital": 0, "price": 10, "stop": 9}, "capital must be > 0"),
        ({"capital": 1e4, "price": -1, "stop": 9}, "price must be > 0"),
        ({"capital": 1e4, "price": math.nan, "stop": 9}, "price must be a finite number"),
        ({"capital": 1e4, "price": 10, "stop": 11}, "a buy's stop must be below the price"),
        ({"capital": 1e4, "price": 10, "stop": 9, "side": "sell"}, "stop must be above the price"),
        ({"capital": 1e4, "price": 10, "stop": 9, "side": "up"}, "side must be 'buy'"),
        ({"capital": 1e4, "price": 10}, "needs stop="),
        ({"capital": 1e4, "price": 10, "stop": 9, "risk_fraction": 1.5}, r"risk_fraction must be in \(0, 1\]"),
        ({"capital": 1e4, "price": 10, "method": "martingale"}, "unknown sizing method 'martingale'; use one of"),
        ({"capital": 1e4, "price": 10, "method": "fixed"}, "exactly one of units="),
        ({"capital": 1e4, "price": 10, "method": "fixed", "units": 1, "amount": 5}, "exactly one of units="),
        ({"capital": 1e4, "price": 10, "method": "fixed", "units": -1}, "units must be >= 0"),
        ({"capital": 1e4, "price": 10, "method": "fixed", "units": 1, "win_rate": 0.5},
         "method 'fixed' does not use win_rate"),
        ({"capital": 1e4, "price": 10, "method": "kelly", "win_rate": 0.5}, "needs win_rate= and payoff_ratio="),
        ({"capital": 1e4, "price": 10, "method": "kelly", "win_rate": 1.2, "payoff_ratio": 1},
         r"win_rate must be in \[0, 1\]"),
        ({"capital": 1e4, "price": 10, "method": "kelly", "win_rate": 0.5, "payoff_ratio": 0},
         "payoff_ratio must be > 0"),
        ({"capital": 1e4, "price": 10, "method": "kelly", "win_rate": 0.5, "payoff_ratio": 1, "trades": [0.1]},
         "either trades= or win_rate="),
        ({"capital": 1e4, "price": 10, "method": "kelly", "trades": "abc"}, "trades must be a BacktestResult"),
        ({"capital": 1e4, "price": 10, "method": "volatility_target"}, "exactly one of asset_vol="),
        ({"capital": 1e4, "price": 10, "method": "volatility_target", "asset_vol": 0.2, "vol_window": 5},
         "only apply when estimating"),
        ({"capital": 1e4, "price": 10, "stop": 9, "confidence": 1.5}, r"confidence must be in \[0, 1\]"),
        ({"capital": 1e4, "price": 10, "stop": 9, "regime": "bull"}, "unknown regime 'bull'; use one of bull_quiet"),
        ({"capital": 1e4, "price": 10, "stop": 9, "regime_multipliers": {"moon": 2}}, "unknown regime 'moon'"),
        ({"capital": 1e4, "price": 10, "stop": 9, "max_position_pct": 0}, r"max_position_pct must be in \(0, 100\]"),
        ({"capital": 1e4, "price": 10, "stop": 9, "cash": -1}, "cash must be >= 0"),
        ({"capital": 1e4, "price": 10, "stop": 9, "limits": SizingLimits(), "max_risk_pct": 1}, "not both"),
    ],
)  # fmt: skip
def test_clear_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match) as info:
        size_position(**kwargs)
    assert "\n" not in str(info.value)


def test_unknown_regime_lists_all_seven() -> None:
    with pytest.raises(InvalidParameterError) as info:
        size_position(capital=1e4, price=10, stop=9, regime="Crisis")
    assert all(name in str(info.value) for name in REGIMES)


# -- properties --------------------------------------------------------------------------------------

prices = st.floats(0.01, 10_000, allow_nan=False)
capitals = st.floats(1.0, 1e8, allow_nan=False)
pcts = st.floats(0.1, 100, allow_nan=False)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    price = draw(prices)
    method = draw(st.sampled_from(["fixed", "fixed_fractional", "kelly", "fractional_kelly", "volatility_target"]))
    kwargs: dict[str, Any] = {"price": price, "method": method}
    use_stop = method == "fixed_fractional" or draw(st.booleans())
    if use_stop:
        side = draw(st.sampled_from(["buy", "sell"]))
        distance = draw(st.floats(0.001, 0.9)) * price
        stop = price - distance if side == "buy" else price + distance
        if not (stop < price if side == "buy" else stop > price) or stop <= 0:
            stop = price * (0.5 if side == "buy" else 1.5)
        kwargs |= {"side": side, "stop": stop}
    if method == "fixed":
        if draw(st.booleans()):
            kwargs["units"] = draw(st.floats(0, 1e6))
        else:
            kwargs["amount"] = draw(st.floats(0, 1e9))
    elif method == "fixed_fractional":
        kwargs["risk_fraction"] = draw(st.floats(1e-4, 1.0))
    elif method in ("kelly", "fractional_kelly"):
        kwargs |= {"win_rate": draw(st.floats(0, 1)), "payoff_ratio": draw(st.floats(0.01, 100))}
    else:
        kwargs |= {"target_vol": draw(st.floats(0.01, 2)), "asset_vol": draw(st.floats(0.01, 3))}
    kwargs |= {
        "confidence": draw(st.floats(0, 1)),
        "regime": draw(st.none() | st.sampled_from(REGIMES)),
        "max_position_pct": draw(pcts),
        "max_risk_pct": draw(pcts),
        "whole_units": draw(st.booleans()),
    }
    if draw(st.booleans()):
        kwargs["cash"] = draw(st.floats(0, 1e8))
    return kwargs


@settings(max_examples=300, deadline=None)
@given(requests(), capitals)
def test_sizes_never_exceed_the_limits(kwargs: dict[str, Any], capital: float) -> None:
    d = size_position(capital=capital, **kwargs)
    assert d.units >= 0 and d.notional >= 0 and math.isfinite(d.units)
    assert d.notional <= capital * kwargs["max_position_pct"] / 100.0
    assert d.notional <= kwargs.get("cash", capital)
    if "stop" in kwargs:
        assert d.risk is not None and d.risk <= capital * kwargs["max_risk_pct"] / 100.0
        assert d.risk == d.units * abs(kwargs["price"] - kwargs["stop"])
    if kwargs["whole_units"]:
        assert d.units == int(d.units)
    if kwargs["regime"] == "crisis" or kwargs["confidence"] == 0:
        assert d.units == 0
    assert d.reason and all(step.note for step in d.steps)


@settings(max_examples=300, deadline=None)
@given(requests(), capitals, capitals)
def test_monotone_in_capital(kwargs: dict[str, Any], a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert size_position(capital=low, **kwargs).units <= size_position(capital=high, **kwargs).units


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0.01, 100), st.floats(0.05, 1))
def test_kelly_property_matches_formula(win_rate: float, payoff: float, multiplier: float) -> None:
    d = size_position(capital=1e6, price=1, method="fractional_kelly", win_rate=win_rate, payoff_ratio=payoff,
                      kelly_multiplier=multiplier, whole_units=False, **BIG)  # fmt: skip
    expected = max(0.0, (win_rate - (1 - win_rate) / payoff) * multiplier)
    assert d.fraction_of_capital == pytest.approx(expected, rel=1e-9, abs=1e-12)
