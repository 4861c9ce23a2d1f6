"""The trading-sessions use case: start, stop, list and inspect paper (or live) sessions; recover
the sessions a crashed process left running."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import TradeLog
from gpt_trader_core.backtesting.stats import compute_stats
from gpt_trader_core.domain.charts import BacktestChart, ChartRenderer, HtmlChart, backtest_chart, show, write_report
from gpt_trader_core.domain.records import EquitySnapshot, SessionRecord, SessionStatus, utcnow
from gpt_trader_core.domain.results import format_value
from gpt_trader_core.domain.specs import FeedSpec, RiskSpec
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.domain.trading import Fill, Order, OrderSide, OrderState, Position
from gpt_trader_core.errors import ConflictError, GptTraderError, InvalidParameterError
from gpt_trader_core.portfolio import RebalancePlan, classify_tier, rebalance_plan
from gpt_trader_core.ports import (
    BrokerFactory,
    EventBus,
    FeedFactory,
    SessionLeases,
    Subscription,
    TradingStore,
)
from gpt_trader_core.risk import RiskLimits
from gpt_trader_core.services.backtest import new_id
from gpt_trader_core.services.leases import LocalLeases as LocalLeases  # its home until now: still exported
from gpt_trader_core.services.session_reads import SessionReads
from gpt_trader_core.strategy.registry import StrategyRegistry
from gpt_trader_core.trading.engine import SessionEngine
from gpt_trader_core.trading.outbox import OutboxRelay, publish_pending

log = logging.getLogger("gpt_trader.sessions")


def _spec(cls: type, value: Any, what: str) -> Any:
    """A ``FeedSpec``/``RiskSpec`` from itself or from a mapping of its fields (the Python API's dicts)."""
    if value is None or isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise InvalidParameterError(f"{what} must be a {cls.__name__} or a mapping of its fields, got {value!r}")
    fields = {field.name for field in attrs.fields(cls)}
    unknown = sorted(set(value) - fields)
    if unknown:
        raise InvalidParameterError(f"{what}: unknown field(s) {', '.join(unknown)}; use {', '.join(sorted(fields))}")
    return cls(**value)


def _feed_spec(value: Any) -> FeedSpec:
    spec: FeedSpec = _spec(FeedSpec, value if value is not None else FeedSpec(), "feed")
    return spec


def _risk_spec(value: Any) -> RiskSpec | None:
    spec: RiskSpec | None = _spec(RiskSpec, value, "risk")
    return spec


@attrs.frozen
class SessionRequest:
    """Start ``strategy(**params)`` on ``symbols`` with ``capital``; ``feed`` describes the market
    feed (a ``FeedSpec``, or a mapping of its fields), ``config`` the fill model (commission,
    slippage, mode), ``risk`` optional risk limits (a ``RiskSpec`` or a mapping of its fields) that
    also arm the emergency stop."""

    strategy: str
    symbols: tuple[str, ...]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    capital: float = 10_000.0
    mode: str = "paper"
    feed: FeedSpec = attrs.field(factory=FeedSpec, converter=_feed_spec)
    config: BacktestConfig | None = None
    risk: RiskSpec | None = attrs.field(default=None, converter=_risk_spec)
    tier_aware: bool = True


@attrs.frozen
class Reconciliation:
    """Whether the stored session agrees with an account rebuilt from its stored orders and fills."""

    session_id: str
    ok: bool
    problems: tuple[str, ...]
    rebuilt_cash: float
    stored_cash: float
    positions: Mapping[str, float]
    open_orders: tuple[str, ...]
    orders: int
    fills: int


@attrs.frozen
class _RoundTrip:
    """A closed trade rebuilt from fills, as ``backtest_chart`` reads it (bars index the equity curve)."""

    size: float
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    pnl: float
    return_pct: float
    exit_reason: str = "signal"


@attrs.frozen
class SessionReport:
    """A session with its account, positions, recent fills and performance; ``equity`` (one snapshot per
    bar) and ``all_fills`` are what ``chart()`` / ``plot()`` / ``report(path)`` draw."""

    session: SessionRecord
    positions: tuple[Position, ...]
    fills: tuple[Fill, ...]
    orders: int
    performance: Mapping[str, Any]
    running: bool
    equity: tuple[EquitySnapshot, ...] = ()
    all_fills: tuple[Fill, ...] = ()

    @property
    def synthetic(self) -> bool:
        feed = self.session.feed
        return feed.kind == "synthetic" or (feed.source is not None and feed.source.kind == "synthetic")

    def chart(self) -> BacktestChart:
        """The session's equity and drawdown with its closed trades (rebuilt from fills), and its
        performance, as chart data — the same chart as a backtest's."""
        record = self.session
        if not self.equity:
            raise InvalidParameterError(f"session {record.id} has no bars yet: nothing to chart; try again later")
        curve = np.array([e.equity for e in self.equity], dtype=np.float64)
        peak = np.maximum.accumulate(curve)
        drawdown = np.where(peak > 0, 1.0 - curve / np.where(peak > 0, peak, 1.0), 0.0)
        first, last = self.equity[0].bar, len(curve) - 1
        log = round_trips(self.all_fills)
        trades = [
            _RoundTrip(
                size=float(log.size[i]),
                entry_bar=int(min(max(log.entry_bar[i] - first, 0), last)),
                exit_bar=int(min(max(log.exit_bar[i] - first, 0), last)),
                entry_price=float(log.entry_price[i]),
                exit_price=float(log.exit_price[i]),
                pnl=float(log.pnl[i]),
                return_pct=float(log.return_pct[i]) * 100.0,  # the log keeps a fraction
            )
            for i in range(len(log))
        ]
        return backtest_chart(
            title=f"paper session {record.id}: {record.strategy} on {', '.join(record.symbols)}",
            synthetic=self.synthetic,
            timestamps=np.array([np.datetime64(e.time.replace(tzinfo=None), "ns") for e in self.equity]),
            equity=curve,
            drawdown=drawdown,
            trades=trades,
            stats=[(key, format_value(value)) for key, value in self.performance.items()],
            source="session",
        )

    def plot(self, renderer: ChartRenderer | None = None) -> HtmlChart:
        """Interactive equity/drawdown/trades chart for a notebook (works offline)."""
        return show(self.chart(), renderer)

    def report(self, path: str | Path, renderer: ChartRenderer | None = None) -> Path:
        """Write one self-contained HTML report (performance, charts, trade list) to ``path``."""
        return write_report(self.chart(), path, renderer)


class TradingSessions:
    """Several sessions at once, each an asyncio task running a ``SessionEngine``."""

    def __init__(
        self,
        store: TradingStore,
        bus: EventBus,
        registry: StrategyRegistry,
        feeds: FeedFactory,
        brokers: BrokerFactory,
        leases: SessionLeases | None = None,
        *,
        command_timeout: float = 5.0,
    ) -> None:
        self._store = store
        self.command_timeout = command_timeout  # how long a command waits for the session's holder
        self._bus = bus
        self._registry = registry
        self._feeds = feeds
        self._brokers = brokers
        self._leases: SessionLeases = leases or LocalLeases()
        self._tasks: dict[str, asyncio.Task[SessionRecord]] = {}
        self._stops: dict[str, asyncio.Event] = {}
        self._engines: dict[str, SessionEngine] = {}

    def validate(self, request: SessionRequest) -> SessionRecord:
        if request.mode == "live":
            raise ConflictError(
                "live trading needs a live broker adapter, and none is configured; use --mode paper "
                "(a real broker adapter is a later release)"
            )
        if request.mode != "paper":
            raise InvalidParameterError(f"mode must be paper or live, got {request.mode!r}")
        if not request.symbols:
            raise InvalidParameterError("a session needs at least one symbol")
        symbols = tuple(dict.fromkeys(normalize_symbol(s) for s in request.symbols))
        if not request.capital > 0:
            raise InvalidParameterError(f"capital must be positive, got {request.capital}")
        strategy = self._registry.create(request.strategy, **request.params)
        if request.tier_aware:
            tier = classify_tier(request.capital).tier
            if strategy.name in self._registry and strategy.name not in tier.allowed_strategies:
                raise InvalidParameterError(
                    f"{strategy.name} is not allowed in the {tier.name} capital tier (capital {request.capital:,.0f}); "
                    f"allowed: {', '.join(tier.allowed_strategies)} — add capital or pass tier_aware=False"
                )
        if request.risk is not None:
            _limits(request.risk)  # validate now, not at the first bar
        config = request.config or BacktestConfig()
        config = attrs.evolve(config, cash=request.capital)
        return SessionRecord(
            id=new_id("ses"),
            created_at=utcnow(),
            strategy=strategy.name,
            params=dict(strategy.values),
            symbols=symbols,
            mode=request.mode,
            capital=float(request.capital),
            config=attrs.asdict(config),
            feed=request.feed,
            cash=float(request.capital),
            equity=float(request.capital),
            risk=request.risk,
            owner=self._leases.me,
        )

    def _engine(self, record: SessionRecord) -> SessionEngine:
        strategy = self._registry.create(record.strategy, **record.params)
        return SessionEngine(
            record,
            strategy,
            self._feeds(record),
            self._brokers(record),
            self._store,
            self._bus,
            timeframe=record.feed.bar_timeframe,
            risk_limits=_limits(record.risk) if record.risk else None,
        )

    async def _prepare(
        self, request: SessionRequest, before_start: Callable[[str], Awaitable[None]] | None = None
    ) -> tuple[SessionRecord, SessionEngine]:
        """A validated session on pinned data, saved with its engine built; a session whose data
        cannot be loaded is saved as failed with the reason, and the error raised. ``before_start``
        is awaited with the session's bus topic before anything is stored or started."""
        record = self.validate(request)
        if before_start is not None:
            await before_start(f"session:{record.id}")
        owner = await self._leases.acquire(record.id)
        if owner is None:  # a fresh id: nobody else can hold it
            raise ConflictError(f"session {record.id} is already held by another process")
        record = attrs.evolve(record, owner=owner)
        try:
            require = self._registry.create(record.strategy, **record.params).require_bars
            feed = await asyncio.to_thread(self._feeds.pin, record.feed, record.symbols, require)
            record = attrs.evolve(record, feed=feed)
            engine = await asyncio.to_thread(self._engine, record)
        except Exception as exc:
            await self._fail(record, exc, "failed to start")
            await self._release(record.id, owner)
            raise
        await self._store.save_session(record)
        return record, engine

    async def _fail(self, record: SessionRecord, exc: BaseException, what: str) -> None:
        reason = str(exc) if isinstance(exc, GptTraderError) else f"{type(exc).__name__}: {exc}"
        # the caller of start/run gets the error itself; a recovery has nobody else to tell
        log.log(
            logging.WARNING if what == "not recovered" else logging.INFO, "session %s %s: %s", record.id, what, reason
        )
        await self._store.save_session(
            attrs.evolve(record, status=SessionStatus.FAILED, error=f"{what}: {reason}", updated_at=utcnow())
        )

    async def start(
        self, request: SessionRequest, *, before_start: Callable[[str], Awaitable[None]] | None = None
    ) -> SessionRecord:
        """Create and start a session in the background; returns at once. ``before_start`` is awaited
        with its bus topic (``session:<id>``) first: where the caller records who started it, so the
        session's first event finds its owner."""
        record, engine = await self._prepare(request, before_start)
        self._launch(record, engine)
        return record

    def _launch(self, record: SessionRecord, engine: SessionEngine) -> None:
        stop = asyncio.Event()
        self._engines[record.id] = engine
        self._stops[record.id] = stop
        self._tasks[record.id] = asyncio.create_task(self._drive(record, engine, stop), name=f"session-{record.id}")

    async def _drive(self, record: SessionRecord, engine: SessionEngine, stop: asyncio.Event) -> SessionRecord:
        """Run ``engine`` while keeping the session's lease; release it when the engine ends."""
        owner = record.owner or self._leases.me
        keeper = asyncio.create_task(self._keep(record.id, owner, engine), name=f"session-lease-{record.id}")
        try:
            return await engine.run(stop)
        finally:
            keeper.cancel()
            await self._release(record.id, owner)

    async def _keep(self, session_id: str, owner: str, engine: SessionEngine) -> None:
        """Renew the lease every ``renew_interval`` s; once it is lost, the engine ends without storing
        anything more (the new holder continues from the last committed bar). When the lease backend
        cannot be reached the engine goes on: nobody else can take the lease meanwhile, and the store
        refuses bars from a process that is no longer the session's owner."""
        failing = False
        while True:
            await asyncio.sleep(self._leases.renew_interval)
            try:
                held = await self._leases.renew(session_id, owner)
            except Exception as exc:  # the lease backend is down: keep trading, see the docstring
                if not failing:
                    log.warning("session %s: renewing its lease failed (%s); trading on", session_id, exc)
                failing = True
                continue
            if failing:
                log.info("session %s: its lease is renewed again", session_id)
                failing = False
            if not held:
                log.warning("session %s: its lease went to another process; stopping here", session_id)
                engine.abandon()
                return

    async def _release(self, session_id: str, owner: str) -> None:
        try:
            await self._leases.release(session_id, owner)
        except Exception as exc:  # it expires by itself
            log.warning("session %s: releasing its lease failed (%s); it expires by itself", session_id, exc)

    async def run(self, request: SessionRequest, stop: asyncio.Event) -> SessionRecord:
        """Create a session and run it in the caller's task until the feed ends or ``stop`` is set."""
        record, engine = await self._prepare(request)
        return await self._drive(record, engine, stop)

    async def _claim(
        self, session_id: str, speed: float | None = None, bars: int | None = None
    ) -> tuple[SessionRecord, SessionEngine]:
        """A stored session taken over by this process, its engine built on the data it recorded
        (raises, leaving the record as it was, when those data cannot be rebuilt)."""
        record = await self._store.get_session(session_id)
        if record.status is SessionStatus.FINISHED:
            raise ConflictError(f"session {session_id} has finished: its feed ended at bar {record.last_bar}")
        if session_id in self.running():
            raise ConflictError(f"session {session_id} is already running in this process")
        if record.status is SessionStatus.RUNNING and await self._leases.holds(session_id, record.owner):
            raise ConflictError(
                f"session {session_id} is running in process {record.owner}; stop it there (or wait for it to "
                "end) before resuming it here"
            )
        owner = await self._leases.acquire(session_id)
        if owner is None:
            raise ConflictError(f"session {session_id} is being taken over by another process")
        try:
            claimed, engine = await self._rebuild(record, owner, speed, bars)
        except BaseException:
            await self._release(session_id, owner)
            raise
        return claimed, engine

    async def _rebuild(
        self, record: SessionRecord, owner: str, speed: float | None, bars: int | None
    ) -> tuple[SessionRecord, SessionEngine]:
        feed = record.feed if speed is None else record.feed.at_speed(speed, record.last_bar + 1, time.time())
        done = record.last_bar + 1
        if bars is not None:
            feed = attrs.evolve(feed, stop_after=done + bars)
        elif feed.stop_after is not None and feed.stop_after <= done:  # its bars are done: now to the end
            feed = attrs.evolve(feed, stop_after=None)
        claimed = attrs.evolve(
            record, feed=feed, status=SessionStatus.RUNNING, error=None, owner=owner, updated_at=utcnow()
        )
        engine = await asyncio.to_thread(self._engine, claimed)
        # Compare-and-set: a bar its previous owner committed meanwhile, or another claim, wins.
        if not await self._store.swap_session(claimed, record):
            raise ConflictError(f"session {record.id} changed while being taken over; try again")
        return claimed, engine

    async def resume(
        self,
        session_id: str,
        stop: asyncio.Event | None = None,
        *,
        speed: float | None = None,
        bars: int | None = None,
    ) -> SessionRecord:
        """Continue a stored session from its first uncommitted bar (in the caller's task), on exactly
        the data it started on; ``speed`` replaces the feed's speed from here on; ``bars`` stops it
        (resumably) after that many more bars — without it, a session interrupted before the bars it
        was asked for trades the rest of them, and one that had done them trades to the feed's end."""
        _check_bars(bars)
        record, engine = await self._claim(session_id, speed, bars)
        return await self._drive(record, engine, stop or asyncio.Event())

    async def resume_in_background(
        self,
        session_id: str,
        *,
        speed: float | None = None,
        bars: int | None = None,
        before_start: Callable[[str], Awaitable[None]] | None = None,
    ) -> SessionRecord:
        """``resume`` in the background of this process, as ``start`` starts a session: returns at once
        with the session taken over (running); ``stop`` stops it. ``before_start`` (as ``start``'s) is
        awaited with its bus topic once the session is known to exist, before it is taken over."""
        _check_bars(bars)
        if before_start is not None:
            await self._store.get_session(session_id)  # an unknown id: NotFoundError, nothing recorded
            await before_start(f"session:{session_id}")
        record, engine = await self._claim(session_id, speed, bars)
        self._launch(record, engine)
        return record

    async def recover(self) -> list[str]:
        """Restart, in the background, every interrupted session (stored as running, but no live
        process holds it: a crash, a killed worker, or a server paused it on shutdown). Each is taken
        by whichever process acquires its lease first, so several workers never run one session twice.
        A session whose data cannot be rebuilt is marked failed with the reason instead: recovery never
        trades other data."""
        recovered = []
        records = [
            r
            for r in await self._store.list_sessions(status=SessionStatus.RUNNING, limit=1000)
            if not (r.id in self._tasks and not self._tasks[r.id].done())
        ]
        held = await self._leases.holding({r.id: r.owner for r in records})  # one round trip for all
        for record in records:
            if record.id in held:
                continue
            owner = await self._leases.acquire(record.id)
            if owner is None:  # another worker was quicker
                continue
            try:
                claimed, engine = await self._rebuild(record, owner, None, None)
            except ConflictError:
                await self._release(record.id, owner)
                continue
            except Exception as exc:
                await self._fail(record, exc, "not recovered")
                await self._release(record.id, owner)
                continue
            log.info("recovering session %s at bar %d", record.id, record.last_bar + 1)
            self._launch(claimed, engine)
            recovered.append(record.id)
        await self.publish_ended()
        return recovered

    async def publish_ended(self) -> int:
        """Publish what ended sessions left in their outbox (their holder stored the end but died, or
        the bus was down, before publishing it): nobody resumes them, so whoever finds them does; the
        bus drops what was published already. How many events were pending. A failure is logged: they
        stay for the next try (``recover`` runs at start and on every leadership scan)."""
        count = 0
        try:
            for session_id in await self._store.ended_with_pending():
                if session_id not in self.running():  # its engine is publishing them itself
                    count += await publish_pending(session_id, self._store, self._bus)
        except Exception as exc:
            log.warning("publishing the events ended sessions left pending failed (%s); trying again later", exc)
        return count

    async def lead(self) -> None:
        """With shared leases (several workers): recover sessions whose holder died, every
        ``scan_interval`` seconds, and answer other processes' commands for the sessions this one
        runs, until cancelled. A failed scan (a store or Redis outage) is logged and tried again."""
        server = asyncio.create_task(self._leases.serve(self._answer), name="session-commands")
        try:
            await self._scan()
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)

    async def _scan(self) -> None:
        failing = False
        while True:
            try:
                recovered = await self.recover()
            except Exception as exc:
                if not failing:  # once per outage, not every scan
                    log.warning("scanning for sessions to take over failed (%s); trying again", exc)
                failing = True
            else:
                if failing:
                    log.info("scanning for sessions to take over works again")
                failing = False
                if recovered:
                    log.info("took over %d trading session(s): %s", len(recovered), ", ".join(recovered))
            await asyncio.sleep(self._leases.scan_interval)

    @property
    def shared_leases(self) -> bool:
        """Whether other processes see this process's leases (then ``lead`` keeps recovering)."""
        return self._leases.shared

    async def stop(self, session_id: str, timeout: float = 10.0) -> SessionRecord:
        """Stop a running session after its current bar; its state is already persisted."""
        if session_id in self._stops:
            self._stops[session_id].set()
            task = self._tasks[session_id]
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                task.cancel()
            self._tasks.pop(session_id, None)
            self._stops.pop(session_id, None)
            self._engines.pop(session_id, None)
            return await self._store.get_session(session_id)
        for _attempt in range(20):
            record = await self._store.get_session(session_id)
            if record.status is not SessionStatus.RUNNING:
                return record
            # Running in another process (or orphaned): stored stopped and released; its holder's next
            # bar is refused (the owner changed), so it ends there.
            stopped = attrs.evolve(record, status=SessionStatus.STOPPED, owner=None, updated_at=utcnow())
            relay = OutboxRelay(session_id, self._store, self._bus)
            end = {"last_bar": record.last_bar, "equity": record.equity}
            if await relay.swap(stopped, record, "session_stopped", end) is not None:  # stored with its end
                try:  # after what its holder left pending
                    await publish_pending(session_id, self._store, self._bus)
                except Exception as exc:  # they stay pending: recover publishes them
                    log.warning("session %s: its end stays in the outbox: %s", session_id, exc)
                return stopped
            await asyncio.sleep(0.05)  # its holder committed a bar meanwhile: again on the new one
        raise ConflictError(f"session {session_id} kept changing while being stopped; try again")

    async def stop_all(self, timeout: float = 10.0) -> None:
        for session_id in list(self._tasks):
            await self.stop(session_id, timeout)

    async def suspend_all(self, timeout: float = 10.0) -> list[str]:
        """Stop every session of this process after its current bar but leave it marked running, so
        the next process start recovers it (a graceful server restart)."""
        suspended = []
        for session_id in list(self._tasks):
            record = await self.stop(session_id, timeout)
            if record.status is SessionStatus.STOPPED and await self._store.swap_session(
                attrs.evolve(record, status=SessionStatus.RUNNING, error=None, owner=None), record
            ):  # released: no owner, so the next start (or another worker) recovers it
                suspended.append(session_id)
        return suspended

    async def rebalance(
        self, session_id: str, target_weights: Mapping[str, float], *, execute: bool = True
    ) -> RebalancePlan:
        """Plan orders that move a running session to ``target_weights`` (respecting its capital
        tier) and, with ``execute``, send them through the session's own path: submitted at the next
        bar, persisted with it, reported as the session's events. The session may run in another
        process (worker): the plan's inputs come from the process that runs it."""
        weights = dict(target_weights)
        if session_id in self.running():
            inputs = await self._rebalance_here(session_id, weights, execute)
        else:
            inputs = await self._ask(session_id, "rebalance", {"weights": weights, "execute": execute})
        return _plan(session_id, weights, inputs)

    async def _rebalance_here(self, session_id: str, weights: Mapping[str, float], execute: bool) -> Mapping[str, Any]:
        """The plan's inputs (equity, positions, prices, bar) from the running engine; with ``execute``
        its orders are queued for the next bar."""
        engine = self._engines.get(session_id)
        if engine is None or session_id not in self.running():
            raise ConflictError(f"session {session_id} is not running in this process any more; try again")
        record = await self._store.get_session(session_id)
        inputs = {
            "equity": record.equity,
            "last_bar": record.last_bar,
            "positions": {p.symbol: p.size for p in await self._store.list_positions(session_id)},
            "prices": dict(engine.last_prices),
        }
        if execute:
            engine.enqueue(_rebalance_orders(session_id, _plan(session_id, weights, inputs), record.last_bar))
        return inputs

    async def _ask(
        self, session_id: str, command: str, args: Mapping[str, Any], timeout: float | None = None
    ) -> Mapping[str, Any]:
        """``command`` answered by the process that runs ``session_id`` (``ConflictError`` when none does)."""
        record = await self._store.get_session(session_id)
        if record.status is not SessionStatus.RUNNING or record.owner is None:
            raise ConflictError(f"session {session_id} is not running; start or resume it first")
        if not await self._leases.holds(session_id, record.owner):
            raise ConflictError(f"session {session_id} is not running (its process is gone); resume it first")
        return await self._leases.ask(record.owner, session_id, command, args, timeout or self.command_timeout)

    async def _answer(self, session_id: str, command: str, args: Mapping[str, Any]) -> Mapping[str, Any]:
        """A command from another process for a session this one runs (``SessionLeases.serve``)."""
        if command == "prices":
            prices = self.last_prices(session_id)
            if prices is None:
                raise ConflictError(f"session {session_id} is not running in this process any more; try again")
            return {"prices": prices}
        if command == "rebalance":
            return await self._rebalance_here(session_id, args["weights"], bool(args["execute"]))
        raise InvalidParameterError(f"unknown session command {command!r}; use prices or rebalance")

    async def prices(self, session_id: str, *, timeout: float | None = None) -> Mapping[str, float] | None:
        """The latest price of each symbol the running session has seen, from whichever process runs
        it; ``None`` when it runs nowhere (or its process did not answer within ``timeout`` seconds,
        ``command_timeout`` by default)."""
        local = self.last_prices(session_id)
        if local is not None:
            return local
        try:
            answer = await self._ask(session_id, "prices", {}, timeout)
        except GptTraderError:
            return None
        return {str(symbol): float(price) for symbol, price in answer["prices"].items()}

    def subscribe(self, session_id: str) -> Subscription:
        """The events of one session (subscribe right after ``start`` to miss none)."""
        return self._bus.subscribe(f"session:{session_id}", max_queue=100_000)

    async def reconcile(self, session_id: str) -> Reconciliation:
        """Post-session check: rebuild a broker account from the stored orders and fills and compare it
        with the session's stored cash, positions and open orders."""
        record = await self._store.get_session(session_id)
        orders = await self._store.list_orders(session_id)
        fills = await self._store.list_fills(session_id)
        stored_positions = {p.symbol: p.size for p in await self._store.list_positions(session_id)}
        broker = self._brokers(record)
        await broker.reconcile(orders, fills)
        account = await broker.account()
        rebuilt_positions = {p.symbol: p.size for p in account.positions}
        open_orders = [o.client_order_id for o in orders if o.status.open]
        problems = []
        if abs(account.cash - record.cash) > 1e-6 * max(1.0, abs(record.cash)):
            problems.append(f"cash: stored {record.cash:,.2f}, rebuilt from fills {account.cash:,.2f}")
        if rebuilt_positions != stored_positions:
            problems.append(f"positions: stored {stored_positions}, rebuilt from fills {rebuilt_positions}")
        return Reconciliation(
            session_id,
            not problems,
            tuple(problems),
            account.cash,
            record.cash,
            rebuilt_positions,
            tuple(open_orders),
            len(orders),
            len(fills),
        )

    async def ping(self) -> None:
        """Health probe: raise when a session of this process has failed (its engine stopped on an error)."""
        failed = [
            sid
            for sid, task in self._tasks.items()
            if task.done() and not task.cancelled() and task.result().status is SessionStatus.FAILED
        ]
        if failed:
            record = await self._store.get_session(failed[0])
            raise RuntimeError(f"{len(failed)} session(s) failed, e.g. {failed[0]}: {record.error}")

    def last_prices(self, session_id: str) -> Mapping[str, float] | None:
        """The latest price of each symbol the session has seen (symbol → last bar's close, a copy), or
        ``None`` when the session is not running in this process (its prices live in its engine)."""
        engine = self._engines.get(session_id)
        return dict(engine.last_prices) if engine is not None and session_id in self.running() else None

    def running(self) -> list[str]:
        return [sid for sid, task in self._tasks.items() if not task.done()]

    async def _seen(self, record: SessionRecord) -> SessionRecord:
        """A stored "running" session that no live process holds is shown as interrupted."""
        return await SessionReads(self._store, self._leases).seen(record, here=set(self.running()))

    async def list(self, *, status: SessionStatus | None = None, limit: int = 50) -> list[SessionRecord]:
        """Sessions, newest first; ``interrupted`` ones are stored as running with no live owner."""
        reads = SessionReads(self._store, self._leases)
        return await reads.list(status=status, limit=limit, here=set(self.running()))

    async def get(self, session_id: str) -> SessionRecord:
        return await self._seen(await self._store.get_session(session_id))

    async def equity(
        self, session_id: str, *, after_bar: int = -1, last: int | None = None
    ) -> tuple[EquitySnapshot, ...]:
        """The session's equity snapshots by bar: those after ``after_bar``, the newest ``last`` of them
        (all when ``None``); ``NotFoundError`` for an unknown session."""
        await self._store.get_session(session_id)
        snapshots = tuple(e for e in await self._store.list_equity(session_id) if e.bar > after_bar)
        return snapshots if last is None else snapshots[-last:] if last > 0 else ()

    async def orders(self, session_id: str) -> tuple[OrderState, ...]:
        """Every order the session placed, in its latest state, newest first (``NotFoundError`` for an unknown
        session): what a page that opened after they were placed has not seen live."""
        await self._store.get_session(session_id)
        return tuple(reversed(await self._store.list_orders(session_id)))

    async def _status_prices(self, record: SessionRecord) -> Mapping[str, float] | None:
        """Prices for a status's gross exposure: from the session's process, but a status does not wait
        long for them (without them the exposure is derived when it can be)."""
        if record.status is not SessionStatus.RUNNING:
            return None
        return await self.prices(record.id, timeout=min(1.0, self.command_timeout))

    async def status(self, session_id: str, *, recent_fills: int = 20) -> SessionReport:
        record = await self.get(session_id)
        fills = await self._store.list_fills(session_id)
        orders = await self._store.list_orders(session_id)
        positions = await self._store.list_positions(session_id)
        equity = await self._store.list_equity(session_id)
        return SessionReport(
            record,
            tuple(positions),
            tuple(fills[-recent_fills:]),
            len(orders),
            performance(record, equity, fills, positions, await self._status_prices(record)),
            record.status is SessionStatus.RUNNING,  # here or in another process that holds it
            tuple(equity),
            tuple(fills),
        )


