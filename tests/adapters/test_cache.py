"""Contract tests of the ``Cache`` port, run against the memory backend and a real Redis."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import numpy as np
import pytest

from adapters.cache import AiocacheCache
from adapters.cache.aiocache_cache import _redis_options

SHORT = 0.3  # seconds: long enough for a round trip, short enough to keep the suite fast
AFTER_SHORT = 0.45

MakeCache = Callable[..., AiocacheCache]


@attrs.frozen
class Point:
    name: str
    values: tuple[float, ...]
    when: int = 0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_cache(request: pytest.FixtureRequest) -> AsyncIterator[MakeCache]:
    """Builds caches of the parametrized backend, each under a unique namespace; cleans up after."""
    backend = request.param
    url = request.getfixturevalue("redis_url") if backend == "redis" else "redis://unused"
    made: list[AiocacheCache] = []

    def make(**kwargs: Any) -> AiocacheCache:
        kwargs.setdefault("namespace", f"test-{uuid.uuid4().hex[:12]}")
        cache = AiocacheCache(backend, redis_url=url, **kwargs)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.clear()
        await cache.close()


async def test_round_trip_of_numpy_array_and_attrs_object(make_cache: MakeCache) -> None:
    cache = make_cache()
    array = np.linspace(0.0, 1.0, 500).reshape(100, 5)
    point = Point("p", (1.0, 2.5), when=3)
    await cache.set("market_data", "array", array)
    await cache.set("backtest", "point", point)

    got = await cache.get("market_data", "array")
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, array)
    assert got.dtype == array.dtype
    assert await cache.get("backtest", "point") == point

    array[0, 0] = 99.0  # the cache holds a copy, not the caller's object
    again = await cache.get("market_data", "array")
    assert again is not None and again[0, 0] == 0.0


async def test_miss_returns_none(make_cache: MakeCache) -> None:
    cache = make_cache()
    await cache.set("market_data", "present", 1)
    assert await cache.get("market_data", "absent") is None
    assert await cache.get("backtest", "present") is None  # same key, other kind


async def test_entry_expires_after_its_ttl(make_cache: MakeCache) -> None:
    cache = make_cache()
    await cache.set("market_data", "k", "v", ttl=SHORT)
    assert await cache.get("market_data", "k") == "v"
    await asyncio.sleep(AFTER_SHORT)
    assert await cache.get("market_data", "k") is None
    assert (await cache.stats()).entries == {}


async def test_ttl_per_kind_with_default_and_override(make_cache: MakeCache) -> None:
    cache = make_cache(ttl={"short": SHORT, "long": 60}, default_ttl=SHORT)
    await cache.set("short", "k", 1)
    await cache.set("long", "k", 2)
    await cache.set("other", "k", 3)  # default_ttl
    await cache.set("short", "override", 4, ttl=60)  # an explicit ttl beats the kind's
    await asyncio.sleep(AFTER_SHORT)
    assert await cache.get("short", "k") is None
    assert await cache.get("long", "k") == 2
    assert await cache.get("other", "k") is None
    assert await cache.get("short", "override") == 4


async def test_ttl_zero_means_no_expiry(make_cache: MakeCache) -> None:
    cache = make_cache(ttl={"forever": 0}, default_ttl=SHORT)
    await cache.set("forever", "k", 1)
    await cache.set("short", "k", 2, ttl=0)
    await asyncio.sleep(AFTER_SHORT)
    assert await cache.get("forever", "k") == 1
    assert await cache.get("short", "k") == 2


async def test_clear_of_one_kind_drops_only_that_kind(make_cache: MakeCache) -> None:
    cache = make_cache()
    neighbour = make_cache()  # another namespace on the same backend (same Redis db)
    for i in range(3):
        await cache.set("market_data", f"k{i}", i)
    await cache.set("backtest", "k0", "b")
    await cache.set("market*", "k0", "glob")  # a kind with a glob character matches only itself
    await neighbour.set("market_data", "k0", "n")

    assert await cache.clear("market*") == 1
    assert await cache.clear("market_data") == 3
    assert await cache.get("market_data", "k0") is None
    assert await cache.get("backtest", "k0") == "b"
    assert await cache.get("market*", "k0") is None
    assert await neighbour.get("market_data", "k0") == "n"
    assert await cache.clear("market_data") == 0
    assert (await cache.stats()).entries == {"backtest": 1}


async def test_clear_of_everything_drops_the_namespace_and_resets_counters(make_cache: MakeCache) -> None:
    cache = make_cache()
    neighbour = make_cache()
    await cache.set("market_data", "a", 1)
    await cache.set("backtest", "b", 2)
    await neighbour.set("backtest", "b", 3)
    await cache.get("backtest", "b")

    assert await cache.clear() == 2
    assert await cache.get("backtest", "b") is None
    assert await neighbour.get("backtest", "b") == 3
    stats = await cache.stats()
    assert (stats.hits, stats.misses, stats.sets, stats.entries) == (0, 1, 0, {})


async def test_stats_count_hits_misses_sets_and_live_entries(make_cache: MakeCache) -> None:
    cache = make_cache()
    await cache.set("market_data", "a", 1)
    await cache.set("market_data", "b", 2)
    await cache.set("backtest", "a", 3)
    await cache.set("backtest", "a", 4)  # overwrite: one more set, still one entry
    await cache.set("backtest", "none", None)  # None is not cached
    await cache.get("market_data", "a")
    await cache.get("backtest", "a")
    await cache.get("backtest", "missing")

    stats = await cache.stats()
    assert stats.backend in ("memory", "redis")
    assert (stats.hits, stats.misses, stats.sets) == (2, 1, 4)
    assert stats.entries == {"market_data": 2, "backtest": 1}
    assert stats.hit_rate == pytest.approx(2 / 3)


async def test_unpicklable_value_is_not_cached_and_does_not_raise(
    make_cache: MakeCache, caplog: pytest.LogCaptureFixture
) -> None:
    cache = make_cache()
    with caplog.at_level(logging.WARNING, logger="gpt_trader.cache"):
        await cache.set("backtest", "lock", threading.Lock())
    assert await cache.get("backtest", "lock") is None
    assert (await cache.stats()).sets == 0
    assert "not picklable" in caplog.text and "key=lock" in caplog.text


async def test_ping_succeeds_when_the_backend_is_up(make_cache: MakeCache) -> None:
    await make_cache().ping()


@pytest.mark.redis
async def test_undecodable_redis_entry_is_a_miss_and_is_dropped(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis.asyncio

    namespace = f"test-{uuid.uuid4().hex[:12]}"
    cache = AiocacheCache("redis", redis_url=redis_url, namespace=namespace)
    raw = redis.asyncio.Redis.from_url(redis_url)
    try:
        await raw.set(f"{namespace}:backtest:k", b"not a pickle")  # e.g. written by an older release
        with caplog.at_level(logging.WARNING, logger="gpt_trader.cache"):
            assert await cache.get("backtest", "k") is None
        assert "UnpicklingError" in caplog.text
        assert await raw.exists(f"{namespace}:backtest:k") == 0
    finally:
        await cache.clear()
        await cache.close()
        await raw.aclose()


async def test_redis_down_behaves_as_a_miss_and_ping_raises(caplog: pytest.LogCaptureFixture) -> None:
    # Needs no server: 6390 is expected to be closed.
    cache = AiocacheCache("redis", redis_url="redis://127.0.0.1:6390/0", namespace="test-down")
    try:
        with caplog.at_level(logging.WARNING, logger="gpt_trader.cache"):
            await cache.set("market_data", "k", np.arange(3))
            assert await cache.get("market_data", "k") is None
            assert await cache.get("market_data", "k") is None  # repeated: DEBUG, not another warning
            assert await cache.clear("market_data") == 0
            stats = await cache.stats()
        assert (stats.hits, stats.misses, stats.sets, stats.entries) == (0, 2, 0, {})
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert [r.getMessage().split(" failed")[0] for r in warnings] == [
            "cache set", "cache get", "cache clear", "cache stats",
        ]  # fmt: skip
        assert "127.0.0.1:6390" in warnings[0].getMessage()
        with pytest.raises(Exception, match="6390"):
            await cache.ping()
    finally:
        await cache.close()


def test_memory_ttl_holds_across_event_loops() -> None:
    # A long-lived cache used by successive asyncio.run() calls: aiocache's expiry timer belongs to
    # the first loop and never fires, the deadline stored with the entry still expires it.
    cache = AiocacheCache(namespace="test-loops")
    asyncio.run(cache.set("market_data", "k", 1, ttl=0.05))
    time.sleep(0.1)
    assert asyncio.run(cache.get("market_data", "k")) is None
    assert asyncio.run(cache.stats()).entries == {}


def test_invalid_configuration_and_kinds_are_rejected() -> None:
    with pytest.raises(ValueError, match="backend"):
        AiocacheCache("disk")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        AiocacheCache(ttl={"market_data": -1})
    with pytest.raises(ValueError, match="namespace"):
        AiocacheCache(namespace="a:b")
    with pytest.raises(ValueError, match="scheme"):
        AiocacheCache("redis", redis_url="http://localhost")


async def test_kind_with_a_colon_is_rejected() -> None:
    cache = AiocacheCache()
    with pytest.raises(ValueError, match="kind"):
        await cache.get("market:data", "k")
    with pytest.raises(ValueError, match="kind"):
        await cache.clear("market:data")


def test_redis_url_parsing() -> None:
    assert _redis_options("redis://:p%40ss@cache.local:6380/2") == {
        "endpoint": "cache.local", "port": 6380, "db": 2, "password": "p@ss", "ssl": False,
    }  # fmt: skip
    options = _redis_options("rediss://user:pw@[::1]")
    assert (options["endpoint"], options["port"], options["db"], options["ssl"]) == ("::1", 6379, 0, True)
    assert options["connection_pool_kwargs"] == {"username": "user"}


async def test_memory_get_and_set_run_in_the_callers_task() -> None:
    # No per-call asyncio.wait_for: it cost a task and a timer per call, most of a cached read.
    cache = AiocacheCache(namespace="test-no-task")
    loop = asyncio.get_running_loop()
    created: list[object] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    previous = loop.get_task_factory()
    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        await cache.set("strategies", "k", [1, 2, 3])
        assert await cache.get("strategies", "k") == [1, 2, 3]
        assert await cache.get("strategies", "missing") is None
    finally:
        loop.set_task_factory(previous)
    assert created == []


async def test_memory_entries_per_kind_are_bounded_least_recently_used_first() -> None:
    cache = AiocacheCache(namespace="test-bounded", max_entries=3)
    for i in range(3):
        await cache.set("backtest", f"k{i}", i)
    assert await cache.get("backtest", "k0") == 0  # now the most recently used
    await cache.set("backtest", "k3", 3)
    await cache.set("backtest", "k4", 4)
    await cache.set("market_data", "other", 1)  # another kind has its own budget
    assert [await cache.get("backtest", f"k{i}") for i in range(5)] == [0, None, None, 3, 4]
    assert (await cache.stats()).entries == {"backtest": 3, "market_data": 1}


async def test_memory_bytes_per_kind_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    cache = AiocacheCache(namespace="test-bytes", max_bytes=50_000)
    for i in range(10):
        await cache.set("backtest", f"k{i}", np.zeros(1000))  # ~8 kB pickled each
    kept = [i for i in range(10) if await cache.get("backtest", f"k{i}") is not None]
    assert kept == list(range(10 - len(kept), 10)) and 4 <= len(kept) <= 6
    with caplog.at_level(logging.WARNING, logger="gpt_trader.cache"):
        await cache.set("backtest", "huge", np.zeros(10_000))  # larger than the whole budget
    assert await cache.get("backtest", "huge") is None and "max_bytes" in caplog.text
    assert len(kept) == (await cache.stats()).entries["backtest"]
    # Replacing an entry re-counts its size instead of adding to it.
    for _ in range(20):
        await cache.set("backtest", f"k{kept[-1]}", np.zeros(1000))
    assert (await cache.stats()).entries["backtest"] == len(kept)


async def test_redis_that_never_answers_is_a_miss_within_the_socket_timeout() -> None:
    # A server that accepts and stays silent: only the client's socket timeout can end the call.
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = AiocacheCache("redis", redis_url=f"redis://127.0.0.1:{port}/0", namespace="test-silent", timeout=SHORT)
    try:
        started = time.monotonic()
        await cache.set("market_data", "k", 1)
        assert await cache.get("market_data", "k") is None
        assert time.monotonic() - started < 8 * SHORT  # set and get, each with one retry
    finally:
        await cache.close()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@attrs.frozen
class Frozen:
    """Like ``Bars``: a frozen record of read-only arrays."""

    name: str
    values: np.ndarray
    more: tuple[Any, ...] = ()


@attrs.define
class Settable:
    values: np.ndarray


async def test_memory_hands_out_one_copy_of_a_value_that_cannot_change() -> None:
    cache = AiocacheCache(namespace="test-shared", ttl={"market_data": SHORT})
    original = Frozen("AAPL", _read_only(np.arange(1000.0)), (1, 2.5, "x", None, (3,)))
    await cache.set("market_data", "bars", original)
    first = await cache.get("market_data", "bars")
    second = await cache.get("market_data", "bars")
    assert isinstance(first, Frozen)
    assert first is not original and first.values is not original.values  # a copy of its own
    assert (first.name, first.more) == (original.name, original.more)
    np.testing.assert_array_equal(first.values, original.values)
    assert second is first  # unpickled once: every later hit is that copy
    assert (await cache.stats()).entries == {"market_data": 1}
    await asyncio.sleep(AFTER_SHORT)
    assert await cache.get("market_data", "bars") is None  # the TTL still holds


@pytest.mark.parametrize(
    "value",
    [
        np.arange(10.0),  # writeable
        Frozen("a", np.arange(10.0)),  # a frozen record of a writeable array
        Frozen("a", _read_only(np.arange(10.0)), ([1],)),  # of a list
        Frozen("a", _read_only(np.arange(10.0)), ({"k": 1},)),  # of a dict
        Settable(_read_only(np.arange(10.0))),  # not frozen
        {"k": (1, 2)},
    ],
    ids=["array", "writeable-field", "list-field", "dict-field", "settable", "dict"],
)
async def test_memory_unpickles_a_value_that_can_change_on_every_hit(value: Any) -> None:
    cache = AiocacheCache(namespace="test-not-shared")
    await cache.set("backtest", "k", value)
    first = await cache.get("backtest", "k")
    assert first is not None and await cache.get("backtest", "k") is not first


def test_a_read_only_view_of_a_writeable_array_can_change() -> None:
    from adapters.immutable import immutable as _immutable

    base = np.arange(10.0)
    view = base[2:]
    view.setflags(write=False)
    assert not _immutable(view)
    assert _immutable(_read_only(np.arange(10.0))) and _immutable((1, "a", 2.5, None))
    assert not _immutable(np.array([object()], dtype=object))


async def test_a_shared_entry_keeps_its_pickled_size_in_the_byte_budget() -> None:
    cache = AiocacheCache(namespace="test-shared-bytes", max_bytes=50_000)
    for i in range(10):
        await cache.set("backtest", f"k{i}", _read_only(np.zeros(1000)))  # ~8 kB pickled each
        await cache.get("backtest", f"k{i}")  # now held as the array itself
    kept = [i for i in range(10) if await cache.get("backtest", f"k{i}") is not None]
    assert kept == list(range(10 - len(kept), 10)) and 4 <= len(kept) <= 6
    assert await cache.clear("backtest") == len(kept)
