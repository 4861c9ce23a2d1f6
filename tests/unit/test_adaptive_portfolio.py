"""Capital tiers with hysteresis, and tier-aware rebalancing plans."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.trading import Order, OrderSide, Position
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.portfolio import (
    DEFAULT_TIER_CONFIG,
    STRATEGIES,
    RebalancePlan,
    TierConfig,
    TierSpec,
    classify_tier,
    default_tiers,
    rebalance_plan,
)

TIERS = {t.name: t for t in DEFAULT_TIER_CONFIG.tiers}

# -- tiers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capital", "tier"),
    [(0, "micro"), (2_499.99, "micro"), (2_500, "small"), (9_999.99, "small"), (10_000, "medium"),
     (24_999, "medium"), (25_000, "large"), (1e12, "large")],
)  # fmt: skip
def test_plain_boundaries(capital: float, tier: str) -> None:
    decision = classify_tier(capital)
    assert decision.tier.name == tier and decision.previous is None and not decision.changed
    assert tier in decision.reason


def test_default_tiers_grow_with_capital() -> None:
    tiers = DEFAULT_TIER_CONFIG.tiers
    assert [t.name for t in tiers] == ["micro", "small", "medium", "large"]
    assert tiers[0].allowed_strategies == ("sma_cross", "momentum")
    assert set(tiers[-1].allowed_strategies) == {"sma_cross", "momentum", "mean_reversion", "volatility", "breakout"}
    assert set(STRATEGIES) == set(tiers[-1].allowed_strategies)
    for low, high in itertools.pairwise(tiers):
        assert low.max_positions < high.max_positions
        assert set(low.allowed_strategies) < set(high.allowed_strategies)
        assert low.max_trades_per_week < high.max_trades_per_week
        assert low.daily_risk_budget_pct <= high.daily_risk_budget_pct
        assert low.quarterly_risk_budget_pct < high.quarterly_risk_budget_pct
    assert tiers[0].allows("momentum") and not tiers[0].allows("breakout")
    assert DEFAULT_TIER_CONFIG.hysteresis == 0.05


def test_configurable_boundaries_and_hysteresis() -> None:
    config = TierConfig.default(boundaries=(1_000, 5_000, 50_000), hysteresis=0.1)
    assert classify_tier(4_999, config).tier.name == "small"
    assert classify_tier(49_999, config).tier.name == "medium"
    assert classify_tier(5_400, config, "small").tier.name == "small"  # needs 5,500 to move up
    assert classify_tier(5_500, config, "small").tier.name == "medium"


@pytest.mark.parametrize(
    ("capital", "current", "expected", "changed", "words"),
    [
        (2_600, "micro", "micro", False, "below 2,625.00 (+5% hysteresis): staying micro"),
        (2_625, "micro", "small", True, "micro → small"),
        (9_600, "medium", "medium", False, "not below 9,500.00 (−5% hysteresis): staying medium"),
        (9_499.99, "medium", "small", True, "medium → small"),
        (10_400, "small", "small", False, "staying small"),
        (10_500, "small", "medium", True, "small → medium"),
        (10_200, "micro", "small", True, "plain boundaries would give medium"),
        (30_000, "micro", "large", True, "micro → large"),
        (100, "large", "micro", True, "large → micro"),
        (12_000, "medium", "medium", False, "within tier medium"),
    ],
)
def test_hysteresis(capital: float, current: str, expected: str, changed: bool, words: str) -> None:
    decision = classify_tier(capital, current_tier=current)
    assert decision.tier.name == expected and decision.changed is changed
    assert decision.previous is not None and decision.previous.name == current
    assert words in decision.reason, decision.reason


def test_current_tier_may_be_a_spec() -> None:
    assert classify_tier(2_600, DEFAULT_TIER_CONFIG, TIERS["micro"]).tier.name == "micro"


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1e6), st.sampled_from(list(TIERS)), st.floats(0, 0.5))
def test_hysteresis_rule_holds(capital: float, current: str, h: float) -> None:
    config = TierConfig.default(hysteresis=h)
    tiers = config.tiers
    decision = classify_tier(capital, config, current)
    new, cur = config.index(decision.tier), config.index(current)
    assert decision.changed is (new != cur)
    if new > cur:
        assert capital >= tiers[new].min_capital * (1 + h)
    elif new < cur:
        assert capital < tiers[new + 1].min_capital * (1 - h)
    # moving never goes past the tier the plain boundaries give
    plain = config.index(classify_tier(capital, config).tier)
    assert min(cur, plain) <= new <= max(cur, plain)
    # and the result is stable: classifying again from the new tier keeps it
    assert classify_tier(capital, config, decision.tier).tier == decision.tier


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: classify_tier(-1), "capital must be >= 0"),
        (lambda: classify_tier(math.nan), "capital must be a number"),
        (lambda: classify_tier(100, current_tier="tiny"), "unknown tier 'tiny'; use one of micro, small"),
        (lambda: TierConfig.default(hysteresis=1.0), r"hysteresis must be in \[0, 1\)"),
        (lambda: TierConfig.default(boundaries=(5_000, 1_000, 9_000)), "positive and increasing"),
        (lambda: TierConfig(default_tiers()[1:]), "must start at capital 0"),
        (lambda: TierConfig(default_tiers()[:3]), "max_capital=math.inf"),
        (lambda: TierConfig((default_tiers()[0], default_tiers()[2])), "contiguous"),
        (lambda: TierSpec("x", 0, 10, 0, ("a",), 1, 1, 1), "max_positions must be an integer >= 1"),
        (lambda: TierSpec("x", 0, 10, 1, (), 1, 1, 1), "allowed_strategies must be a non-empty"),
        (lambda: TierSpec("x", 0, 10, 1, ("a",), 120, 1, 1), r"daily_risk_budget_pct must be in \(0, 100\]"),
    ],
)
def test_tier_errors(call: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


# -- rebalancing, by hand ------------------------------------------------------------------------------


def _plan(**overrides: Any) -> RebalancePlan:
    kwargs: dict[str, Any] = {
        "capital": 10_000.0,
        "positions": {"AAPL": 10, "OLD": 5},
        "prices": {"AAPL": 100.0, "MSFT": 200.0, "OLD": 50.0, "XOM": 30.0},
        "target_weights": {"AAPL": 0.2, "MSFT": 0.3, "XOM": 0.1},
        "tier": TIERS["small"],
        "min_trade_value": 0.0,
    }
    kwargs |= overrides
    return rebalance_plan(**kwargs)


def test_rebalance_by_hand() -> None:
    # cash = 10,000 - 10*100 - 5*50 = 8,750; AAPL 0.2 → 20 units, MSFT 0.3 → 15, XOM 0.1 → 33, OLD → 0
    plan = _plan()
    assert dict(plan.target_units) == {"AAPL": 20.0, "MSFT": 15.0, "XOM": 33.0, "OLD": 0.0}
    assert plan.orders == (
        Order("OLD", OrderSide.SELL, 5.0),
        Order("MSFT", OrderSide.BUY, 15.0),
        Order("AAPL", OrderSide.BUY, 10.0),
        Order("XOM", OrderSide.BUY, 33.0),
    )
    assert plan.cash_before == 8_750.0
    assert plan.cash_after == 8_750 + 250 - 3_000 - 1_000 - 990
    assert dict(plan.resulting_units) == dict(plan.target_units)
    assert "OLD is held but has no target weight: close it" in plan.notes
    assert "sell 5 OLD" in plan.explain()


def test_tier_keeps_the_largest_weights_and_reports_the_rest() -> None:
    weights = {"A": 0.1, "B": 0.3, "C": 0.2, "D": 0.25, "E": 0.05}
    prices = dict.fromkeys(weights, 10.0)
    plan = rebalance_plan(1_000, {"E": 3}, prices, weights, TIERS["micro"], min_trade_value=0)  # 3 positions
    assert {s for s, u in plan.target_units.items() if u} == {"B", "D", "C"}
    assert set(plan.dropped) == {"A", "E"}
    assert "not among the 3 largest that tier micro allows (max_positions=3)" in plan.dropped["A"]
    assert Order("E", OrderSide.SELL, 3.0) in plan.orders


def test_weights_above_one_are_scaled_down() -> None:
    plan = _plan(target_weights={"AAPL": 0.8, "MSFT": 0.8})
    assert plan.notes[0] == "weights sum to 1.6 > 1: scaled by 1/1.6"
    assert plan.target_units["AAPL"] == 50.0 and plan.target_units["MSFT"] == 25.0
    assert plan.cash_after == 0.0


def test_min_trade_value_skips_small_trades() -> None:
    plan = _plan(target_weights={"AAPL": 0.101, "MSFT": 0.3}, positions={"AAPL": 10}, min_trade_value=50,
                 whole_units=False)  # fmt: skip
    assert "AAPL" in plan.skipped and "buy 0.1 (10.00) is below min_trade_value 50.00" in plan.skipped["AAPL"]
    assert [o.symbol for o in plan.orders] == ["MSFT"]
    assert plan.resulting_units["AAPL"] == 10.0 and plan.target_units["AAPL"] == pytest.approx(10.1)
    plan = _plan(target_weights={"AAPL": 0.2}, positions={"AAPL": 19.5}, whole_units=True, min_trade_value=60)
    assert plan.orders == () and "buy 0.5 (50.00)" in plan.skipped["AAPL"]


def test_never_spends_more_cash_than_it_has() -> None:
    # A skipped sell (below min_trade_value) leaves less cash than the buys need: the last buy shrinks.
    plan = rebalance_plan(
        1_000, {"A": 5.0}, {"A": 100.0, "B": 1.0}, {"A": 0.45, "B": 0.55}, TIERS["micro"], min_trade_value=60,
        whole_units=False,
    )  # fmt: skip
    assert "A" in plan.skipped  # selling 0.5 units (50) is below 60
    assert plan.orders == (Order("B", OrderSide.BUY, 500.0),)
    assert plan.cash_after == 0.0 and "buy shrunk from 550 to 500 units" in plan.skipped["B"]


def test_fractional_units_positions_objects_and_tier_decisions() -> None:
    position = Position("BTC", 0.5, 30_000.0, 0, dt.datetime(2024, 1, 1))
    plan = rebalance_plan(40_000, {"BTC": position}, {"BTC": 40_000.0}, {"BTC": 0.75},
                          classify_tier(40_000), whole_units=False)  # fmt: skip
    assert plan.tier == "large"
    assert plan.orders == (Order("BTC", OrderSide.BUY, 0.25),)
    assert plan.cash_before == 20_000.0 and plan.cash_after == 10_000.0


def test_expensive_asset_rounds_to_zero_with_a_note() -> None:
    plan = _plan(prices={"AAPL": 100.0, "OLD": 50.0, "BRK": 600_000.0}, target_weights={"BRK": 0.5})
    assert plan.target_units["BRK"] == 0.0
    assert any("buys less than one unit" in note for note in plan.notes)


def test_short_targets_need_allow_short() -> None:
    with pytest.raises(InvalidParameterError, match="long-only by default; use allow_short=True"):
        _plan(target_weights={"AAPL": -0.2, "MSFT": 0.2})
    plan = _plan(target_weights={"AAPL": -0.2, "MSFT": 0.2}, allow_short=True)
    assert plan.target_units["AAPL"] == -20.0
    assert Order("AAPL", OrderSide.SELL, 30.0) in plan.orders


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"capital": -5.0}, "capital must be >= 0"),
        ({"prices": {"AAPL": 100.0, "OLD": 50.0, "XOM": 30.0}}, "no price for 'MSFT'; add it to prices"),
        ({"prices": {"AAPL": 100.0, "OLD": 50.0, "MSFT": 0.0, "XOM": 30.0}}, r"prices\['MSFT'\] must be > 0"),
        ({"target_weights": {}}, "target weights sum to 0; give at least one positive weight"),
        ({"target_weights": {"AAPL": 0.0}}, "target weights sum to 0"),
        ({"target_weights": {"AAPL": math.inf}}, "must be finite"),
        ({"capital": 1_000.0}, "the positions are worth 1,250.00 at these prices, more than capital 1,000.00"),
        ({"min_trade_value": -1.0}, "min_trade_value must be >= 0"),
        ({"tier": "small"}, "tier must be a TierSpec or a TierDecision"),
    ],
)
def test_rebalance_errors(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match) as info:
        _plan(**overrides)
    assert "\n" not in str(info.value)


# -- rebalancing, properties ----------------------------------------------------------------------------

SYMBOLS = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N"]


@st.composite
def accounts(draw: st.DrawFn) -> dict[str, Any]:
    whole = draw(st.booleans())
    prices = {s: draw(st.floats(0.5, 5_000)) for s in SYMBOLS}
    held = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=6))
    unit = st.integers(0, 200).map(float) if whole else st.floats(0, 200)
    positions = {s: draw(unit) for s in held}
    cash = draw(st.floats(0, 1e6))
    capital = cash + math.fsum(u * prices[s] for s, u in positions.items())
    targets = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, min_size=1, max_size=14))
    weights = {s: draw(st.floats(0, 1)) for s in targets}
    weights[targets[0]] = draw(st.floats(0.001, 1))
    return {
        "capital": capital,
        "positions": positions,
        "prices": prices,
        "target_weights": weights,
        "tier": draw(st.sampled_from(DEFAULT_TIER_CONFIG.tiers)),
        "whole_units": whole,
        "min_trade_value": draw(st.sampled_from([0.0, 0.0, 10.0, 500.0])),
    }


@settings(max_examples=300, deadline=None)
@given(accounts())
def test_plans_reach_the_targets_within_limits(account: dict[str, Any]) -> None:
    plan = rebalance_plan(**account)
    prices, positions, tier = account["prices"], account["positions"], account["tier"]
    capital = account["capital"]

    assert sum(1 for u in plan.target_units.values() if u != 0) <= tier.max_positions
    assert math.fsum(u * prices[s] for s, u in plan.target_units.items()) <= capital * (1 + 1e-12)
    if account["whole_units"]:
        assert all(u == int(u) for u in plan.target_units.values())

    # sells first, every quantity positive, each trade at least min_trade_value
    sides = [o.side for o in plan.orders]
    assert sides == sorted(sides, key=lambda side: side is OrderSide.BUY)
    assert all(o.quantity > 0 and o.quantity * prices[o.symbol] >= account["min_trade_value"] for o in plan.orders)
    assert len({o.symbol for o in plan.orders}) == len(plan.orders)

    # applying the orders gives resulting_units; cash never goes negative along the way
    units = {s: positions.get(s, 0.0) for s in plan.target_units}
    cash = plan.cash_before
    assert cash == pytest.approx(capital - math.fsum(u * prices[s] for s, u in positions.items()), abs=1e-6)
    for order in plan.orders:
        signed = order.quantity if order.side is OrderSide.BUY else -order.quantity
        units[order.symbol] = units.get(order.symbol, 0.0) + signed
        cash -= signed * prices[order.symbol]
        assert cash >= -1e-9 * capital
    assert plan.cash_after >= 0 and plan.cash_after == pytest.approx(cash, rel=1e-9, abs=1e-6)
    assert units == pytest.approx(dict(plan.resulting_units))

    # the targets are reached (within a unit) unless a trade was skipped as too small
    for symbol, target in plan.target_units.items():
        if symbol in plan.skipped:
            reason = plan.skipped[symbol]
            assert "cash left" in reason or (
                abs(target - units[symbol]) * prices[symbol] < account["min_trade_value"]
            ), reason
        else:
            assert abs(units[symbol] - target) <= 1.0


@settings(max_examples=100, deadline=None)
@given(accounts())
def test_no_min_trade_value_means_exact_targets(account: dict[str, Any]) -> None:
    account["min_trade_value"] = 0.0
    plan = rebalance_plan(**account)
    # only floating-point crumbs can miss: the targets never cost more than the capital
    assert all("cash left" in why for why in plan.skipped.values())
    for symbol, target in plan.target_units.items():
        assert abs(plan.resulting_units[symbol] - target) <= 1.0
