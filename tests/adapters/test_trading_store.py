"""The TradingStore contract (trading sessions, their orders, fills, positions and equity), run against
both state adapters (SQLite on a real file, and memory), plus the codec of those rows, the SQLite
migration that adds their tables (schema version 4 → 5) and a SIGKILL durability test of ``commit_bar``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import math
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.state import SCHEMA_VERSION, InMemoryStateStore, SqliteStateStore, _codec
from adapters.state.migrations import MIGRATIONS, migrate
from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord, SessionStatus
from gpt_trader_core.domain.specs import DataSource, FeedSpec, RiskSpec
from gpt_trader_core.domain.trading import Fill, Order, OrderSide, OrderState, OrderStatus, OrderType, Position
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError
from gpt_trader_core.ports import TradingStore
from tests.adapters.test_state_store import FLOATS, STR_MAPPINGS, make_execution, make_record, migrated, one_line, same
from tests.adapters.test_study_store import make_study, trials

T0 = dt.datetime(2024, 6, 3, 13, 30)


def at(bar: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=bar, microseconds=bar)


def make_session(
    session_id: str = "sess-1",
    *,
    created_at: dt.datetime = T0,
    status: SessionStatus = SessionStatus.RUNNING,
    last_bar: int = -1,
) -> SessionRecord:
    """A session as the engine starts it (nothing processed yet), or as of ``last_bar``."""
    return SessionRecord(
        id=session_id,
        created_at=created_at,
        strategy="sma_cross",
        params={"fast": 10, "slow": 30, "band": (0.5, 1.5), "stop": None},
        symbols=("AAPL", "MSFT"),
        mode="paper",
        capital=25_000.0,
        config={"commission": 0.001, "slippage": {"bps": 2.5}, "sizes": [1, 2]},
        feed=FeedSpec("synthetic", "1m", speed=0.0, seed=7, start=T0),
        status=status,
        last_bar=last_bar,
        last_time=None if last_bar < 0 else at(last_bar),
        cash=25_000.0 - 100.0 * max(last_bar, 0),
        equity=25_000.0 + 12.5 * max(last_bar, 0),
        updated_at=None if last_bar < 0 else at(last_bar) + dt.timedelta(seconds=1),
        risk=None if last_bar < 0 else RiskSpec(max_drawdown_pct=20.0),
    )


def market(coid: str = "m-1", *, bar: int = 0, side: OrderSide = OrderSide.BUY) -> Order:
    """The backtest's all-in entry: no quantity, a fraction of the cash."""
    return Order("AAPL", side, 0.0, client_order_id=coid, created_at=at(bar), fraction=0.95)


def limit(coid: str = "l-1", *, bar: int = 0) -> Order:
    return Order(
        "MSFT", OrderSide.BUY, 12.0, OrderType.LIMIT, limit_price=411.25, client_order_id=coid, created_at=at(bar)
    )


def stop(coid: str = "s-1", *, bar: int = 0) -> Order:
    """A protective stop: reduce-only, a stop price, no creation time given by the caller."""
    return Order("AAPL", OrderSide.SELL, 7.5, OrderType.STOP, stop_price=187.5, client_order_id=coid, reduce_only=True)


def state(order: Order, status: OrderStatus = OrderStatus.NEW, *, bar: int = 0, **changes: Any) -> OrderState:
    return OrderState(order, status, updated_at=at(bar), **changes)


def filled(order: Order, *, bar: int, quantity: float = 10.0, price: float = 190.12345678901234) -> OrderState:
    return state(
        order,
        OrderStatus.FILLED,
        bar=bar,
        filled_quantity=quantity,
        average_price=price,
        commission=0.001 * quantity * price,
    )


def fill(coid: str, n: int = 1, *, bar: int = 0, symbol: str = "AAPL", quantity: float = 10.0) -> Fill:
    return Fill(
        symbol,
        OrderSide.BUY,
        quantity,
        190.12345678901234 + n,
        0.19,
        bar,
        at(bar),
        coid,
        f"{coid}:{n}",
        realized_pnl=-3.75 if n % 2 else 0.0,
    )


def position(symbol: str = "AAPL", *, bar: int = 0, size: float = 10.0) -> Position:
    return Position(symbol, size, 190.12345678901234, bar, at(bar))


def snapshot(bar: int, *, equity: float | None = None) -> EquitySnapshot:
    return EquitySnapshot(bar, at(bar), 25_000.0 - 100.0 * bar, 25_000.0 + 12.5 * bar if equity is None else equity)


def bar_of(
    bar: int,
    orders: Sequence[OrderState] = (),
    fills: Sequence[Fill] = (),
    positions: Sequence[Position] = (),
    *,
    session_id: str = "sess-1",
) -> tuple[SessionRecord, Sequence[OrderState], Sequence[Fill], Sequence[Position], EquitySnapshot]:
    return make_session(session_id, last_bar=bar), orders, fills, positions, snapshot(bar)


