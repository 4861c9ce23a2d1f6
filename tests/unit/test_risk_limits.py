"""Pre-trade risk checks: each limit by hand with its reason, clear errors, and properties."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.trading import Order, OrderSide
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.risk import Holding, PortfolioSnapshot, RiskDecision, RiskLimits, check_order

LIMITS = RiskLimits()
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _snapshot(**overrides: Any) -> PortfolioSnapshot:
    # equity 10,000: 6,000 cash + AAPL 10 × 100 + MSFT 10 × 300
    kwargs: dict[str, Any] = {"cash": 6_000.0, "positions": {"AAPL": (10, 100.0), "MSFT": (10, 300.0)}}
    return PortfolioSnapshot(**(kwargs | overrides))


def _check(symbol: str, side: OrderSide, quantity: float, price: float, **snapshot: Any) -> RiskDecision:
    return check_order(LIMITS, _snapshot(**snapshot), Order(symbol, side, quantity), price)


# -- values ---------------------------------------------------------------------------------------------


def test_defaults_and_snapshot_forms() -> None:
    assert (LIMITS.max_position_pct, LIMITS.max_daily_loss_pct, LIMITS.max_drawdown_pct,
            LIMITS.min_cash_reserve_pct, LIMITS.max_open_positions) == (20, 2, 15, 10, 10)  # fmt: skip
    snap = PortfolioSnapshot(
        cash=1_000, positions={"A": Holding(2, 50.0), "B": (1, 100.0), "C": {"units": -1, "price": 20.0}}
    )
    assert snap.equity == 1_000 + 100 + 100 - 20
    assert snap.day_start_equity == snap.peak_equity == snap.equity
    assert snap.positions["C"] == Holding(-1.0, 20.0) and snap.open_positions == 3
    snap = PortfolioSnapshot(cash=900, equity=950, day_start_equity=1_000, peak_equity=900)
    assert snap.daily_loss_pct == pytest.approx(5.0) and snap.drawdown_pct == 0.0  # peak below equity → equity


_NOT_AN_ORDER: Any = "buy AAPL"


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: RiskLimits(max_position_pct=0), InvalidParameterError,
         r"max_position_pct must be a percentage in \(0, 100\]"),
        (lambda: RiskLimits(max_daily_loss_pct=150), InvalidParameterError, "max_daily_loss_pct"),
        (lambda: RiskLimits(max_drawdown_pct=math.nan), InvalidParameterError, "max_drawdown_pct must be a finite"),
        (lambda: RiskLimits(min_cash_reserve_pct=100), InvalidParameterError, "must be below 100"),
        (lambda: RiskLimits(max_open_positions=0), InvalidParameterError,
         "max_open_positions must be an integer >= 1"),
        (lambda: PortfolioSnapshot(cash=-100), InvalidDataError, "equity must be > 0"),
        (lambda: PortfolioSnapshot(cash=100, positions={"A": 5}), InvalidDataError,
         r"positions\['A'\] must be a Holding"),
        (lambda: PortfolioSnapshot(cash=100, positions={"A": (1, 0)}), InvalidDataError, "price must be > 0"),
        (lambda: _check("AAPL", BUY, 0, 100), InvalidParameterError, "order quantity must be > 0"),
        (lambda: _check("AAPL", BUY, 1, -5), InvalidParameterError, "price must be > 0"),
        (lambda: check_order(LIMITS, _snapshot(), _NOT_AN_ORDER, 100), InvalidParameterError,
         "order must be an Order"),
    ],
)  # fmt: skip
def test_clear_errors(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


# -- each limit, by hand --------------------------------------------------------------------------------


def test_allow_within_every_limit() -> None:
    d = _check("AAPL", BUY, 5, 100)
    assert (d.action, d.quantity, d.requested) == ("allow", 5, 5) and d.allowed
    assert d.reasons == ("within every limit: AAPL 15.00% of equity ≤ 20%, cash after 5,500.00 ≥ reserve 1,000.00",)
    assert d.allowed_order() is d.order


def test_shrink_to_the_position_limit() -> None:
    d = _check("AAPL", BUY, 50, 100)  # 60 units = 60 % of equity; 20 % allows 20 units → 10 more
    assert (d.action, d.quantity) == ("shrink", 10)
    assert d.reasons[0] == (
        "AAPL would be 60 units × 100.00 = 6,000.00 = 60.00% of equity 10,000.00, above the 20% position "
        "limit: at most 10 units"
    )
    assert d.reasons[-1] == "shrunk from 50 to 10 units"
    assert d.allowed_order() == Order("AAPL", BUY, 10.0)


def test_shrink_to_the_cash_reserve() -> None:
    # 1,500 cash, reserve 10 % of 10,000 = 1,000 → at most 500 / 30 = 16 units of NEW at 30 (480 ≤ 20 % cap)
    positions = {"AAPL": (10, 100.0), "MSFT": (10, 300.0), "X": (1, 4_500.0)}
    d = _check("NEW", BUY, 40, 30, cash=1_500.0, positions=positions)
    assert (d.action, d.quantity) == ("shrink", 16)
    assert "would leave 300.00 cash, below the 10% reserve of 1,000.00: at most 16 units" in d.reasons[0]


def test_reject_when_nothing_fits() -> None:
    d = _check("AAPL", BUY, 5, 250)  # 10 units × 250 = 2,500 = 25 % already
    assert (d.action, d.quantity) == ("reject", 0.0) and d.allowed_order() is None
    assert "(it is already 25.00%)" in d.reasons[0] and "at most 0 units" in d.reasons[0]
    assert d.reasons[-1] == "the largest quantity within the limits is 0 units: rejected (5 requested)"


def test_daily_loss_and_drawdown_block_new_exposure_only() -> None:
    d = _check("AAPL", BUY, 1, 100, day_start_equity=10_300.0)
    assert d.action == "reject"
    assert d.reasons == (
        "the daily loss 2.91% (equity 10,000.00 vs 10,300.00 at the start of the day) has reached the 2% limit: "
        "only orders that reduce exposure are allowed",
    )
    d = _check("AAPL", BUY, 1, 100, peak_equity=12_000.0)
    assert d.action == "reject" and d.reasons[0].startswith("the drawdown 16.67% from the peak 12,000.00")
    reducing = _check("AAPL", SELL, 4, 100, day_start_equity=10_300.0, peak_equity=12_000.0)
    assert (reducing.action, reducing.quantity) == ("allow", 4)
    assert "reducing orders are always allowed" in reducing.reasons[0]


def test_max_open_positions_blocks_a_new_symbol_only() -> None:
    limits = RiskLimits(max_open_positions=2)
    d = check_order(limits, _snapshot(), Order("TSLA", BUY, 1), 100)
    assert d.action == "reject"
    assert d.reasons == ("2 positions are open and the limit is 2: a new position in TSLA is not allowed",)
    assert check_order(limits, _snapshot(), Order("AAPL", BUY, 1), 100).action == "allow"


def test_orders_crossing_zero_keep_the_reducing_part() -> None:
    # long 10 AAPL, sell 40: the first 10 close the long (always allowed); the short of 30 (3,000 = 30 %)
    # exceeds the 20 % limit, so only 20 more.
    d = _check("AAPL", SELL, 40, 100)
    assert (d.action, d.quantity) == ("shrink", 30)
    assert d.reasons[0] == "sell 10 AAPL reduces the long position of 10 units to 0: reducing orders are always allowed"
    # with the daily loss breached only the reducing part survives
    d = _check("AAPL", SELL, 40, 100, day_start_equity=11_000.0)
    assert (d.action, d.quantity) == ("shrink", 10)


def test_fractional_orders() -> None:
    d = check_order(LIMITS, _snapshot(), Order("BTC", BUY, 0.5), 40_000.0, whole_units=False)
    assert (d.action, d.quantity) == ("shrink", 0.05)  # 20 % of 10,000 = 2,000 → 0.05 BTC
    assert check_order(LIMITS, _snapshot(), Order("BTC", BUY, 0.5), 40_000.0).action == "reject"
    assert check_order(LIMITS, _snapshot(), Order("BTC", BUY, 0.01), 40_000.0).quantity == 0.01


# -- properties -----------------------------------------------------------------------------------------

SYMBOLS = ["A", "B", "C", "D", "E"]
Case = tuple[RiskLimits, PortfolioSnapshot, Order, float, bool]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    limits = RiskLimits(
        max_position_pct=draw(st.floats(1, 100)),
        max_daily_loss_pct=draw(st.floats(0.5, 20)),
        max_drawdown_pct=draw(st.floats(1, 50)),
        min_cash_reserve_pct=draw(st.floats(0, 50)),
        max_open_positions=draw(st.integers(1, 6)),
    )
    whole = draw(st.booleans())
    units = st.integers(-300, 300).map(float) if whole else st.floats(-300, 300)
    held = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=5))
    positions = {s: (draw(units), draw(st.floats(0.5, 1_000))) for s in held}
    cash = draw(st.floats(-1_000, 1e6))
    equity = cash + math.fsum(u * p for u, p in positions.values())
    assume(equity > 1.0)
    snapshot = PortfolioSnapshot(
        cash=cash,
        positions=positions,
        day_start_equity=equity * draw(st.floats(0.8, 1.2)),
        peak_equity=equity * draw(st.floats(1.0, 1.5)),
    )
    symbol = draw(st.sampled_from(SYMBOLS))
    quantity = draw(st.integers(1, 1_000).map(float) if whole else st.floats(1e-3, 1_000))
    price = draw(st.floats(0.5, 1_000))
    return limits, snapshot, Order(symbol, draw(st.sampled_from([BUY, SELL])), quantity), price, whole


def _violations(limits: RiskLimits, snap: PortfolioSnapshot, order: Order, price: float, quantity: float) -> list[str]:
    """The limits that ``quantity`` of ``order`` would break (the reducing part is exempt)."""
    held = snap.units(order.symbol)
    sign = 1.0 if order.side is BUY else -1.0
    reduce = min(quantity, abs(held)) if held and math.copysign(1, held) != sign else 0.0
    if quantity - reduce <= 0:
        return []
    broken = []
    if snap.daily_loss_pct >= limits.max_daily_loss_pct:
        broken.append("daily loss")
    if snap.drawdown_pct >= limits.max_drawdown_pct:
        broken.append("drawdown")
    if held == 0 and snap.open_positions >= limits.max_open_positions:
        broken.append("open positions")
    if abs(held + sign * quantity) * price > limits.max_position_pct / 100 * snap.equity:
        broken.append("position")
    if order.side is BUY and snap.cash - quantity * price < limits.min_cash_reserve_pct / 100 * snap.equity:
        broken.append("cash reserve")
    return broken


@settings(max_examples=500, deadline=None)
@given(cases())
def test_allowed_quantity_never_violates_a_limit(case: Case) -> None:
    limits, snap, order, price, whole = case
    d = check_order(limits, snap, order, price, whole_units=whole)
    assert d.action in ("allow", "shrink", "reject") and d.requested == order.quantity
    assert 0 <= d.quantity <= order.quantity and all(d.reasons) and all("\n" not in r for r in d.reasons)
    assert _violations(limits, snap, order, price, d.quantity) == []
    if d.action == "allow":
        assert d.quantity == order.quantity
    elif d.action == "reject":
        assert d.quantity == 0
    else:
        assert 0 < d.quantity < order.quantity
        if whole:  # shrinking keeps whole units and goes as far as the limits allow
            assert d.quantity == int(d.quantity)
            assert _violations(limits, snap, order, price, d.quantity + 1) or d.quantity + 1 > order.quantity


@settings(max_examples=150, deadline=None)
@given(cases())
def test_reducing_orders_are_never_rejected(case: Case) -> None:
    limits, snap, order, price, whole = case
    held = snap.units(order.symbol)
    assume(held != 0)
    reducing = Order(order.symbol, SELL if held > 0 else BUY, min(order.quantity, abs(held)))
    d = check_order(limits, snap, reducing, price, whole_units=whole)
    assert d.action == "allow" and d.quantity == reducing.quantity
    crossing = Order(order.symbol, reducing.side, abs(held) + order.quantity)
    d = check_order(limits, snap, crossing, price, whole_units=whole)
    assert d.action != "reject" and d.quantity >= abs(held)