def _plan(session_id: str, weights: Mapping[str, float], inputs: Mapping[str, Any]) -> RebalancePlan:
    """The rebalance plan of a session from its inputs (the same in every process: a pure function)."""
    prices = {str(k): float(v) for k, v in inputs["prices"].items()}
    missing = sorted(set(weights) - set(prices))
    if missing:
        raise InvalidParameterError(f"no price yet for {', '.join(missing)}; rebalance after the first bar")
    equity = float(inputs["equity"])
    positions = {str(k): float(v) for k, v in inputs["positions"].items()}
    return rebalance_plan(equity, positions, prices, weights, classify_tier(equity))


def _rebalance_orders(session_id: str, plan: RebalancePlan, last_bar: int) -> list[Order]:
    """The plan's orders with deterministic client order ids (sent once, whatever retries)."""
    return [
        attrs.evolve(o, client_order_id=f"{session_id}:rebalance:{last_bar}:{i}") for i, o in enumerate(plan.orders)
    ]


def _limits(risk: RiskSpec) -> RiskLimits:
    """The risk slice's limits for a session's ``RiskSpec`` (which validates them)."""
    return RiskLimits(**attrs.asdict(risk))


def round_trips(fills: Sequence[Fill]) -> TradeLog:
    """Closed trades rebuilt from fills: each opening fill paired with the fills that close it."""
    rows: list[tuple[float, ...]] = []
    open_: dict[str, list[Fill]] = {}
    for fill in fills:
        side = 1.0 if fill.side is OrderSide.BUY else -1.0
        lots = open_.setdefault(fill.symbol, [])
        held = sum((1.0 if f.side is OrderSide.BUY else -1.0) * f.quantity for f in lots)
        if held == 0 or np.sign(held) == side:
            lots.append(fill)
            continue
        entry = lots[0]
        size = held
        commissions = sum(f.commission for f in lots) + fill.commission
        gross = size * (fill.price - entry.price)
        ret = np.sign(size) * (fill.price / entry.price - 1) - commissions / (abs(size) * entry.price)
        rows.append((size, entry.bar, fill.bar, entry.price, fill.price, gross - commissions, ret, commissions, 0))
        open_[fill.symbol] = []
    table = np.array(rows, dtype=np.float64).reshape(-1, 9).T
    return TradeLog(
        table[0],
        table[1].astype(np.int64),
        table[2].astype(np.int64),
        table[3],
        table[4],
        table[5],
        table[6],
        table[7],
        table[8].astype(np.int8),
    )