def two_bars() -> list[tuple[Any, ...]]:
    """A realistic start: bar 0 places orders, bar 1 fills some and changes the positions."""
    m, lim, stp = market("m-1"), limit("l-1"), stop("s-1")
    return [
        bar_of(0, [state(m, OrderStatus.ACCEPTED), state(lim, OrderStatus.ACCEPTED), state(stp)], [], []),
        bar_of(
            1,
            [
                filled(m, bar=1),
                state(
                    lim, OrderStatus.PARTIALLY_FILLED, bar=1, filled_quantity=5.0, average_price=411.25, commission=0.2
                ),
            ],
            [fill("m-1", bar=1), fill("l-1", bar=1, symbol="MSFT", quantity=5.0)],
            [position("AAPL", bar=1), position("MSFT", bar=1, size=5.0)],
        ),
    ]


async def stored(store: Any, session_id: str = "sess-1") -> tuple[Any, ...]:
    """Everything the store holds about a session."""
    return (
        await store.get_session(session_id),
        await store.list_orders(session_id),
        await store.list_fills(session_id),
        await store.list_positions(session_id),
        await store.list_equity(session_id),
    )


# -- the contract ------------------------------------------------------------------------------------


def test_both_adapters_satisfy_the_trading_store_port() -> None:
    def takes_trading_store(store: TradingStore) -> TradingStore:
        return store

    methods = (
        "save_session",
        "get_session",
        "list_sessions",
        "commit_bar",
        "list_orders",
        "list_fills",
        "list_positions",
        "list_equity",
    )
    for adapter in (SqliteStateStore(":memory:"), InMemoryStateStore()):
        assert takes_trading_store(adapter) is adapter
        for method in methods:
            assert callable(getattr(adapter, method))


async def test_session_round_trips_exactly_and_save_session_upserts(store: Any) -> None:
    started = make_session()
    await store.save_session(started)
    got = await store.get_session(started.id)
    assert same(got, started)
    assert got.symbols == ("AAPL", "MSFT") and got.risk is None and got.last_time is None and got.last_bar == -1
    assert got.status is SessionStatus.RUNNING and got.feed.start == T0 and got.params["band"] == (0.5, 1.5)

    await store.commit_bar(*bar_of(0, [state(market())], [fill("m-1")], [position()]))
    stopped = attrs.evolve(make_session(last_bar=0), status=SessionStatus.FAILED, error="BrokerError: gone")
    await store.save_session(stopped)  # a stop: the session alone; the bar's data stays
    assert same(await store.get_session(started.id), stopped)
    assert [s.id for s in await store.list_sessions()] == [started.id]
    _, orders, fills, positions, equity = await stored(store)
    assert len(orders) == len(fills) == len(positions) == len(equity) == 1


async def test_a_bar_round_trips_exactly(store: Any) -> None:
    m, lim, stp = market("m-1"), limit("l-1"), stop("s-1")
    orders = [
        filled(m, bar=0),
        state(lim, OrderStatus.ACCEPTED),
        state(stp, OrderStatus.REJECTED, reason="no position"),
    ]
    fills = [fill("m-1", 1), fill("m-1", 2, quantity=0.5)]
    positions = [position("MSFT", size=-7.5), position("AAPL")]
    await store.commit_bar(make_session(last_bar=0), orders, fills, positions, snapshot(0))

    session, got_orders, got_fills, got_positions, equity = await stored(store)
    assert same(session, make_session(last_bar=0))
    assert same(got_orders, orders)
    assert same(got_fills, fills)
    assert same(got_positions, [position("AAPL"), position("MSFT", size=-7.5)])  # by symbol
    assert same(equity, [snapshot(0)])

    by_id = {o.client_order_id: o for o in got_orders}
    assert by_id["m-1"].order.quantity == 0.0 and by_id["m-1"].order.fraction == 0.95
    assert by_id["m-1"].order.limit_price is None and by_id["m-1"].order.stop_price is None
    assert by_id["l-1"].order.type is OrderType.LIMIT and by_id["l-1"].order.limit_price == 411.25
    assert by_id["l-1"].average_price is None and by_id["l-1"].order.fraction is None
    assert by_id["s-1"].order.reduce_only is True and by_id["s-1"].order.created_at is None
    assert by_id["s-1"].status is OrderStatus.REJECTED and by_id["s-1"].reason == "no position"
    assert got_fills[0].price == 191.12345678901234 and got_fills[0].realized_pnl == -3.75


async def test_non_finite_floats_round_trip_and_a_negative_zero_reads_back_as_zero(store: Any) -> None:
    # NaN/inf are kept as text (SQLite would turn a NaN into NULL); a REAL column cannot keep the sign
    # of a zero, and the memory store agrees (-0.0 == 0.0).
    order = state(
        attrs.evolve(limit(), limit_price=math.inf), OrderStatus.ACCEPTED, average_price=math.nan, commission=-0.0
    )
    odd_fill = attrs.evolve(fill("l-1"), price=math.nan, realized_pnl=-math.inf, commission=-0.0)
    await store.commit_bar(
        attrs.evolve(make_session(last_bar=0), cash=math.nan, equity=-0.0),
        [order],
        [odd_fill],
        [position(size=-0.0)],
        EquitySnapshot(0, at(0), -math.inf, math.nan),
    )
    session, (got_order,), (got_fill,), (got_position,), (equity,) = await stored(store)
    assert math.isnan(session.cash) and same(session.equity, 0.0)
    assert got_order.order.limit_price == math.inf and math.isnan(got_order.average_price)
    assert same(got_order.commission, 0.0)
    assert math.isnan(got_fill.price) and got_fill.realized_pnl == -math.inf and same(got_fill.commission, 0.0)
    assert same(got_position.size, 0.0)
    assert equity.cash == -math.inf and math.isnan(equity.equity)


