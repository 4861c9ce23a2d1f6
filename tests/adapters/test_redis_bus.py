"""What only the Redis bus has: several processes on one bus (consistent sequence numbers, every event
in order with no gap), resume by sequence across a restart, bounded streams, and Redis going away.
The bus contract runs on it in test_event_bus.py."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.bus.redis import EventBusUnavailableError, RedisEventBus
from tests.adapters.test_event_bus import delete_namespace

pytestmark = pytest.mark.redis

HERE = Path(__file__).resolve().parent
HELPER = HERE / "_bus_process.py"
REPO = HERE.parents[1]


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    name = f"gpt-trader-test:{uuid.uuid4().hex}"
    yield name
    await delete_namespace(redis_url, name)


async def start(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=REPO, env=env,
    )  # fmt: skip


async def finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> list[str]:
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, stderr.decode(errors="replace")
    return stdout.decode().splitlines()


async def test_two_publishing_processes_and_two_subscribing_processes_see_every_event_in_order(
    redis_url: str, namespace: str
) -> None:
    count = 300
    listener = await start(redis_url, namespace, "subscribe", "shared*", str(2 * count))
    assert listener.stdout is not None
    assert (await asyncio.wait_for(listener.stdout.readline(), 20)).strip() == b"READY"
    here = RedisEventBus(redis_url, namespace=namespace)
    subscription = here.subscribe("shared*", max_queue=100_000)
    try:
        publishers = [await start(redis_url, namespace, "publish", "shared", str(count), tag) for tag in "ab"]
        for publisher in publishers:
            await finish(publisher)
        received_here = []
        for _ in range(2 * count):
            event = await subscription.get(10)
            assert event is not None, f"only {len(received_here)} of {2 * count} events arrived"
            received_here.append(f"{event.topic} {event.seq} {event.data['tag']} {event.data['i']}")
        received_there = await finish(listener)
        assert await subscription.get(0.2) is None  # nothing more, nothing twice
    finally:
        await here.close()

    for received in (received_here, received_there):
        rows = [line.split() for line in received]
        assert [int(seq) for _, seq, _, _ in rows] == list(range(1, 2 * count + 1))  # one sequence, no gap
        for tag in "ab":  # each publisher's events in the order it published them
            assert [int(i) for _, _, t, i in rows if t == tag] == list(range(count))
    assert received_here == received_there


async def test_resume_by_sequence_across_restarts(redis_url: str, namespace: str) -> None:
    await finish(await start(redis_url, namespace, "publish", "session:x", "50", "first"))  # a process that is gone
    bus = RedisEventBus(redis_url, namespace=namespace)
    try:
        assert await bus.last_seq("session:x") == 50
        missed = await bus.replay("session:x", after_seq=20)
        assert [e.seq for e in missed] == list(range(21, 51))
        assert [e.data for e in missed[:2]] == [{"tag": "first", "i": 20}, {"tag": "first", "i": 21}]
        assert (await bus.publish("session:x", "ticked", {"tag": "here", "i": 0})).seq == 51  # numbering goes on
    finally:
        await bus.close()
    await finish(await start(redis_url, namespace, "publish", "session:x", "10", "third"))
    bus = RedisEventBus(redis_url, namespace=namespace)
    try:
        assert [(e.seq, e.data["tag"]) for e in await bus.replay("session:x", after_seq=50)] == [
            (51, "here"),
            *((seq, "third") for seq in range(52, 62)),
        ]
        assert await bus.replay("session:y") == []
    finally:
        await bus.close()


async def test_streams_are_bounded_and_a_replay_shows_the_gap(redis_url: str, namespace: str) -> None:
    import redis.asyncio as aioredis

    bus = RedisEventBus(redis_url, namespace=namespace, maxlen=10, maxlen_all=50)
    try:
        for i in range(600):
            await bus.publish(f"t{i % 2}", "ticked", {"i": i})
        client = aioredis.Redis.from_url(redis_url)
        try:
            # MAXLEN ~ trims whole stream nodes (100 entries by default): bounded, not exact.
            assert await client.xlen(f"{namespace}:topic:t0") <= 10 + 100
            assert await client.xlen(f"{namespace}:all") <= 50 + 100
        finally:
            await client.aclose()
        replayed = await bus.replay("t0")
        assert replayed[0].seq > 1 and [e.seq for e in replayed] == list(range(replayed[0].seq, 301))
    finally:
        await bus.close()


async def test_values_round_trip_as_published(redis_url: str, namespace: str) -> None:
    import datetime as dt
    import math

    bus = RedisEventBus(redis_url, namespace=namespace)
    sub = bus.subscribe("*")
    data = {"when": dt.datetime(2024, 1, 2, 9, 30), "pnl": math.inf, "band": (1, 2), "nested": {"a": [1.5, None]}}
    try:
        published = await bus.publish("session:v", "order_filled", data)
        got = await sub.get(5)
        assert got == published and got.data == data and isinstance(got.data["band"], tuple)
    finally:
        await bus.close()


async def test_redis_down_is_one_clear_error_and_the_bus_recovers(redis_url: str, namespace: str) -> None:
    down = RedisEventBus("redis://:pw@127.0.0.1:1/0", namespace=namespace, retry_interval=0.05)
    sub = down.subscribe("*")
    try:
        with pytest.raises(EventBusUnavailableError, match=r"Redis at redis://:\*\*\*@127\.0\.0\.1:1/0 unreachable"):
            await down.publish("t", "ticked", {})
        with pytest.raises(EventBusUnavailableError):
            await down.ping()
        await asyncio.sleep(0.2)
        assert down.error is not None and "pw" not in down.error
        assert await sub.get(0.01) is None
    finally:
        await down.close()


async def test_bus_backend_redis_in_the_settings_chooses_this_bus(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    from entrypoints.container import build_container
    from entrypoints.settings import load_settings

    overrides = ["bus.backend=redis", f"bus.redis_url={redis_url}", f"bus.namespace={namespace}", "bus.maxlen=500"]
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[*overrides, "state.url=memory://"])
    container = build_container(settings.settings, executor="inline")
    await container.init_resources()
    try:
        bus = container.adapters.event_bus()
        assert isinstance(bus, RedisEventBus) and bus._maxlen == 500
        sub = bus.subscribe("system")
        await bus.publish("system", "alert_raised", {"n": 1})
        assert (await sub.get(5)) is not None
    finally:
        await container.shutdown_resources()
    assert bus.subscribers == 0 and bus._reader is None  # closed at shutdown


class RedisProxy:
    """A TCP forwarder in front of the real Redis that can be cut and restored on the same port: Redis
    "going away" and "coming back" as its clients see it, without touching the shared server."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_redis_down_shows_the_bus_and_cache_degraded_with_a_reason_and_both_recover(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    from urllib.parse import urlsplit

    from entrypoints.container import build_container
    from entrypoints.settings import load_settings

    proxy = RedisProxy(urlsplit(redis_url).port or 6379)
    await proxy.start()
    via_proxy = f"redis://127.0.0.1:{proxy.port}/0"
    overrides = ["bus.backend=redis", f"bus.redis_url={via_proxy}", f"bus.namespace={namespace}"]
    overrides += ["cache.backend=redis", f"cache.redis_url={via_proxy}", "state.url=memory://"]
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=overrides).settings
    container = build_container(settings, executor="inline")
    await container.init_resources()
    try:
        health = await container.services.health()
        bus = container.adapters.event_bus()
        sub = bus.subscribe("session:*")
        await bus.publish("session:a", "order_filled", {"n": 1})
        assert (await health.check()).status == "ok"

        await proxy.stop()  # Redis goes away
        report = await health.check()
        down = {c.name: c.error for c in report.components if not c.ok}
        assert report.status == "degraded" and set(down) == {"cache", "event_bus"}
        assert f"Redis at {via_proxy} unreachable" in str(down["event_bus"])
        assert {c.name for c in report.components if c.ok} == {"state_store", "executor"}  # the rest still answers
        with pytest.raises(EventBusUnavailableError):
            await bus.publish("session:a", "order_filled", {"n": 2})

        await proxy.start()  # back, on the same port
        async with asyncio.timeout(15):
            while not (report := await health.check()).ok:
                await asyncio.sleep(0.2)
        await bus.publish("session:a", "order_filled", {"n": 3})
        received = [await sub.get(10) for _ in range(2)]
        assert [(e.seq, e.data["n"]) for e in received if e] == [(1, 1), (2, 3)]  # the reader resumed, no gap
        assert await sub.get(0.2) is None
    finally:
        await container.shutdown_resources()
        await proxy.stop()


