"""Helper process for the trading durability test: commits bars of one session until killed.

    python _trading_writer.py DB_PATH_OR_POSTGRES_URL

It resumes like the trading engine after a crash: it reads the session's ``last_bar``, commits that
bar AGAIN (same order ids, same fill ids: the re-commit must change nothing) and goes on from the next
one. After each ``commit_bar`` *returns* it prints ``B BAR`` and flushes, so every printed line is an
acknowledged bar. Everything a bar writes is a pure function of the bar index (``*_for`` below), so
the test rebuilds the expected state of any ``last_bar``.

Each bar ``b``: a market order ``m{b}`` (a fraction of the cash) fills at once; a limit order ``l{b}``
is accepted and, at bar ``b + 1``, is filled (even ``b``) or cancelled (odd ``b``) — an order whose
state is upserted over two bars.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import sys
from typing import Any

from adapters.state import SqliteStateStore
from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord, SessionStatus
from gpt_trader_core.domain.specs import DataSource, FeedSpec, RiskSpec
from gpt_trader_core.domain.trading import Fill, Order, OrderSide, OrderState, OrderStatus, OrderType, Position
from gpt_trader_core.errors import NotFoundError

SESSION = "paper-durable"
T0 = dt.datetime(2024, 1, 2, 9, 30)


def time_of(bar: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=bar)


def price_of(bar: int) -> float:
    return 100.0 + 5.0 * math.sin(bar / 7) + bar * 0.01


def session_for(bar: int) -> SessionRecord:
    return SessionRecord(
        id=SESSION,
        created_at=T0,
        strategy="sma_cross",
        params={"fast": 5, "slow": 20, "band": (0.5, 1.5)},
        symbols=("AAPL", "MSFT"),
        mode="paper",
        capital=100_000.0,
        config={"commission": 0.001, "slippage": {"bps": 2.5}},
        feed=FeedSpec("replay", "1m", start=T0, source=DataSource("synthetic", seed=7)),
        status=SessionStatus.RUNNING,
        last_bar=bar,
        last_time=time_of(bar),
        cash=100_000.0 - bar * 3.25,
        equity=100_000.0 + 40.0 * math.sin(bar),
        updated_at=time_of(bar) + dt.timedelta(seconds=1),
        risk=RiskSpec(max_position_pct=50.0),
    )


def _market(bar: int) -> Order:
    return Order("AAPL", OrderSide.BUY if bar % 2 == 0 else OrderSide.SELL, 0.0, client_order_id=f"m{bar}",
                 created_at=time_of(bar), fraction=0.1, reduce_only=bar % 2 == 1)  # fmt: skip


def _limit(bar: int) -> Order:
    return Order("MSFT", OrderSide.BUY, 3.0 + bar % 5, OrderType.LIMIT, limit_price=round(price_of(bar) - 1, 2),
                 client_order_id=f"l{bar}", created_at=time_of(bar))  # fmt: skip


def orders_for(bar: int) -> list[OrderState]:
    """The order states bar ``bar`` commits: the previous limit order's outcome, then two new orders."""
    states = []
    if bar > 0:
        states.append(final_limit_state(bar - 1))
    price = price_of(bar)
    states.append(OrderState(_market(bar), OrderStatus.FILLED, filled_quantity=10.0 + bar % 3, average_price=price,
                             commission=0.001 * price, updated_at=time_of(bar)))  # fmt: skip
    states.append(OrderState(_limit(bar), OrderStatus.ACCEPTED, updated_at=time_of(bar)))
    return states


def final_limit_state(bar: int) -> OrderState:
    """``l{bar}`` as bar ``bar + 1`` leaves it."""
    order = _limit(bar)
    if bar % 2 == 0:
        return OrderState(order, OrderStatus.FILLED, filled_quantity=order.quantity,
                          average_price=order.limit_price, commission=0.01, updated_at=time_of(bar + 1))  # fmt: skip
    return OrderState(order, OrderStatus.CANCELLED, reason="expired", updated_at=time_of(bar + 1))


def fills_for(bar: int) -> list[Fill]:
    market = orders_for(bar)[-2]
    fills = [
        Fill("AAPL", market.order.side, market.filled_quantity, price_of(bar), market.commission, bar, time_of(bar),
             f"m{bar}", f"m{bar}:1", realized_pnl=0.0 if bar % 2 == 0 else 1.5 * bar),
    ]  # fmt: skip
    if bar > 0 and (bar - 1) % 2 == 0:
        limit = final_limit_state(bar - 1)
        fills.append(Fill("MSFT", OrderSide.BUY, limit.filled_quantity, limit.average_price or math.nan, 0.01, bar,
                          time_of(bar), f"l{bar - 1}", f"l{bar - 1}:1"))  # fmt: skip
    return fills


def positions_for(bar: int) -> list[Position]:
    positions = [Position("MSFT", 3.0 * (bar // 2 + 1), price_of(bar // 2), bar // 2, time_of(bar // 2))]
    if bar % 2 == 0:
        positions.append(Position("AAPL", 10.0 + bar % 3, price_of(bar), bar, time_of(bar)))
    return positions


def equity_for(bar: int) -> EquitySnapshot:
    session = session_for(bar)
    return EquitySnapshot(bar, time_of(bar), session.cash, session.equity)


async def commit(store: Any, bar: int) -> None:
    await store.commit_bar(session_for(bar), orders_for(bar), fills_for(bar), positions_for(bar), equity_for(bar))


def open_store(target: str) -> Any:
    """A SqliteStateStore on a file path, or a PostgresStateStore on a ``postgresql://`` URL."""
    if target.startswith("postgresql://"):
        from adapters.state.postgres import PostgresStateStore

        return PostgresStateStore.from_url(target)
    return SqliteStateStore(target)


async def main(path: str) -> None:
    store = open_store(path)
    await store.open()
    try:
        start = (await store.get_session(SESSION)).last_bar  # re-commit the last stored bar, as after a crash
    except NotFoundError:
        start = 0
    for bar in itertools.count(start):
        await commit(store, bar)
        sys.stdout.write(f"B {bar}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