async def test_an_orders_state_is_upserted_over_time_and_keeps_its_place(store: Any) -> None:
    m, lim, stp = market("m-1"), limit("l-1"), stop("s-1")
    await store.commit_bar(*bar_of(0, [state(m), state(lim)]))
    assert [o.status for o in await store.list_orders("sess-1")] == [OrderStatus.NEW, OrderStatus.NEW]
    await store.commit_bar(*bar_of(1, [state(lim, OrderStatus.ACCEPTED, bar=1), state(m, OrderStatus.ACCEPTED, bar=1)]))
    # A new order created "earlier" than the stored ones still comes after them: creation = first stored.
    early = attrs.evolve(stp, created_at=T0 - dt.timedelta(days=1))
    await store.commit_bar(
        *bar_of(2, [filled(m, bar=2), state(early, OrderStatus.ACCEPTED, bar=2)], [fill("m-1", bar=2)])
    )
    await store.commit_bar(*bar_of(3, [state(lim, OrderStatus.CANCELLED, bar=3, reason="expired")]))

    orders = await store.list_orders("sess-1")
    assert [o.client_order_id for o in orders] == ["m-1", "l-1", "s-1"]
    assert same(
        orders,
        [
            filled(m, bar=2),
            state(lim, OrderStatus.CANCELLED, bar=3, reason="expired"),
            state(early, OrderStatus.ACCEPTED, bar=2),
        ],
    )
    assert not orders[1].status.open and orders[2].status.open


async def test_an_order_given_twice_in_one_bar_keeps_its_last_state(store: Any) -> None:
    m = market()
    await store.commit_bar(*bar_of(0, [state(m), state(limit()), state(m, OrderStatus.ACCEPTED)]))
    assert same(await store.list_orders("sess-1"), [state(m, OrderStatus.ACCEPTED), state(limit())])


async def test_recommitting_a_bar_is_idempotent(store: Any) -> None:
    first, second = two_bars()
    await store.commit_bar(*first)
    await store.commit_bar(*second)
    before = await stored(store)
    assert len(before[2]) == 2
    for _ in range(3):  # the engine re-commits the last bar after a crash: same ids, nothing duplicated
        await store.commit_bar(*second)
    assert same(await stored(store), before)

    # A retried fill id keeps the first fill (ignored), whatever the retry carries.
    session, orders, fills, positions, equity = second
    await store.commit_bar(session, orders, [attrs.evolve(f, price=1.0) for f in fills], positions, equity)
    assert same((await stored(store))[2], before[2])
    # Re-committing an older bar rewrites that bar's snapshot in place, never a second one.
    await store.commit_bar(*first)
    assert [e.bar for e in await store.list_equity("sess-1")] == [0, 1]
    assert len(await store.list_fills("sess-1")) == 2 and len(await store.list_orders("sess-1")) == 3


async def test_a_fill_id_given_twice_in_one_bar_keeps_the_first(store: Any) -> None:
    await store.commit_bar(*bar_of(0, [], [fill("m-1", 1), attrs.evolve(fill("m-1", 1), price=1.0), fill("m-1", 2)]))
    assert same(await store.list_fills("sess-1"), [fill("m-1", 1), fill("m-1", 2)])


async def test_positions_are_replaced_by_each_commit(store: Any) -> None:
    await store.commit_bar(*bar_of(0, positions=[position("MSFT"), position("AAPL")]))
    await store.commit_bar(*bar_of(0, positions=[position("ZZZ")], session_id="other"))
    assert [p.symbol for p in await store.list_positions("sess-1")] == ["AAPL", "MSFT"]
    await store.commit_bar(*bar_of(1, positions=[position("MSFT", bar=1, size=-2.0)]))
    assert same(await store.list_positions("sess-1"), [position("MSFT", bar=1, size=-2.0)])
    await store.commit_bar(*bar_of(2))  # flat
    assert await store.list_positions("sess-1") == []
    assert same(await store.list_positions("other"), [position("ZZZ")])  # per session


async def test_commit_bar_inserts_a_session_never_saved(store: Any) -> None:
    await store.commit_bar(*bar_of(0, [state(market())], [fill("m-1")], [position()], session_id="fresh"))
    assert same(await store.get_session("fresh"), make_session("fresh", last_bar=0))
    assert [s.id for s in await store.list_sessions()] == ["fresh"]


async def test_sessions_do_not_see_each_others_data(store: Any) -> None:
    await store.commit_bar(*bar_of(0, [state(market("a-m"))], [fill("a-m")], [position()], session_id="a"))
    await store.commit_bar(*bar_of(5, [state(market("b-m"))], [fill("b-m")], [], session_id="b"))
    assert [o.client_order_id for o in await store.list_orders("a")] == ["a-m"]
    assert [o.client_order_id for o in await store.list_orders("b")] == ["b-m"]
    assert [f.fill_id for f in await store.list_fills("b")] == ["b-m:1"]
    assert [e.bar for e in await store.list_equity("a")] == [0] and [e.bar for e in await store.list_equity("b")] == [5]
    assert await store.list_positions("b") == []


