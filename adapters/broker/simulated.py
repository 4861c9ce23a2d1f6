"""A simulated broker with the backtest's fill model.

Market orders fill at the open of the first bar after submission; limit orders when the bar trades
through the limit (at the open if it gaps past it); stop orders when the bar touches the stop (at the
open if it gaps). Commission and slippage come from ``FillModel`` — the same arithmetic as the
backtest engine, so a replayed paper session reproduces a backtest's fills exactly. Orders that
give a ``fraction`` are sized at fill time from the cash then available, like the backtest's
all-in entries. Optional: a cap on the share of each bar's volume an order may take (partial
fills), risk limits checked on submission, and a set of tradable symbols.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable, Sequence

import attrs

from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.domain.trading import (
    Account,
    Fill,
    Order,
    OrderSide,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
)
from gpt_trader_core.errors import NotFoundError
from gpt_trader_core.ports import BarEvent
from gpt_trader_core.risk import Holding, PortfolioSnapshot, RiskLimits, check_order


@attrs.define
class _Holding:
    size: float = 0.0
    entry: float = 0.0
    entry_bar: int = 0
    entry_time: dt.datetime | None = None


class SimulatedBroker:
    """An in-process broker account. ``cash`` is the starting cash."""

    def __init__(
        self,
        cash: float,
        fill_model: FillModel | None = None,
        *,
        symbols: Iterable[str] | None = None,
        risk_limits: RiskLimits | None = None,
        max_volume_fraction: float | None = None,
    ) -> None:
        self.initial_cash = float(cash)
        self.fills_model = fill_model or FillModel()
        self.symbols = {s.upper() for s in symbols} if symbols is not None else None
        self.risk_limits = risk_limits
        self.max_volume_fraction = max_volume_fraction
        self._reset()

    def _reset(self) -> None:
        self.cash = self.initial_cash
        self.realized = 0.0
        self._holdings: dict[str, _Holding] = {}
        self._orders: dict[str, OrderState] = {}
        self._pending: list[str] = []
        self._fill_counts: dict[str, int] = {}
        self._prices: dict[str, float] = {}

    @property
    def name(self) -> str:
        return "simulated"

    # -- orders --------------------------------------------------------------------------------

    async def submit(self, order: Order) -> OrderState:
        order_id = order.client_order_id or f"sim-{uuid.uuid4().hex[:16]}"
        if order_id in self._orders:  # idempotent: the same id is the same order
            return self._orders[order_id]
        order = attrs.evolve(order, client_order_id=order_id, created_at=order.created_at or utcnow())
        reason = self._rejection(order)
        state = OrderState(
            order, OrderStatus.REJECTED if reason else OrderStatus.ACCEPTED, reason=reason, updated_at=utcnow()
        )
        self._orders[order_id] = state
        if not reason:
            self._pending.append(order_id)
        return state

    def _rejection(self, order: Order) -> str | None:
        symbol = order.symbol.upper()
        if self.symbols is not None and symbol not in self.symbols:
            return f"unknown symbol {order.symbol!r}; this account trades {', '.join(sorted(self.symbols))}"
        if order.fraction is None and not order.quantity > 0:
            return f"quantity must be positive, got {order.quantity}"
        if order.fraction is not None and not 0 < order.fraction <= 1:
            return f"fraction must be in (0, 1], got {order.fraction}"
        if order.type is OrderType.LIMIT and not order.limit_price:
            return "a limit order needs a limit price"
        if order.type is OrderType.STOP and not order.stop_price:
            return "a stop order needs a stop price"
        price = self._prices.get(symbol)
        holding = self._holdings.get(symbol, _Holding())
        if order.reduce_only and (holding.size == 0 or math.copysign(1, holding.size) == order.sign):
            return f"reduce-only order but no {'short' if order.sign > 0 else 'long'} position in {symbol} to reduce"
        increases = holding.size == 0 or math.copysign(1, holding.size) == order.sign
        if price is not None and increases and order.fraction is None:
            cost = order.quantity * self.fills_model.entry_price(order.sign, price)
            cost += self.fills_model.commission_for(order.quantity, price)
            if cost > self.cash:
                return (
                    f"insufficient cash: {order.quantity:g} {symbol} at ~{price:.4f} needs {cost:,.2f}, "
                    f"cash is {self.cash:,.2f}"
                )
        if self.risk_limits is not None and price is not None and not order.reduce_only:
            quantity = order.quantity if order.fraction is None else math.floor(self.cash * order.fraction / price)
            if quantity > 0:
                decision = check_order(
                    self.risk_limits, self._snapshot(), attrs.evolve(order, quantity=quantity), price
                )
                if decision.action == "reject":
                    return "risk limit: " + "; ".join(decision.reasons)
        return None

    def _snapshot(self) -> PortfolioSnapshot:
        positions = {s: Holding(h.size, self._prices.get(s, h.entry)) for s, h in self._holdings.items() if h.size}
        return PortfolioSnapshot(cash=self.cash, positions=positions)

    async def cancel(self, client_order_id: str) -> OrderState:
        state = await self.get_order(client_order_id)
        if not state.status.open:
            return state
        state = attrs.evolve(state, status=OrderStatus.CANCELLED, reason="cancelled on request", updated_at=utcnow())
        self._orders[client_order_id] = state
        self._pending.remove(client_order_id)
        return state

    async def get_order(self, client_order_id: str) -> OrderState:
        try:
            return self._orders[client_order_id]
        except KeyError:
            raise NotFoundError(f"no order with client order id {client_order_id!r}") from None

    async def open_orders(self) -> list[OrderState]:
        return [self._orders[i] for i in self._pending]

    async def account(self) -> Account:
        positions = []
        unrealized = 0.0
        for symbol, h in self._holdings.items():
            if h.size:
                positions.append(
                    Position(symbol, h.size, h.entry, h.entry_bar, h.entry_time or dt.datetime(1970, 1, 1))
                )
                unrealized += h.size * (self._prices.get(symbol, h.entry) - h.entry)
        return Account(self.cash, self.cash + unrealized, tuple(positions), self.realized)

    # -- the market moves ----------------------------------------------------------------------

    async def sync(self, bar: BarEvent) -> tuple[list[OrderState], list[Fill]]:
        symbol = bar.symbol.upper()
        changed: list[OrderState] = []
        fills: list[Fill] = []
        volume_left = (
            math.inf if self.max_volume_fraction is None else math.floor(bar.volume * self.max_volume_fraction)
        )
        for order_id in list(self._pending):
            state = self._orders[order_id]
            order = state.order
            if order.symbol.upper() != symbol:
                continue
            price = self._fill_price(order, bar)
            if price is None:
                continue
            state, new_fills = self._execute(state, price, bar, volume_left)
            volume_left -= sum(f.quantity for f in new_fills)
            fills.extend(new_fills)
            self._orders[order_id] = state
            if not state.status.open:
                self._pending.remove(order_id)
            changed.append(state)
        self._prices[symbol] = bar.close
        return changed, fills

    def _fill_price(self, order: Order, bar: BarEvent) -> float | None:
        buy = order.side is OrderSide.BUY
        if order.type is OrderType.MARKET:
            return bar.open
        if order.type is OrderType.LIMIT:
            limit = float(order.limit_price or 0)
            if buy and bar.low <= limit:
                return min(bar.open, limit)
            if not buy and bar.high >= limit:
                return max(bar.open, limit)
            return None
        stop = float(order.stop_price or 0)
        if buy and bar.high >= stop:
            return max(bar.open, stop)
        if not buy and bar.low <= stop:
            return min(bar.open, stop)
        return None

    def _execute(
        self, state: OrderState, price: float, bar: BarEvent, volume_left: float
    ) -> tuple[OrderState, list[Fill]]:
        order = state.order
        symbol = order.symbol.upper()
        holding = self._holdings.setdefault(symbol, _Holding())
        side = order.sign
        if order.fraction is not None:
            units = self.fills_model.entry_units(side, order.fraction, price, self.cash)
            if not units:
                reason = f"insufficient cash at fill: {self.cash:,.2f} buys no {symbol} at {price:.4f}"
                return attrs.evolve(state, status=OrderStatus.REJECTED, reason=reason, updated_at=utcnow()), []
        else:
            units = order.quantity - state.filled_quantity
        if order.reduce_only:
            units = min(units, abs(holding.size))
        units = min(units, volume_left)
        fills = []
        while units > 0:  # a reversal fills as two fills: the close, then the new position
            reducing = holding.size != 0 and math.copysign(1, holding.size) != side
            part = min(units, abs(holding.size)) if reducing else units
            effective, commission, realized = self._apply(holding, side, part, price, bar)
            count = self._fill_counts.get(order.client_order_id or "", 0) + 1
            self._fill_counts[order.client_order_id or ""] = count
            fills.append(
                Fill(
                    symbol,
                    order.side,
                    part,
                    effective,
                    commission,
                    bar.index,
                    bar.time,
                    order.client_order_id,
                    f"{order.client_order_id}:{count}",
                    realized,
                )
            )
            units -= part
        if not fills:
            return state, []
        filled = state.filled_quantity + sum(f.quantity for f in fills)
        notional = sum(f.price * f.quantity for f in fills) + (state.average_price or 0.0) * state.filled_quantity
        done = order.fraction is not None or filled >= order.quantity or (order.reduce_only and holding.size == 0)
        new_state = attrs.evolve(
            state,
            status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            filled_quantity=filled,
            average_price=notional / filled,
            commission=state.commission + sum(f.commission for f in fills),
            updated_at=utcnow(),
        )
        return new_state, fills

    def _apply(self, h: _Holding, side: float, units: float, price: float, bar: BarEvent) -> tuple[float, float, float]:
        """Update cash and the holding; returns (effective price, commission, realised P&L)."""
        fm = self.fills_model
        if h.size == 0 or math.copysign(1, h.size) == side:  # open or add: the backtest's entry arithmetic
            adjusted = fm.entry_price(side, price)
            commission = fm.commission_for(units, adjusted)
            total = abs(h.size) + units
            h.entry = adjusted if h.size == 0 else (h.entry * abs(h.size) + adjusted * units) / total
            if h.size == 0:
                h.entry_bar, h.entry_time = bar.index, bar.time
            h.size = math.copysign(total, side)
            self.cash -= commission
            return adjusted, commission, 0.0
        exit_price = fm.exit_price(h.size, price)  # reduce or close: the backtest's exit arithmetic
        size = math.copysign(units, h.size)
        commission = fm.commission_for(size, exit_price)
        gross = size * (exit_price - h.entry)
        self.cash += gross - commission
        self.realized += gross - commission
        h.size -= size
        if h.size == 0:
            h.entry = 0.0
        return exit_price, commission, gross - commission

    # -- restart -------------------------------------------------------------------------------

    async def reconcile(self, orders: Sequence[OrderState], fills: Sequence[Fill]) -> None:
        """Rebuild the account from the stored fills (replayed with the same arithmetic) and resume
        the stored open orders, so a restarted process continues exactly where it stopped."""
        self._reset()
        for fill in sorted(fills, key=lambda f: (f.bar, f.fill_id or "")):
            holding = self._holdings.setdefault(fill.symbol.upper(), _Holding())
            side = 1.0 if fill.side is OrderSide.BUY else -1.0
            if holding.size == 0 or math.copysign(1, holding.size) == side:
                total = abs(holding.size) + fill.quantity
                holding.entry = (
                    fill.price
                    if holding.size == 0
                    else ((holding.entry * abs(holding.size) + fill.price * fill.quantity) / total)
                )
                if holding.size == 0:
                    holding.entry_bar, holding.entry_time = fill.bar, fill.time
                holding.size = math.copysign(total, side)
                self.cash -= fill.commission
            else:
                size = math.copysign(fill.quantity, holding.size)
                gross = size * (fill.price - holding.entry)
                self.cash += gross - fill.commission
                self.realized += gross - fill.commission
                holding.size -= size
                if holding.size == 0:
                    holding.entry = 0.0
            count = self._fill_counts.get(fill.client_order_id or "", 0)
            self._fill_counts[fill.client_order_id or ""] = count + 1
            self._prices[fill.symbol.upper()] = fill.price
        for state in orders:
            self._orders[state.client_order_id] = state
            if state.status.open:
                self._pending.append(state.client_order_id)

    def mark(self, symbol: str, price: float) -> None:
        """Set the last price of a symbol (e.g. from history before the first live bar)."""
        self._prices[symbol.upper()] = price
