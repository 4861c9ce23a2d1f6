"""The live market (a feed's bars for symbols no session feeds) and the stream hub on a shared log,
on the real in-memory bus, the real synthetic live feed and small in-memory fakes of the shared
ports (``StreamLog``, ``Claims``)."""

from __future__ import annotations

import asyncio
import time

from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.synthetic import SyntheticLiveFeed
from gpt_trader_core.domain.records import Event
from gpt_trader_core.services.channels import ChannelRegistry
from gpt_trader_core.services.live_market import LiveMarket
from gpt_trader_core.services.streams import StreamHub

registry = ChannelRegistry()
INTERVAL = 0.02


class MemoryClaims:
    """The ``Claims`` port for processes sharing this object (leases by wall-clock expiry)."""

    def __init__(self) -> None:
        self.leases: dict[str, tuple[str, float]] = {}
        self.agreed: dict[str, str] = {}

    async def claim(self, name: str, holder: str, ttl: float) -> bool:
        current = self.leases.get(name)
        if current is None or current[0] == holder or current[1] < time.monotonic():
            self.leases[name] = (holder, time.monotonic() + ttl)
            return True
        return False

    async def release(self, name: str, holder: str) -> None:
        if self.leases.get(name, ("", 0.0))[0] == holder:
            del self.leases[name]

    async def agree(self, name: str, value: str, ttl: float) -> str:
        return self.agreed.setdefault(name, value)


class MemoryLog:
    """The ``StreamLog`` port over a list of numbered events."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.error: str | None = None

    def add(self, event: Event) -> None:
        self.events.append(event)

    async def channel_history(self, channel: str, after_seq: int, limit: int) -> list[Event]:
        return [e for e in self.events if e.channels.get(channel, 0) > after_seq][:limit]

    async def channel_seq(self, channel: str) -> int:
        return max((e.channels.get(channel, 0) for e in self.events), default=0)


def _market(bus: InMemoryEventBus, claims: MemoryClaims | None = None, **kw: float) -> LiveMarket:
    def feed(origin: float) -> SyntheticLiveFeed:
        return SyntheticLiveFeed(seed=3, interval=INTERVAL, history_bars=1, started_at=origin)

    return LiveMarket(bus, feed, interval=INTERVAL, synthetic=True, claims=claims, **kw)


async def _bars(sub: object, n: int) -> list[Event]:
    out = []
    while len(out) < n:
        event = await sub.get(5)  # type: ignore[attr-defined]
        assert event is not None, f"{len(out)} of {n} bars arrived"
        if event.topic.startswith("feed:"):
            out.append(event)
    return out


async def test_the_first_listener_starts_a_synthetic_pump_and_the_last_one_stops_it() -> None:
    bus = InMemoryEventBus()
    hub = StreamHub(bus, market=_market(bus))
    await hub.start()
    got: list[object] = []
    try:
        channel = registry.parse("market:xyz")
        stop_one = hub.listen(channel, got.append)
        stop_two = hub.listen(channel, lambda m: None)
        assert hub.market is not None and hub.market.pumping == ("XYZ",)
        while len(got) < 5:
            await asyncio.sleep(INTERVAL)
        first = got[0]
        assert first.channel == "market:XYZ" and first.type == "bar"  # type: ignore[attr-defined]
        assert first.data["synthetic"] is True and "synthetic" in first.data["feed"]  # type: ignore[attr-defined]
        assert [m.seq for m in got[:5]] == [1, 2, 3, 4, 5]  # type: ignore[attr-defined]
        assert [m.data["bar"] for m in got[:5]] == list(range(got[0].data["bar"], got[0].data["bar"] + 5))  # type: ignore[attr-defined]
        stop_one()
        assert hub.market.pumping == ("XYZ",)  # one listener left
        stop_two()
        await asyncio.sleep(0)
        assert hub.market.pumping == ()
        published = hub.market.published
        await asyncio.sleep(5 * INTERVAL)
        assert hub.market.published == published
    finally:
        await hub.stop()


async def test_the_feed_keeps_quiet_while_a_session_feeds_the_symbol() -> None:
    bus = InMemoryEventBus()
    market = _market(bus, quiet=0.3)
    hub = StreamHub(bus, market=market)
    await hub.start()
    got: list[object] = []
    try:
        hub.listen(registry.parse("market:ABC"), got.append)
        while not got:
            await asyncio.sleep(INTERVAL)
        await bus.publish("session:s1", "bar_processed", {"session_id": "s1", "symbol": "ABC", "bar": 7})
        await asyncio.sleep(2 * INTERVAL)
        published = market.published
        await asyncio.sleep(0.15)
        assert market.published == published  # quiet while the session's bars are recent
        await asyncio.sleep(0.3)
        assert market.published > published  # and speaks again once they stop
        sources = [m.data.get("session_id") or m.data["feed"] for m in got]  # type: ignore[attr-defined]
        assert "s1" in sources
    finally:
        await hub.stop()


async def test_on_a_shared_bus_one_process_pumps_and_another_takes_over_where_it_stopped() -> None:
    bus = InMemoryEventBus()  # stands for the shared bus; the claims are shared as Redis's are
    claims = MemoryClaims()
    one, two = _market(bus, claims, lease=0.1), _market(bus, claims, lease=0.1)
    sub = bus.subscribe("feed:*")
    try:
        one.want("XYZ")
        two.want("XYZ")
        bars = await _bars(sub, 8)
        assert one.published + two.published >= 8 and 0 in (one.published, two.published)  # one publisher
        leader, other = (one, two) if one.published else (two, one)
        leader.unwant("XYZ")
        more = await _bars(sub, 8)
        assert other.published >= 7
        indexes = [e.data["bar"] for e in bars + more]
        assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)  # the same feed goes on
    finally:
        await one.close()
        await two.close()


async def test_on_a_shared_log_the_hub_takes_the_published_numbers_and_resumes_from_the_log() -> None:
    log = MemoryLog()
    bus = InMemoryEventBus()
    fills = [
        Event("session:s", "fill_recorded", {"session_id": "s", "fill_id": str(n)}, channels={"trades:live": n})
        for n in range(1, 31)
    ]
    for event in fills:
        log.add(event)
    hub = StreamHub(bus, replay=10, log=log)
    channel = registry.parse("trades:live")
    assert (await hub.catch_up(channel, None)).seq == 30  # a fresh process knows the numbering
    for event in fills[20:]:  # what this process saw since it started
        hub.accept(event)
    hub.accept(fills[25])  # the same message twice: not again
    assert hub.seq(channel) == 30 and len(hub._channels["trades:live"].buffer) == 10
    local = await hub.catch_up(channel, 24)
    assert [m.seq for m in local.messages] == list(range(25, 31)) and not local.missed
    older = await hub.catch_up(channel, 21)  # the buffer holds 21..30: 22 on
    assert [m.seq for m in older.messages] == list(range(22, 31))
    from_log = await StreamHub(bus, replay=10, log=log).catch_up(channel, 23)  # a restarted process
    assert [m.seq for m in from_log.messages] == list(range(24, 31)) and from_log.seq == 30
    assert [m.data["fill_id"] for m in from_log.messages] == [str(n) for n in range(24, 31)]
    behind = await hub.catch_up(channel, 3)  # further back than the replay bound: a snapshot
    assert behind.missed and behind.seq == 30 and behind.messages[-1].seq == 30
    assert (await hub.catch_up(channel, 30)).messages == ()
    assert (await hub.catch_up(channel, 99)).missed