async def test_an_order_id_of_another_session_is_a_conflict_and_stores_nothing(store: Any) -> None:
    await store.commit_bar(*bar_of(0, [state(market("shared"))], session_id="a"))
    await store.commit_bar(*bar_of(0, session_id="b"))
    with pytest.raises(ConflictError) as info:
        await store.commit_bar(
            *bar_of(1, [state(limit("new")), state(market("shared"))], [fill("new")], session_id="b")
        )
    assert "order 'shared' belongs to session 'a', not 'b'" in one_line(info.value)
    assert same(await stored(store, "b"), (make_session("b", last_bar=0), [], [], [], [snapshot(0)]))
    assert same(await store.list_orders("a"), [state(market("shared"))])


BAD_BARS: list[tuple[str, dict[str, Any], type[Exception], str | None]] = [
    ("session-params", {"session": {"params": {"blob": object()}}}, TypeError, r"cannot store a object at \$\.blob"),
    ("session-last-bar", {"session": {"last_bar": 1.0}}, TypeError, "session.last_bar=1.0: expected an integer"),
    ("order-without-id", {"order": {"client_order_id": None}}, InvalidParameterError, "client_order_id=None"),
    ("order-empty-id", {"order": {"client_order_id": ""}}, InvalidParameterError, "non-empty string"),
    ("order-quantity", {"order": {"quantity": "ten"}}, TypeError, None),
    ("order-symbol", {"order": {"symbol": None}}, TypeError, r"orders\[1\]: symbol must not be None"),
    ("fill-without-id", {"fill": {"fill_id": None}}, InvalidParameterError, r"fills\[1\]\.fill_id=None"),
    ("fill-price", {"fill": {"price": None}}, TypeError, None),
    ("fill-bar", {"fill": {"bar": 2**63}}, ValueError, "outside the 64-bit integer range"),
    ("fill-time", {"fill": {"time": None}}, TypeError, "cannot store None as a datetime"),
    ("position-twice", {"positions": "twice"}, InvalidParameterError, "a second position in 'AAPL'"),
    ("position-bar", {"positions": "bool"}, TypeError, "not a bool"),
    ("equity-bar", {"equity": {"bar": 1.5}}, TypeError, "equity.bar=1.5: expected an integer"),
    ("equity-cash", {"equity": {"cash": "lots"}}, TypeError, None),
    ("not-an-order", {"orders": "dict"}, TypeError, r"orders\[1\]: expected a OrderState"),
]


def bad_bar(spoil: dict[str, Any]) -> tuple[Any, ...]:
    """Bar 1 of ``two_bars`` with one unstorable value in it (and a new order, fill, position)."""
    session, orders, fills, positions, equity = two_bars()[1]
    orders, fills, positions = [*orders, state(stop("s-2", bar=1))], [*fills, fill("s-2", bar=1)], [*positions]
    if "session" in spoil:
        session = attrs.evolve(session, **spoil["session"])
    if "order" in spoil:
        orders[1] = attrs.evolve(orders[1], order=attrs.evolve(orders[1].order, **spoil["order"]))
    if "fill" in spoil:
        fills[1] = attrs.evolve(fills[1], **spoil["fill"])
    if spoil.get("positions") == "twice":
        positions.append(position("AAPL", bar=1, size=1.0))
    if spoil.get("positions") == "bool":
        positions[1] = attrs.evolve(positions[1], entry_bar=True)
    if "equity" in spoil:
        equity = attrs.evolve(equity, **spoil["equity"])
    if spoil.get("orders") == "dict":
        orders[1] = {"client_order_id": "x"}
    return session, orders, fills, positions, equity


@pytest.mark.parametrize(("spoil", "error", "match"), [case[1:] for case in BAD_BARS], ids=[c[0] for c in BAD_BARS])
async def test_a_bar_with_an_unstorable_value_stores_nothing_of_that_bar(
    store: Any, spoil: dict[str, Any], error: type[Exception], match: str | None
) -> None:
    first, second = two_bars()
    await store.commit_bar(*first)
    before = await stored(store)
    with pytest.raises(error, match=match):
        await store.commit_bar(*bad_bar(spoil))
    assert same(await stored(store), before)  # not the session, orders, fills, positions nor equity of bar 1
    await store.commit_bar(*second)  # the store still works and the ids are free
    assert len((await stored(store))[2]) == 2


async def test_a_refused_first_bar_creates_no_session(store: Any) -> None:
    with pytest.raises(InvalidParameterError):
        await store.commit_bar(*bar_of(0, [], [attrs.evolve(fill("m-1"), fill_id=None)], session_id="ghost"))
    with pytest.raises(NotFoundError):
        await store.get_session("ghost")
    assert await store.list_sessions() == []


async def test_sqlite_rolls_back_a_bar_that_fails_inside_the_transaction(sqlite_store: SqliteStateStore) -> None:
    first, second = two_bars()
    await sqlite_store.commit_bar(*first)
    before = await stored(sqlite_store)

    def run(sql: str) -> Any:
        return lambda conn: conn.execute(sql)

    # The equity row is the last write of the bar: the session, orders, fills and positions are
    # already written inside the transaction when it fails.
    await sqlite_store._call(
        run("CREATE TRIGGER boom BEFORE INSERT ON equity WHEN NEW.bar = 1 BEGIN SELECT RAISE(ABORT, 'boom'); END")
    )
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        await sqlite_store.commit_bar(*second)
    assert same(await stored(sqlite_store), before)
    await sqlite_store._call(run("DROP TRIGGER boom"))
    await sqlite_store.commit_bar(*second)
    session, _, fills, positions, equity = await stored(sqlite_store)
    assert session.last_bar == 1 and len(fills) == 2 and len(positions) == 2 and [e.bar for e in equity] == [0, 1]


