"""Orders, fills, trades and positions — the vocabulary shared by backtest, paper and live trading."""

from __future__ import annotations

import datetime as dt
import enum

import attrs


class OrderSide(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class ExitReason(enum.StrEnum):
    """Why a trade was closed."""

    SIGNAL = "signal"  # the strategy's target position changed
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"
    END_OF_DATA = "end_of_data"  # closed because the backtest ended (close_at_end=True)
    OUT_OF_MONEY = "out_of_money"


@attrs.frozen
class Order:
    """An instruction to trade ``quantity`` units (always positive) of ``symbol``.

    Instead of a quantity an order may give ``fraction``: spend that fraction of the cash available
    when it fills (the backtest's "all-in" entry; a live adapter maps it to a notional order).
    ``reduce_only`` orders only ever shrink a position. ``client_order_id`` makes submission
    idempotent.
    """

    symbol: str
    side: OrderSide
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    client_order_id: str | None = None
    created_at: dt.datetime | None = None
    fraction: float | None = None
    reduce_only: bool = False

    @property
    def sign(self) -> float:
        return 1.0 if self.side is OrderSide.BUY else -1.0


class OrderStatus(enum.StrEnum):
    NEW = "new"  # recorded, not yet acknowledged by the broker
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@attrs.frozen
class OrderState:
    """An order and what has happened to it so far."""

    order: Order
    status: OrderStatus
    filled_quantity: float = 0.0
    average_price: float | None = None
    commission: float = 0.0
    reason: str | None = None
    updated_at: dt.datetime | None = None

    @property
    def client_order_id(self) -> str:
        return self.order.client_order_id or ""


@attrs.frozen
class Account:
    """Cash, marked-to-market equity and open positions of a trading account."""

    cash: float
    equity: float
    positions: tuple[Position, ...] = ()
    realized_pnl: float = 0.0


@attrs.frozen
class Fill:
    """An executed (part of an) order. ``fill_id`` is unique (order id + sequence)."""

    symbol: str
    side: OrderSide
    quantity: float
    price: float
    commission: float
    bar: int
    time: dt.datetime
    client_order_id: str | None = None
    fill_id: str | None = None
    realized_pnl: float = 0.0


@attrs.frozen
class Trade:
    """A closed round trip. ``size`` is signed: positive long, negative short.

    ``pnl = size * (exit_price - entry_price) - commission`` and
    ``return_pct = (sign(size) * (exit_price / entry_price - 1) - commission / (|size| * entry_price)) * 100``
    in percent (5.0 = 5 %), like every ``*_pct`` of gpt-trader — in the Python API, JSON, tables,
    CSV and stored records alike (backtesting.py's ``ReturnPct`` is the same return as a fraction).
    """

    symbol: str
    size: float
    entry_bar: int
    exit_bar: int
    entry_time: dt.datetime
    exit_time: dt.datetime
    entry_price: float
    exit_price: float
    pnl: float
    return_pct: float
    commission: float
    exit_reason: ExitReason = ExitReason.SIGNAL

    @property
    def duration(self) -> dt.timedelta:
        return self.exit_time - self.entry_time

    @property
    def is_long(self) -> bool:
        return self.size > 0


@attrs.frozen
class Position:
    """An open position: ``size`` signed units bought/sold at ``entry_price``."""

    symbol: str
    size: float
    entry_price: float
    entry_bar: int
    entry_time: dt.datetime

    def unrealized_pnl(self, price: float) -> float:
        return self.size * (price - self.entry_price)

    def market_value(self, price: float) -> float:
        return abs(self.size) * price