def performance(
    record: SessionRecord,
    equity: Sequence[Any],
    fills: Sequence[Fill],
    positions: Sequence[Position] = (),
    prices: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Session performance and risk metrics from its equity snapshots and fills (the backtest's
    statistics over the session's own curve), P&L split and exposure."""
    if len(equity) < 2:
        return {
            "bars": len(equity),
            "equity": record.equity,
            "return_pct": (record.equity / record.capital - 1) * 100,
            **pnl_and_exposure(record, positions, prices),
        }
    ts = np.array([np.datetime64(e.time, "ns") for e in equity])
    curve = np.array([e.equity for e in equity])
    trades = round_trips(fills)
    first = equity[0].bar
    shifted = attrs.evolve(
        trades, entry_bar=np.maximum(trades.entry_bar - first, 0), exit_bar=np.maximum(trades.exit_bar - first, 0)
    )
    stats = compute_stats(ts, curve, curve, shifted, 0)
    keep = (
        "return_pct",
        "return_ann_pct",
        "volatility_ann_pct",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown_pct",
        "num_trades",
        "win_rate_pct",
        "profit_factor",
        "commissions",
        "exposure_time_pct",
    )
    out = {k: stats[k] for k in keep}
    out["bars"] = len(equity)
    out["equity"] = float(curve[-1])
    out.update(pnl_and_exposure(record, positions, prices))
    return out


def pnl_and_exposure(
    record: SessionRecord, positions: Sequence[Position], prices: Mapping[str, float] | None
) -> dict[str, Any]:
    """Realised P&L (cash - capital: closed trades net of every commission), unrealised P&L
    (equity - cash: open positions marked at the last close) and exposure as % of equity: net
    (long minus short market value, always derivable) and gross (needs each symbol's price: known
    while the session runs here, or implied when every position is on the same side)."""
    realized, unrealized = record.cash - record.capital, record.equity - record.cash
    out: dict[str, Any] = {"realized_pnl": float(realized), "unrealized_pnl": float(unrealized)}
    if not positions:
        return out | {"net_exposure_pct": 0.0, "gross_exposure_pct": 0.0}
    if not record.equity:
        return out
    net_value = unrealized + sum(p.size * p.entry_price for p in positions)
    out["net_exposure_pct"] = float(net_value / record.equity * 100)
    if prices is not None and all(p.symbol in prices for p in positions):
        gross = sum(abs(p.size) * prices[p.symbol] for p in positions)
    elif len({p.size > 0 for p in positions}) == 1:
        gross = abs(net_value)
    else:
        return out
    out["gross_exposure_pct"] = float(gross / record.equity * 100)
    return out


def _check_bars(bars: int | None) -> None:
    if bars is not None and (isinstance(bars, bool) or bars < 1):
        raise InvalidParameterError(f"bars must be a number of bars >= 1, got {bars!r}")