async def test_lists_are_ordered_whatever_the_commit_order(store: Any) -> None:
    await store.commit_bar(*bar_of(7, [], [fill("b", 2, bar=7), fill("a", 1, bar=9), fill("b", 1, bar=7)]))
    await store.commit_bar(*bar_of(3, [], [fill("z", 1, bar=3), fill("c", 10, bar=7), fill("c", 9, bar=7)]))
    await store.commit_bar(*bar_of(5, positions=[position("MSFT"), position("AAPL"), position("AMZN")]))
    fills = await store.list_fills("sess-1")
    # By bar, then by fill id as text ("c:10" before "c:9").
    assert [(f.bar, f.fill_id) for f in fills] == [
        (3, "z:1"),
        (7, "b:1"),
        (7, "b:2"),
        (7, "c:10"),
        (7, "c:9"),
        (9, "a:1"),
    ]
    assert [e.bar for e in await store.list_equity("sess-1")] == [3, 5, 7]
    assert [p.symbol for p in await store.list_positions("sess-1")] == ["AAPL", "AMZN", "MSFT"]


async def test_list_sessions_is_newest_first_filtered_by_status_with_a_limit(store: Any) -> None:
    cases = [
        ("a", 0, SessionStatus.RUNNING),
        ("b", 2, SessionStatus.STOPPED),
        ("c", 1, SessionStatus.RUNNING),
        ("d", 2, SessionStatus.RUNNING),
        ("e", -1, SessionStatus.FAILED),
    ]
    for session_id, minutes, status in cases:
        session = make_session(session_id, created_at=T0 + dt.timedelta(minutes=minutes), status=status)
        if session_id == "c":
            await store.commit_bar(*bar_of(0, session_id="c"))
            session = attrs.evolve(make_session("c", last_bar=0), created_at=session.created_at)
        await store.save_session(session)
    assert [s.id for s in await store.list_sessions()] == ["d", "b", "c", "a", "e"]
    assert [s.id for s in await store.list_sessions(status=SessionStatus.RUNNING)] == ["d", "c", "a"]
    assert [s.id for s in await store.list_sessions(status="running", limit=2)] == ["d", "c"]
    assert [s.id for s in await store.list_sessions(status=SessionStatus.FINISHED)] == []
    assert [s.id for s in await store.list_sessions(limit=1)] == ["d"] and await store.list_sessions(limit=0) == []
    assert same(
        (await store.list_sessions(status=SessionStatus.FAILED))[0],
        make_session("e", created_at=T0 - dt.timedelta(minutes=1), status=SessionStatus.FAILED),
    )
    with pytest.raises(InvalidParameterError, match="unknown session status 'paused'"):
        await store.list_sessions(status="paused")
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(InvalidParameterError, match="limit must be an integer >= 0"):
            await store.list_sessions(limit=bad)


async def test_list_sessions_orders_sub_second_times_chronologically_and_defaults_to_50(store: Any) -> None:
    times = [T0, T0 + dt.timedelta(microseconds=500_000), T0 + dt.timedelta(seconds=1), T0.replace(year=999)]
    for i, created_at in enumerate(times):
        await store.save_session(make_session(f"s{i}", created_at=created_at))
    assert [s.id for s in await store.list_sessions()] == ["s2", "s1", "s0", "s3"]
    for i in range(50):
        await store.save_session(make_session(f"new{i:02d}", created_at=T0 + dt.timedelta(days=1, seconds=i)))
    listed = await store.list_sessions()
    assert len(listed) == 50 and listed[0].id == "new49" and listed[-1].id == "new00"