async def test_stream_channels_are_numbered_once_at_publish_and_replayed_from_redis(
    redis_url: str, namespace: str
) -> None:
    from gpt_trader_core.services.channels import ChannelRegistry

    router = ChannelRegistry().channels_of
    one = RedisEventBus(redis_url, namespace=namespace, router=router)
    two = RedisEventBus(redis_url, namespace=namespace, router=router)  # another server process
    sub = two.subscribe("*")
    try:
        fill = {"session_id": "s1", "fill_id": "f", "symbol": "AAPL", "side": "buy", "quantity": 1.0}
        a = await one.publish("session:s1", "fill_recorded", fill)
        b = await two.publish("session:s2", "fill_recorded", {**fill, "session_id": "s2"})
        c = await one.publish("session:s1", "bar_processed", {"session_id": "s1", "symbol": "aapl", "bar": 0})
        d = await one.publish("session:s1", "unknown_thing", {})
        assert (a.channels, b.channels) == ({"trades:live": 1}, {"trades:live": 2})  # one numbering, two buses
        assert c.channels == {"market:AAPL": 1} and d.channels == {}
        received = [await sub.get(5) for _ in range(4)]
        assert [e.channels if e else None for e in received] == [a.channels, b.channels, c.channels, {}]
        assert await two.channel_seq("trades:live") == 2 and await two.channel_seq("market:ZZZ") == 0
        history = await two.channel_history("trades:live", 0, 100)
        assert [(e.data["session_id"], e.channels["trades:live"]) for e in history] == [("s1", 1), ("s2", 2)]
        assert [e.seq for e in await one.channel_history("trades:live", 1, 100)] == [b.seq]
    finally:
        await one.close()
        await two.close()


