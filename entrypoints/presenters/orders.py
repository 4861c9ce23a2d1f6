"""A session's orders as the API shows them: the fields of the WebSocket's ``order`` messages (so a client
merges both by ``client_order_id``) plus what only the store keeps (type, prices, commission, times)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs

from gpt_trader_core.domain.trading import OrderState


@attrs.frozen
class OrderView:
    """An order and what has happened to it so far. ``quantity`` is 0 while a ``fraction`` order (spend that
    fraction of the cash) has not filled; ``filled_quantity`` and ``average_price`` say what did."""

    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop"]
    quantity: float
    fraction: float | None
    limit_price: float | None
    stop_price: float | None
    reduce_only: bool
    status: Literal["new", "accepted", "partially_filled", "filled", "cancelled", "rejected"]
    filled_quantity: float
    average_price: float | None
    commission: float
    reason: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@attrs.frozen
class OrderPage:
    """One page of a session's orders, newest first."""

    items: tuple[OrderView, ...]
    next_cursor: str | None


def order_view(state: OrderState) -> OrderView:
    o = state.order
    return OrderView(
        state.client_order_id,
        o.symbol,
        o.side.value,
        o.type.value,
        o.quantity,
        o.fraction,
        o.limit_price,
        o.stop_price,
        o.reduce_only,
        state.status.value,
        state.filled_quantity,
        state.average_price,
        state.commission,
        state.reason,
        o.created_at,
        state.updated_at,
    )
