"""Trading sessions on the in-memory adapters: events, several sessions, rebalance, risk guards."""

from __future__ import annotations

import asyncio

import pytest

import gpt_trader_core as gt
from adapters.broker.simulated import SimulatedBroker
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.feeds.replay import ReplayFeed
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

BARS = {s: gt.synthetic(s, "2015-01-01", "2020-12-31", seed=4) for s in ("AAA", "BBB")}


async def make() -> tuple[TradingSessions, InMemoryStateStore, InMemoryEventBus]:
    store, bus = InMemoryStateStore(), InMemoryEventBus()
    await store.open()

    feeds = FeedFactory(InMemoryMarketData(BARS))

    def brokers(record):  # type: ignore[no-untyped-def]
        return SimulatedBroker(record.capital)

    return TradingSessions(store, bus, REGISTRY, feeds, brokers), store, bus


def request(
    strategy: str = "momentum", symbols: tuple[str, ...] = ("AAA",), speed: float = 0.0, **kw: object
) -> SessionRequest:
    return SessionRequest(strategy, symbols, feed={"kind": "replay", "speed": speed}, tier_aware=False, **kw)  # type: ignore[arg-type]


async def test_events_are_published_after_each_committed_bar() -> None:
    sessions, store, bus = await make()
    events = bus.subscribe("session:*", max_queue=100_000)
    record = await sessions.run(request(), asyncio.Event())
    assert record.status is SessionStatus.FINISHED and record.last_bar == len(BARS["AAA"]) - 1
    seen = []
    while (event := await events.get(0.01)) is not None:
        seen.append(event)
    types = {e.type for e in seen}
    assert {
        "session_started",
        "portfolio_updated",
        "order_accepted",
        "order_filled",
        "position_changed",
        "session_finished",
    } <= types
    fills = await store.list_fills(record.id)
    assert len([e for e in seen if e.type == "fill_recorded"]) == len(fills)
    seqs = [e.seq for e in seen]
    assert seqs == sorted(seqs)


async def test_several_sessions_at_once_and_stop() -> None:
    sessions, _store, _ = await make()
    first = await sessions.start(request("momentum", speed=86_400 * 300))  # ~300 daily bars a second
    second = await sessions.start(request("breakout", ("BBB",), speed=86_400 * 300))
    await asyncio.sleep(0.5)
    assert set(sessions.running()) == {first.id, second.id}
    stopped = await sessions.stop(first.id)
    assert stopped.status is SessionStatus.STOPPED and 0 < stopped.last_bar < len(BARS["AAA"]) - 1
    report = await sessions.status(second.id)
    assert report.running and report.session.last_bar > 0
    await sessions.stop_all()
    assert {r.status for r in await sessions.list()} == {SessionStatus.STOPPED}


async def test_rebalance_goes_through_the_session() -> None:
    sessions, store, _ = await make()
    record = await sessions.start(request("sma_cross", ("AAA", "BBB"), speed=86_400 * 100, capital=50_000))
    await asyncio.sleep(0.3)
    plan = await sessions.rebalance(record.id, {"AAA": 0.3, "BBB": 0.3})
    assert plan.orders
    await asyncio.sleep(0.3)
    await sessions.stop(record.id)
    orders = await store.list_orders(record.id)
    rebalance = [o for o in orders if ":rebalance:" in o.client_order_id]
    assert rebalance and all(o.status.value in ("filled", "rejected") for o in rebalance)
    with pytest.raises(ConflictError, match="not running"):
        await sessions.rebalance(record.id, {"AAA": 0.5})


async def test_emergency_stop_on_drawdown() -> None:
    sessions, _, bus = await make()
    alerts = bus.subscribe("session:*", max_queue=100_000)
    risk = {"max_drawdown_pct": 2.0, "max_daily_loss_pct": 50.0, "max_position_pct": 100.0, "min_cash_reserve_pct": 0.0}
    record = await sessions.run(request("momentum", risk=risk), asyncio.Event())
    assert record.status is SessionStatus.STOPPED and "emergency stop: drawdown" in (record.error or "")
    seen = []
    while (event := await alerts.get(0.01)) is not None:
        seen.append(event)
    assert any(e.type == "risk_alert" and e.data.get("action") == "emergency_stop" for e in seen)


