"""The trading engine: one session, bar by bar.

For each new time step: let the broker fill what is pending at this bar (the simulated broker uses
the backtest's fill model), ask the strategy — the very code the backtest runs — about the newest
bar, turn its decision into orders (close the position, then open the new one sized at the fill,
exactly as the backtest does), check them against risk limits, submit them with deterministic
client order ids, commit everything the bar produced — its events included (the outbox) — in one
transaction, and only then publish the events (``OutboxRelay``); the session's start and end events
are stored the same way, with its claim and its final status. A crash at any point leaves either
the whole bar stored or none of it; on restart the engine publishes the events its previous holder
committed but did not publish, rebuilds the broker from the stored orders and fills, replays the
history silently and resumes at the first uncommitted bar, re-deriving the same orders (same ids, so
nothing is duplicated).

Several processes: the store refuses a bar from a process that no longer owns the session
(``SessionNotHeldError``: another worker took it over, or it was stopped elsewhere), and the lease
keeper may ``abandon`` the engine; either way it ends without storing or announcing anything more —
the session's new holder continues from the last committed bar (and publishes its pending events).
An event bus that cannot be reached (Redis down) delays the bars' events, never the session: they
wait in the outbox and go out, in order, once it is back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.context import execution_id as execution_context
from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord, SessionStatus, utcnow
from gpt_trader_core.domain.trading import Fill, Order, OrderSide, OrderState, OrderStatus, Position
from gpt_trader_core.errors import SessionNotHeldError
from gpt_trader_core.ports import BarEvent, Broker, EventBus, MarketFeed, OutboxEvent, TradingStore
from gpt_trader_core.risk import Holding, PortfolioSnapshot, RiskLimits, check_order
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.trading.decisions import Decider
from gpt_trader_core.trading.outbox import OutboxRelay

log = logging.getLogger("gpt_trader.trading")


def _deciders(
    strategy: Strategy, feed: MarketFeed, symbols: Sequence[str], timeframe: str, long_only: bool
) -> dict[str, Decider]:
    """One ``Decider`` per symbol, fed the feed's warm-up history."""
    deciders = {}
    for symbol in symbols:
        decider = deciders[symbol] = Decider(strategy, long_only, symbol, timeframe)
        seed = feed.history(symbol)
        if seed is not None:
            for row in zip(
                seed.timestamps.tolist(),
                seed.open.tolist(),
                seed.high.tolist(),
                seed.low.tolist(),
                seed.close.tolist(),
                seed.volume.tolist(),
                strict=True,
            ):
                decider.push(*row)
    return deciders


@attrs.frozen
class EngineStats:
    bars: int
    seconds: float
    bar_to_fill_ms: tuple[float, ...]