async def test_unknown_sessions_are_clear_not_founds(store: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.get_session("ghost")
    assert "session 'ghost' not found" in one_line(info.value)
    for method in ("list_orders", "list_fills", "list_positions", "list_equity"):
        with pytest.raises(NotFoundError, match="session 'ghost' not found"):
            await getattr(store, method)("ghost")
    await store.save_session(make_session("quiet"))  # a known session with nothing yet: empty lists
    assert same(await stored(store, "quiet"), (make_session("quiet"), [], [], [], []))


async def test_stored_sessions_cannot_be_mutated_through_callers(store: Any) -> None:
    params: dict[str, Any] = {"grid": [5, 10]}
    await store.commit_bar(attrs.evolve(make_session(last_bar=0), params=params), [], [], [], snapshot(0))
    params["grid"].append(15)
    got = await store.get_session("sess-1")
    assert got.params == {"grid": [5, 10]}
    got.params["grid"].append(20)
    assert (await store.get_session("sess-1")).params == {"grid": [5, 10]}


async def test_concurrent_commits_of_many_sessions_all_land(store: Any) -> None:
    async def run(session_id: str) -> None:
        for bar in range(5):
            orders = [filled(market(f"{session_id}-m{bar}", bar=bar), bar=bar)]
            await store.commit_bar(
                *bar_of(
                    bar, orders, [fill(f"{session_id}-m{bar}", bar=bar)], [position(bar=bar)], session_id=session_id
                )
            )

    await asyncio.gather(*(run(f"s{i}") for i in range(10)))
    for i in range(10):
        session, orders, fills, positions, equity = await stored(store, f"s{i}")
        assert session.last_bar == 4 and len(fills) == 5 and len(positions) == 1 and len(equity) == 5
        assert [o.client_order_id for o in orders] == [f"s{i}-m{bar}" for bar in range(5)]


async def test_trading_data_survives_close_and_reopen(store: Any) -> None:
    for bar in two_bars():
        await store.commit_bar(*bar)
    before = await stored(store)
    await store.close()
    with pytest.raises(RuntimeError, match="is not open"):
        await store.commit_bar(*two_bars()[0])
    with pytest.raises(RuntimeError, match="is not open"):
        await store.list_fills("sess-1")
    await store.open()
    assert same(await stored(store), before)


# -- the codec ---------------------------------------------------------------------------------------


def test_codec_columns_are_the_domain_fields() -> None:
    assert tuple(f.name for f in attrs.fields(SessionRecord)) == _codec.SESSION_COLUMNS
    order_fields = {f.name for f in attrs.fields(Order)} | {f.name for f in attrs.fields(OrderState)} - {"order"}
    assert set(_codec.ORDER_COLUMNS) == order_fields and len(_codec.ORDER_COLUMNS) == len(order_fields)
    assert sorted(_codec.FILL_COLUMNS) == sorted(f.name for f in attrs.fields(Fill))
    assert sorted(_codec.POSITION_COLUMNS) == sorted(f.name for f in attrs.fields(Position))
    assert sorted(_codec.EQUITY_COLUMNS) == sorted(f.name for f in attrs.fields(EquitySnapshot))


def test_codec_trading_rows_have_a_stable_on_disk_shape() -> None:
    # Changing these breaks every existing database: add a migration instead.
    row = _codec.session_row(make_session(last_bar=3))
    assert tuple(row) == _codec.SESSION_COLUMNS
    assert row["symbols"] == '["AAPL","MSFT"]' and row["status"] == "running" and row["last_bar"] == 3
    assert _codec.loads(row["params"])["band"] == {"$tuple": [0.5, 1.5]}
    assert row["last_time"] == "2024-06-03T13:33:00.000003"
    (order,) = _codec.order_rows([state(stop(), average_price=math.nan)])
    assert tuple(order) == _codec.ORDER_COLUMNS
    assert order["reduce_only"] == 1 and order["type"] == "stop" and order["side"] == "sell"
    assert order["average_price"] == "nan" and order["limit_price"] is None and order["created_at"] is None
    (fill_row,) = _codec.fill_rows([fill("m-1")])
    assert tuple(fill_row) == _codec.FILL_COLUMNS and fill_row["fill_id"] == "m-1:1" and fill_row["side"] == "buy"


INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
IDS = st.text(min_size=1, max_size=6)
TIMES = st.datetimes()
ORDERS = st.builds(
    OrderState,
    order=st.builds(
        Order,
        symbol=st.text(max_size=5),
        side=st.sampled_from(OrderSide),
        quantity=FLOATS,
        type=st.sampled_from(OrderType),
        limit_price=st.none() | FLOATS,
        stop_price=st.none() | FLOATS,
        client_order_id=IDS,
        created_at=st.none() | TIMES,
        fraction=st.none() | FLOATS,
        reduce_only=st.booleans(),
    ),
    status=st.sampled_from(OrderStatus),
    filled_quantity=FLOATS,
    average_price=st.none() | FLOATS,
    commission=FLOATS,
    reason=st.none() | st.text(max_size=8),
    updated_at=st.none() | TIMES,
)
FILLS = st.builds(
    Fill,
    symbol=st.text(max_size=5),
    side=st.sampled_from(OrderSide),
    quantity=FLOATS,
    price=FLOATS,
    commission=FLOATS,
    bar=INT64,
    time=TIMES,
    client_order_id=st.none() | IDS,
    fill_id=IDS,
    realized_pnl=FLOATS,
)
FEEDS = st.builds(
    FeedSpec,
    kind=st.sampled_from(["replay", "synthetic"]),
    timeframe=st.sampled_from(["1m", "1h", "1d"]),
    speed=st.none() | st.floats(0, 1e9),
    start=st.none() | TIMES,
    source=st.none()
    | st.builds(DataSource, kind=st.sampled_from(["csv", "parquet"]), path=st.text(min_size=1, max_size=8))
    | st.builds(DataSource, kind=st.just("synthetic"), seed=st.integers(0, 2**31)),
    seed=st.integers(0, 2**31),
    started_at=st.none() | st.floats(0, 4e9),
    stop_after=st.none() | st.integers(1, 10**9),
    fingerprints=st.dictionaries(st.text(max_size=5), st.text(max_size=16), max_size=3),
)
RISKS = st.builds(
    RiskSpec,
    max_drawdown_pct=st.floats(0.1, 100),
    max_daily_loss_pct=st.floats(0.1, 100),
    max_open_positions=st.integers(1, 1000),
)
SESSIONS = st.builds(
    SessionRecord,
    id=IDS,
    created_at=TIMES,
    strategy=st.text(max_size=8),
    params=STR_MAPPINGS,
    symbols=st.lists(st.text(max_size=5), max_size=3).map(tuple),
    mode=st.sampled_from(["paper", "live"]),
    capital=FLOATS,
    config=STR_MAPPINGS,
    feed=FEEDS,
    status=st.sampled_from(SessionStatus),
    last_bar=INT64,
    last_time=st.none() | TIMES,
    cash=FLOATS,
    equity=FLOATS,
    updated_at=st.none() | TIMES,
    error=st.none() | st.text(max_size=8),
    risk=st.none() | RISKS,
    owner=st.none() | st.text(max_size=12),
)


def signless(record: Any) -> Any:
    """What a REAL column gives back: every -0.0 float field becomes 0.0 (both adapters agree)."""
    changes = {}
    for field in attrs.fields(type(record)):
        value = getattr(record, field.name)
        if attrs.has(type(value)):
            changes[field.name] = signless(value)
        elif isinstance(value, float) and value == 0.0:
            changes[field.name] = 0.0
    return attrs.evolve(record, **changes)


@given(SESSIONS, st.lists(ORDERS, max_size=3, unique_by=lambda o: o.client_order_id), st.lists(FILLS, max_size=3))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_codec_trading_rows_round_trip_exactly(
    session: SessionRecord, orders: list[OrderState], fills: list[Fill]
) -> None:
    assert same(_codec.session_from_row(_codec.session_row(session)), signless(session))
    assert same([_codec.order_from_row(row) for row in _codec.order_rows(orders)], [signless(o) for o in orders])
    first: dict[str, Fill] = {}
    for f in fills:  # the first fill of an id, in the order ids first appear
        first.setdefault(f.fill_id, f)
    assert same([_codec.fill_from_row(row) for row in _codec.fill_rows(fills)], [signless(f) for f in first.values()])


# -- SQLite only: schema, migration, durability --------------------------------------------------------


async def test_sqlite_keeps_non_finite_floats_as_text_and_numbers_as_real(sqlite_store: SqliteStateStore) -> None:
    await sqlite_store.commit_bar(*bar_of(0, [state(limit(), average_price=math.nan)], [fill("l-1")]))

    def types(conn: sqlite3.Connection) -> tuple[Any, ...]:
        return tuple(
            conn.execute(
                "SELECT typeof(average_price), average_price, typeof(limit_price), typeof(fraction), seq FROM orders"
            ).fetchone()
        )

    assert await sqlite_store._call(types) == ("text", "nan", "real", "null", 0)


async def test_sqlite_migrates_a_v4_database_to_v5_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    record, execution, study = make_record("from-v4", n_trades=3), make_execution("ex-v4"), make_study("st-v4")
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=4) == 4

    def insert(table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(f'"{name}"' for name in row)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", [*row.values()])

    insert("backtests", _codec.backtest_row(record))
    for trade in _codec.trade_rows(record):
        insert("backtest_trades", {"backtest_id": record.id, **trade})
    insert("executions", _codec.execution_row(execution))
    insert("studies", _codec.study_row(study))
    for trial in _codec.trial_rows(trials(range(3))):
        insert("study_trials", {"study_id": study.id, **trial})
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "study_trials" in tables and not {"sessions", "orders", "fills", "positions", "equity"} & tables
    conn.close()

    store = SqliteStateStore(path)
    await store.open()
    try:
        assert SCHEMA_VERSION == MIGRATIONS[-1].version >= 5 and await store.schema_version() == SCHEMA_VERSION
        assert same(await store.get_backtest("from-v4"), migrated(record))  # migration 7: return_pct in %
        assert same(await store.get_execution("ex-v4"), execution)
        assert same(await store.get_study("st-v4"), study)
        assert same(await store.list_trials("st-v4"), trials(range(3)))
        for bar in two_bars():
            await store.commit_bar(*bar)
        assert (await store.get_session("sess-1")).last_bar == 1
    finally:
        await store.close()

    with sqlite3.connect(path) as check:
        indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plans = {
            name: " ".join(str(r[-1]) for r in check.execute(f"EXPLAIN QUERY PLAN {sql}", args))
            for name, sql, args in [
                ("sessions", "SELECT id FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?", (50,)),
                (
                    "status",
                    "SELECT id FROM sessions WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                    ("running", 50),
                ),
                ("orders", "SELECT client_order_id FROM orders WHERE session_id = ? ORDER BY seq", ("s",)),
                ("next_seq", "SELECT coalesce(max(seq) + 1, 0) FROM orders WHERE session_id = ?", ("s",)),
                ("fills", "SELECT fill_id FROM fills WHERE session_id = ? ORDER BY bar, fill_id", ("s",)),
                ("equity", "SELECT bar FROM equity WHERE session_id = ? ORDER BY bar", ("s",)),
            ]
        }
        check.execute("PRAGMA foreign_keys = ON")
        check.execute("DELETE FROM sessions WHERE id = 'sess-1'")
        orphans = [
            check.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("orders", "fills", "positions", "equity")
        ]
    assert {"sessions_created", "sessions_status_created", "fills_session_bar"} <= indexes
    assert "sessions_created" in plans["sessions"] and "sessions_status_created" in plans["status"]
    assert "sqlite_autoindex_orders_2" in plans["orders"] and "sqlite_autoindex_orders_2" in plans["next_seq"]
    assert "fills_session_bar" in plans["fills"] and "PRIMARY KEY" in plans["equity"]
    assert not any("TEMP B-TREE" in plan for plan in plans.values()), plans
    assert orphans == [0, 0, 0, 0]  # deleting a session deletes its data (ON DELETE CASCADE)

    await store.open()  # re-opening an up-to-date database changes nothing
    assert await store.schema_version() == SCHEMA_VERSION
    assert [s.id for s in await store.list_studies()] == ["st-v4"]
    await store.close()


HERE = Path(__file__).resolve().parent
WRITER = HERE / "_trading_writer.py"
REPO = HERE.parents[1]


def _load_writer() -> ModuleType:
    # By path: works whether or not tests/ is a package.
    spec = importlib.util.spec_from_file_location("_trading_writer", WRITER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


writer = _load_writer()


async def _run_and_kill(path: Path, acknowledged_before_kill: int) -> list[int]:
    """Start the writer, let it acknowledge some bars, SIGKILL it; return every acknowledged bar."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER),
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = []
    try:
        async with asyncio.timeout(10):
            while len(lines) < acknowledged_before_kill:
                line = await proc.stdout.readline()
                if not line:
                    stderr = (await proc.stderr.read()).decode(errors="replace")
                    raise AssertionError(f"writer exited early ({await proc.wait()}):\n{stderr}")
                lines.append(line)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: no cleanup, no close(), possibly mid-transaction
        await proc.wait()
    assert proc.returncode == -9
    # Lines already in the pipe were acknowledged too; a torn last line (no newline) was not printed whole.
    lines += (await proc.stdout.read()).splitlines(keepends=True)
    return [int(line.split()[1]) for line in lines if line.endswith(b"\n")]


async def test_acknowledged_bars_survive_sigkill_whole_and_once(tmp_path: Path) -> None:
    path = tmp_path / "durable" / "state.db"
    acknowledged: list[int] = []
    for round_no, kill_after in enumerate((40, 90, 150)):
        bars = await _run_and_kill(path, kill_after)
        assert len(bars) >= kill_after
        if round_no:  # it resumed by re-committing the last stored bar, which was at least the last acknowledged
            assert bars[0] >= max(acknowledged)
        acknowledged += bars

        with sqlite3.connect(path) as conn:  # before any store runs on it (WAL recovery by a reader)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            count, distinct = conn.execute("SELECT count(*), count(DISTINCT fill_id) FROM fills").fetchone()
            assert count == distinct

        store = SqliteStateStore(path)
        await store.open()
        try:
            session, orders, fills, positions, equity = await stored(store, writer.SESSION)
            last = session.last_bar
            assert last >= max(acknowledged)  # every acknowledged bar is there ...
            # ... whole, exactly once, and nothing of a later (unacknowledged, rolled back) bar.
            assert same(session, writer.session_for(last))
            assert same(equity, [writer.equity_for(bar) for bar in range(last + 1)])
            assert same(
                fills,
                sorted((f for bar in range(last + 1) for f in writer.fills_for(bar)), key=lambda f: (f.bar, f.fill_id)),
            )
            assert same(positions, sorted(writer.positions_for(last), key=lambda p: p.symbol))
            expected_orders = []
            for bar in range(last + 1):
                expected_orders.append(writer.orders_for(bar)[-2])  # the market order, filled at once
                limit_state = writer.final_limit_state(bar) if bar < last else writer.orders_for(bar)[-1]
                expected_orders.append(limit_state)  # upserted at the next bar, in its place
            assert same(orders, expected_orders)
        finally:
            await store.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- several processes: fencing by owner, compare-and-set of the session (issue 18) -------------------


async def test_only_the_stored_owner_commits_a_bar(store: Any) -> None:
    from gpt_trader_core.errors import SessionNotHeldError

    mine = attrs.evolve(make_session(), owner="host:1:a:1")
    await store.save_session(mine)
    await store.commit_bar(attrs.evolve(make_session(last_bar=0), owner=mine.owner), [], [fill("m-1")], [], snapshot(0))
    taken = attrs.evolve(await store.get_session("sess-1"), owner="host:2:b:2")  # another worker took it over
    await store.save_session(taken)
    with pytest.raises(SessionNotHeldError, match="host:2:b:2"):
        await store.commit_bar(
            attrs.evolve(make_session(last_bar=1), owner=mine.owner), [], [fill("m-1", 2, bar=1)], [], snapshot(1)
        )
    assert (await store.get_session("sess-1")).last_bar == 0  # nothing of the refused bar stored
    assert [f.fill_id for f in await store.list_fills("sess-1")] == [fill("m-1").fill_id]


async def test_swap_session_saves_only_over_the_expected_owner_and_bar(store: Any) -> None:
    first = attrs.evolve(make_session(last_bar=3), owner="w1")
    await store.save_session(first)
    claimed = attrs.evolve(first, owner="w2")
    assert await store.swap_session(claimed, first)
    assert (await store.get_session("sess-1")).owner == "w2"
    assert not await store.swap_session(attrs.evolve(first, owner="w3"), first)  # w1 no longer holds it
    newer = attrs.evolve(make_session(last_bar=4), owner="w2")
    await store.save_session(newer)
    assert not await store.swap_session(attrs.evolve(claimed, owner="w3"), claimed)  # a newer bar was stored
    assert (await store.get_session("sess-1")) == newer
    released = attrs.evolve(newer, owner=None, status=SessionStatus.STOPPED)
    assert await store.swap_session(released, newer)
    assert (await store.get_session("sess-1")).owner is None