async def test_requests_are_validated() -> None:
    sessions, _, _ = await make()
    with pytest.raises(ConflictError, match="live broker"):
        await sessions.start(request(mode="live"))
    with pytest.raises(InvalidParameterError, match="capital must be positive"):
        await sessions.start(request(capital=0))
    with pytest.raises(InvalidParameterError, match="not allowed in the micro capital tier"):
        await sessions.start(SessionRequest("volatility", ("AAA",), capital=1_000, feed={"kind": "replay"}))
    with pytest.raises(gt.UnknownStrategyError):
        await sessions.start(request("nope"))


async def test_suspended_sessions_are_recovered_by_the_next_process() -> None:
    sessions, store, bus = await make()
    record = await sessions.start(request("breakout", speed=86_400 * 300))
    await asyncio.sleep(0.3)
    assert await sessions.suspend_all() == [record.id]
    paused = await store.get_session(record.id)
    assert paused.status is SessionStatus.RUNNING and paused.last_bar > 0
    restarted = TradingSessions(store, bus, REGISTRY, sessions._feeds, sessions._brokers)
    assert await restarted.recover() == [record.id]
    await asyncio.sleep(0.3)
    await restarted.stop(record.id)
    assert (await store.get_session(record.id)).last_bar > paused.last_bar


async def test_pnl_split_and_exposure_add_up() -> None:
    sessions, store, _ = await make()
    record = await sessions.start(request("breakout", speed=86_400 * 300, capital=20_000))
    for _ in range(40):
        await asyncio.sleep(0.05)
        if await store.list_positions(record.id):
            break
    running = await sessions.status(record.id)
    perf = running.performance
    assert perf["realized_pnl"] + perf["unrealized_pnl"] == pytest.approx(running.session.equity - 20_000)
    assert running.positions and perf["gross_exposure_pct"] > 0
    assert abs(perf["net_exposure_pct"]) == pytest.approx(perf["gross_exposure_pct"])  # one symbol
    stopped = await sessions.stop(record.id)
    after = (await sessions.status(stopped.id)).performance
    assert "net_exposure_pct" in after and after["realized_pnl"] == pytest.approx(stopped.cash - 20_000)


class LostFeed(ReplayFeed):
    """A replay whose connection drops at once (a real feed failure, not a mock)."""

    async def stream(self, symbols, start_index=0):  # type: ignore[no-untyped-def, override]
        raise OSError("feed connection lost")
        yield  # pragma: no cover


class LostFeeds(FeedFactory):
    """The real feed factory, whose feeds lose their connection."""

    def __call__(self, session):  # type: ignore[no-untyped-def]
        return LostFeed({"AAA": BARS["AAA"]})


async def test_health_probe_reports_failed_sessions() -> None:
    store, bus = InMemoryStateStore(), InMemoryEventBus()
    await store.open()
    sessions = TradingSessions(
        store,
        bus,
        REGISTRY,
        LostFeeds(InMemoryMarketData(BARS)),
        lambda record: SimulatedBroker(record.capital),
    )
    await sessions.ping()  # nothing ran: healthy
    record = await sessions.start(request())
    await asyncio.sleep(0.1)
    with pytest.raises(RuntimeError, match=f"failed, e.g. {record.id}: OSError: feed connection lost"):
        await sessions.ping()
    assert (await store.get_session(record.id)).status is SessionStatus.FAILED


async def test_last_prices_are_public_while_the_session_runs() -> None:
    sessions, _store, _ = await make()
    record = await sessions.start(request("momentum", ("AAA", "BBB"), speed=86_400 * 300))
    await asyncio.sleep(0.5)
    prices = sessions.last_prices(record.id)
    assert prices is not None and set(prices) == {"AAA", "BBB"} and all(p > 0 for p in prices.values())
    await sessions.stop(record.id)
    assert sessions.last_prices(record.id) is None and sessions.last_prices("no-such-session") is None


async def test_equity_by_bar_after_a_bar_and_the_newest() -> None:
    sessions, store, _ = await make()
    record = await sessions.run(request(), asyncio.Event())
    whole = await sessions.equity(record.id)
    assert [e.bar for e in whole] == [e.bar for e in await store.list_equity(record.id)]
    assert whole[-1].bar == record.last_bar and whole[-1].equity == record.equity
    assert [e.bar for e in await sessions.equity(record.id, after_bar=whole[-4].bar)] == [e.bar for e in whole[-3:]]
    assert await sessions.equity(record.id, last=2) == whole[-2:]
    assert await sessions.equity(record.id, last=0) == ()
    with pytest.raises(NotFoundError, match="ses_missing"):
        await sessions.equity("ses_missing")
