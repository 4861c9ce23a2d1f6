"""The simulated broker: idempotent submission, rejections with reasons, order types, partial fills,
and rebuilding its account from stored orders and fills."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.broker.simulated import SimulatedBroker
from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.domain.trading import Order, OrderSide, OrderStatus, OrderType
from gpt_trader_core.ports import BarEvent
from gpt_trader_core.risk import RiskLimits

T0 = dt.datetime(2024, 1, 2)


def bar(index: int, o: float, h: float, lo: float, c: float, volume: float = 1e6, symbol: str = "AAA") -> BarEvent:
    return BarEvent(symbol, index, T0 + dt.timedelta(days=index), o, h, lo, c, volume)


async def test_the_same_client_order_id_submitted_concurrently_creates_one_order() -> None:
    broker = SimulatedBroker(10_000)
    order = Order("AAA", OrderSide.BUY, 10, client_order_id="dup-1")
    states = await asyncio.gather(*(broker.submit(order) for _ in range(20)))
    assert {s.client_order_id for s in states} == {"dup-1"}
    assert len(await broker.open_orders()) == 1
    _, fills = await broker.sync(bar(0, 100, 101, 99, 100))
    assert len(fills) == 1 and fills[0].quantity == 10
    again = await broker.submit(order)  # after the fill: still the same, filled order
    assert again.status is OrderStatus.FILLED and not await broker.open_orders()


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (Order("ZZZ", OrderSide.BUY, 1, client_order_id="a"), "unknown symbol 'ZZZ'"),
        (Order("AAA", OrderSide.BUY, 0, client_order_id="b"), "quantity must be positive"),
        (Order("AAA", OrderSide.BUY, 1000, client_order_id="c"), "insufficient cash"),
        (Order("AAA", OrderSide.SELL, 5, client_order_id="d", reduce_only=True), "no long position"),
        (Order("AAA", OrderSide.BUY, 1, type=OrderType.LIMIT, client_order_id="e"), "needs a limit price"),
    ],
)
async def test_rejections_say_why(order: Order, message: str) -> None:
    broker = SimulatedBroker(10_000, symbols=["AAA"])
    await broker.sync(bar(0, 100, 101, 99, 100))  # the broker knows a price
    state = await broker.submit(order)
    assert state.status is OrderStatus.REJECTED and message in (state.reason or "")


async def test_risk_limit_rejection() -> None:
    broker = SimulatedBroker(
        10_000, risk_limits=RiskLimits(max_open_positions=1, max_position_pct=100, min_cash_reserve_pct=0)
    )
    await broker.sync(bar(0, 100, 101, 99, 100))
    await broker.sync(bar(0, 100, 101, 99, 100, symbol="BBB"))
    await broker.submit(Order("AAA", OrderSide.BUY, 10, client_order_id="first"))
    await broker.sync(bar(1, 100, 101, 99, 100))
    state = await broker.submit(Order("BBB", OrderSide.BUY, 10, client_order_id="second"))
    assert state.status is OrderStatus.REJECTED and (state.reason or "").startswith("risk limit:")


async def test_fraction_orders_are_sized_at_the_fill_and_rejected_when_nothing_is_affordable() -> None:
    broker = SimulatedBroker(1_000, FillModel(commission=0.01))
    await broker.submit(Order("AAA", OrderSide.BUY, 0, client_order_id="all-in", fraction=0.5))
    _, fills = await broker.sync(bar(0, 100, 101, 99, 100))
    assert fills[0].quantity == (1_000 * 0.5) // (100 + 100 * 0.01)
    poor = SimulatedBroker(50)
    await poor.submit(Order("AAA", OrderSide.BUY, 0, client_order_id="x", fraction=1.0))
    states, fills = await poor.sync(bar(0, 100, 101, 99, 100))
    assert not fills and states[0].status is OrderStatus.REJECTED and "insufficient cash at fill" in states[0].reason


async def test_limit_and_stop_orders_and_gaps() -> None:
    broker = SimulatedBroker(100_000)
    await broker.submit(Order("AAA", OrderSide.BUY, 1, OrderType.LIMIT, limit_price=95, client_order_id="lim"))
    await broker.submit(Order("AAA", OrderSide.BUY, 1, OrderType.STOP, stop_price=110, client_order_id="stp"))
    _, fills = await broker.sync(bar(0, 100, 105, 97, 101))
    assert fills == []  # neither touched
    _, fills = await broker.sync(bar(1, 100, 101, 90, 92))
    assert [(f.client_order_id, f.price) for f in fills] == [("lim", 95)]
    _, fills = await broker.sync(bar(2, 120, 125, 119, 121))  # gaps over the stop: fills at the open
    assert [(f.client_order_id, f.price) for f in fills] == [("stp", 120)]


async def test_partial_fills_respect_the_volume_cap() -> None:
    broker = SimulatedBroker(1_000_000, max_volume_fraction=0.1)
    await broker.submit(Order("AAA", OrderSide.BUY, 250, client_order_id="big"))
    states, fills = await broker.sync(bar(0, 100, 101, 99, 100, volume=1_000))
    assert fills[0].quantity == 100 and states[0].status is OrderStatus.PARTIALLY_FILLED
    await broker.sync(bar(1, 100, 101, 99, 100, volume=1_000))
    states, fills = await broker.sync(bar(2, 100, 101, 99, 100, volume=1_000))
    assert fills[0].quantity == 50 and states[0].status is OrderStatus.FILLED and states[0].filled_quantity == 250


async def test_reversal_and_reconcile_rebuild_the_same_account() -> None:
    fm = FillModel(commission=0.002, slippage=0.001)
    broker = SimulatedBroker(10_000, fm)
    orders, all_fills = [], []
    for i, (side, qty) in enumerate([(OrderSide.BUY, 30), (OrderSide.SELL, 50), (OrderSide.BUY, 20)]):
        orders.append(await broker.submit(Order("AAA", side, qty, client_order_id=f"o{i}")))
        _states, fills = await broker.sync(bar(i, 100 + i, 102 + i, 98 + i, 101 + i))
        all_fills += fills
    assert [f.quantity for f in all_fills] == [30, 30, 20, 20]  # the 50 reversal filled as close + open
    account = await broker.account()
    assert account.positions == () and account.cash != 10_000
    rebuilt = SimulatedBroker(10_000, fm)
    await rebuilt.reconcile([await broker.get_order(o.client_order_id) for o in orders], all_fills)
    again = await rebuilt.account()
    assert again.cash == account.cash and again.equity == account.equity