class SessionEngine:
    """Runs one session until its feed ends or ``stop`` is set."""

    def __init__(
        self,
        session: SessionRecord,
        strategy: Strategy,
        feed: MarketFeed,
        broker: Broker,
        store: TradingStore,
        bus: EventBus,
        *,
        timeframe: str = "1d",
        risk_limits: RiskLimits | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.session = session
        self.strategy = strategy
        self.feed = feed
        self.broker = broker
        self.store = store
        self.bus = bus
        self.config = BacktestConfig(**session.config)
        self.timeframe = timeframe
        self.risk_limits = risk_limits
        self.clock = clock
        self.topic = f"session:{session.id}"
        self.latencies: list[float] = []
        self.peak_equity = session.capital
        self.day_start_equity = session.capital
        self._stop_requested: str | None = None
        self._external: list[Order] = []
        self._flat = False
        self._day: Any = None
        self._last_equity = session.equity or session.capital
        self.last_prices: dict[str, float] = {}
        self._abandoned = False
        self.outbox = OutboxRelay(session.id, store, bus)
        self._staged: list[OutboxEvent] = []  # the current bar's events, committed with it

    def abandon(self) -> None:
        """Another process holds the session now: end after the current bar, storing nothing more."""
        self._abandoned = True

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    def enqueue(self, orders: Sequence[Order]) -> None:
        """Orders from outside the strategy (a rebalance): submitted at the next bar, committed with it."""
        self._external.extend(orders)

    def _stage(self, type_: str, data: Mapping[str, Any]) -> None:
        """An event of the current bar: stored with the bar, published once it is stored."""
        self._staged.append(self.outbox.event(self.topic, type_, {"session_id": self.session.id, **data}))

    async def run(self, stop: asyncio.Event) -> SessionRecord:
        execution_context.set(self.session.id)  # logs of this session's task carry its id
        symbols = list(self.session.symbols)
        deciders = _deciders(self.strategy, self.feed, symbols, self.timeframe, self.config.mode == "long_only")
        await self.broker.reconcile(
            await self.store.list_orders(self.session.id), await self.store.list_fills(self.session.id)
        )
        for equity in (await self.store.list_equity(self.session.id))[-1:]:
            self.peak_equity = max(self.peak_equity, equity.equity)
        await self.outbox.recover()  # first: what the previous holder committed comes before our events
        resume_at = self.session.last_bar + 1
        stop_after = self.session.feed.stop_after  # bars to trade, then stop (resumable)
        status = SessionStatus.FINISHED
        try:
            # The start, through the outbox: stored (while this process still holds the session) before
            # it is published, so it goes out once, after what was pending and before the first bar.
            started = await self.outbox.swap(
                self.session, self.session, "session_started", {"resume_at": resume_at, "symbols": symbols}
            )
            if started is None:
                raise SessionNotHeldError(f"session {self.session.id} changed before it started here")
            self.outbox.committed([started])
            await self.outbox.publish()
            async for step in self.feed.stream(symbols, resume_at):
                index = step[0].index
                if index < resume_at:  # already committed before a restart: history only
                    for bar in step:
                        deciders[bar.symbol].push(bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume)
                    continue
                if self._abandoned:
                    break
                if stop.is_set():
                    status = SessionStatus.STOPPED
                    break
                await self._step(step, deciders)
                if self._flat:  # an emergency stop has flattened the account
                    status = SessionStatus.STOPPED
                    break
                if stop_after is not None and index + 1 >= stop_after:
                    status = SessionStatus.STOPPED
                    break
        except SessionNotHeldError:
            self._abandoned = True
        except Exception as exc:
            status = SessionStatus.FAILED
            self.session = attrs.evolve(self.session, error=f"{type(exc).__name__}: {exc}")
            log.exception("session %s failed", self.session.id)
        if self._abandoned:
            log.info(
                "session %s: held by another process now; stopped here at bar %d",
                self.session.id,
                self.session.last_bar,
            )
            return await self.store.get_session(self.session.id)
        committed = self.session
        self.session = attrs.evolve(
            self.session, status=status, updated_at=utcnow(), error=self._stop_requested or self.session.error
        )
        # The end is stored with the final status, after the last bar's events, and published after them.
        ended = await self.outbox.swap(
            self.session,
            committed,
            f"session_{status.value}",
            {"last_bar": self.session.last_bar, "equity": self.session.equity},
        )
        if ended is None:  # taken over or stopped meanwhile
            log.info("session %s: held by another process now; its end is not stored here", self.session.id)
            return await self.store.get_session(self.session.id)
        self.outbox.committed([ended])
        try:
            await self.outbox.flush()
        except Exception as exc:  # they stay pending: whoever finds them (recover) publishes them, once
            log.warning("session %s: its last events stay in the outbox: %s", self.session.id, exc)
        return self.session

    async def _step(self, step: Sequence[BarEvent], deciders: Mapping[str, Decider]) -> None:
        received = self.clock()
        self._staged = []
        changed: dict[str, OrderState] = {}
        fills: list[Fill] = []
        for bar in step:
            states, new_fills = await self.broker.sync(bar)
            changed.update({s.client_order_id: s for s in states})
            fills.extend(new_fills)
            deciders[bar.symbol].push(bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume)
            self.last_prices[bar.symbol] = bar.close
        account = await self.broker.account()
        held = {p.symbol: p for p in account.positions}
        fraction = 1.0 / len(step)
        alert = self._guard(account.equity, step[0])
        flattening = self._stop_requested is not None
        if flattening:  # emergency stop: only flatten orders until nothing is held
            for position in account.positions:
                side = OrderSide.SELL if position.size > 0 else OrderSide.BUY
                order_id = f"{self.session.id}:{position.symbol}:flatten"
                state = await self.broker.submit(
                    Order(position.symbol, side, abs(position.size), reduce_only=True, client_order_id=order_id)
                )
                changed[state.client_order_id] = state
        for bar in step if not flattening else ():
            decision = deciders[bar.symbol].decision()
            if not decision.act:
                continue
            for wanted in self._orders_for(bar, decision.want, decision.fraction * fraction, held.get(bar.symbol)):
                order = await self._risk_checked(wanted, bar, account)
                if order is None:
                    continue
                state = await self.broker.submit(order)
                changed[state.client_order_id] = state
        external, self._external = self._external, []
        for order in external:
            state = await self.broker.submit(order)
            changed[state.client_order_id] = state
        account = await self.broker.account()
        last = step[0]
        self.peak_equity = max(self.peak_equity, account.equity)
        snapshot = EquitySnapshot(last.index, last.time, account.cash, account.equity)
        self.session = attrs.evolve(
            self.session,
            last_bar=last.index,
            last_time=last.time,
            cash=account.cash,
            equity=account.equity,
            updated_at=utcnow(),
        )
        for bar in step:
            self._stage(
                "bar_processed",
                {
                    "symbol": bar.symbol,
                    "bar": bar.index,
                    "time": bar.time.isoformat(),
                    "open": bar.open,
                    "high": bar.high,
                    "low": bar.low,
                    "close": bar.close,
                    "volume": bar.volume,
                },
            )
        for state in changed.values():
            self._stage(f"order_{state.status.value}", _order_data(state))
        for fill in fills:
            self._stage("fill_recorded", _fill_data(fill))
        if fills:
            self._stage("position_changed", {"positions": [_position_data(p) for p in account.positions]})
        self._stage(
            "portfolio_updated",
            {"bar": last.index, "time": last.time.isoformat(), "cash": account.cash, "equity": account.equity},
        )
        if alert is not None:
            self._stage("risk_alert", {"action": "emergency_stop", "reasons": [alert]})
        events, self._staged = self._staged, []
        sent = dict(self.outbox.sent)
        await self.store.commit_bar(
            self.session, list(changed.values()), fills, list(account.positions), snapshot, events, sent
        )
        # Committed: now the world may hear about it.
        self.outbox.stored(sent)
        self.outbox.committed(events)
        await self.outbox.publish()
        done = self.clock()
        self.latencies.extend((done - received) * 1000 for _ in fills)
        if flattening and not account.positions and not await self.broker.open_orders():
            self._flat = True

    def _orders_for(self, bar: BarEvent, want: float, fraction: float, held: Position | None) -> list[Order]:
        """The backtest's rule: close what is held, then open the wanted side sized at the fill."""
        orders = []
        prefix = f"{self.session.id}:{bar.symbol}:{bar.index}"
        if held is not None and held.size:
            side = OrderSide.SELL if held.size > 0 else OrderSide.BUY
            orders.append(
                Order(
                    bar.symbol,
                    side,
                    abs(held.size),
                    client_order_id=f"{prefix}:close",
                    created_at=utcnow(),
                    reduce_only=True,
                )
            )
        if want:
            side = OrderSide.BUY if want > 0 else OrderSide.SELL
            orders.append(
                Order(bar.symbol, side, 0.0, client_order_id=f"{prefix}:open", created_at=utcnow(), fraction=fraction)
            )
        return orders

    async def _risk_checked(self, order: Order, bar: BarEvent, account: Any) -> Order | None:
        if self.risk_limits is None or order.reduce_only:
            return order
        positions = {
            p.symbol: Holding(p.size, bar.close if p.symbol == bar.symbol else p.entry_price) for p in account.positions
        }
        snapshot = PortfolioSnapshot(
            cash=account.cash,
            positions=positions,
            equity=account.equity,
            day_start_equity=self.day_start_equity,
            peak_equity=self.peak_equity,
        )
        estimate = math.floor(account.cash * (order.fraction or 0) / bar.close) if order.fraction else order.quantity
        if estimate <= 0:
            return order
        decision = check_order(
            self.risk_limits, snapshot, attrs.evolve(order, quantity=estimate, fraction=None), bar.close
        )
        if decision.action == "allow":
            return order
        self._stage(
            "risk_alert", {"order": order.client_order_id, "action": decision.action, "reasons": list(decision.reasons)}
        )
        if decision.action == "reject":
            return None
        return attrs.evolve(order, quantity=float(decision.quantity), fraction=None)

    def _guard(self, equity: float, bar: BarEvent) -> str | None:
        """Emergency stop: beyond the risk limits' drawdown or daily loss (since the last close of the
        previous day), start flattening. Returns the breach when it is new."""
        limits = self.risk_limits
        day = bar.time.date()
        if self._day != day:
            self._day = day
            self.day_start_equity = self._last_equity
        self._last_equity = equity
        if limits is None or self._stop_requested is not None:
            return None
        drawdown = (1 - equity / self.peak_equity) * 100 if self.peak_equity else 0.0
        daily = (1 - equity / self.day_start_equity) * 100 if self.day_start_equity else 0.0
        breach = None
        if drawdown > limits.max_drawdown_pct:
            breach = f"drawdown {drawdown:.2f} % beyond the limit {limits.max_drawdown_pct:g} %"
        elif daily > limits.max_daily_loss_pct:
            breach = f"daily loss {daily:.2f} % beyond the limit {limits.max_daily_loss_pct:g} %"
        if breach is not None:
            self._stop_requested = f"emergency stop: {breach}"
        return breach


def _order_data(state: OrderState) -> dict[str, Any]:
    o = state.order
    return {
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "quantity": o.quantity,
        "fraction": o.fraction,
        "status": state.status.value,
        "filled_quantity": state.filled_quantity,
        "average_price": state.average_price,
        "reason": state.reason,
    }


def _fill_data(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "commission": fill.commission,
        "bar": fill.bar,
        "time": fill.time.isoformat(),
        "realized_pnl": fill.realized_pnl,
    }


def _position_data(p: Position) -> dict[str, Any]:
    return {"symbol": p.symbol, "size": p.size, "entry_price": p.entry_price, "entry_bar": p.entry_bar}


def order_status_open(state: OrderState) -> bool:
    return state.status in (OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