async def test_claims_let_one_holder_at_a_time_and_agree_keeps_the_first_value(redis_url: str, namespace: str) -> None:
    bus = RedisEventBus(redis_url, namespace=namespace)
    try:
        assert await bus.claim("pump:x", "a", 0.3)
        assert not await bus.claim("pump:x", "b", 0.3)
        assert await bus.claim("pump:x", "a", 0.3)  # renewed by its holder
        await bus.release("pump:x", "b")  # not b's: kept
        assert not await bus.claim("pump:x", "b", 0.3)
        await bus.release("pump:x", "a")
        assert await bus.claim("pump:x", "b", 0.2)
        await asyncio.sleep(0.35)  # b stopped renewing: it expires
        assert await bus.claim("pump:x", "a", 1)
        assert await bus.agree("origin", "1.5", 10) == "1.5"
        assert await bus.agree("origin", "2.5", 10) == "1.5"
    finally:
        await bus.close()
    down = RedisEventBus("redis://127.0.0.1:1/0", namespace=namespace)
    try:
        with pytest.raises(EventBusUnavailableError, match="cannot claim"):
            await down.claim("pump:x", "a", 1)
        with pytest.raises(EventBusUnavailableError, match="cannot replay market:X"):
            await down.channel_history("market:X", 0, 10)
    finally:
        await down.close()
