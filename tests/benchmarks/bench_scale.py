"""Benchmark: the scale-out adapters against their embedded peers, measured in the same run.

Run on demand (needs Redis at 127.0.0.1:6379 and PostgreSQL at 127.0.0.1:5432, database ``test``):

    python tests/benchmarks/bench_scale.py [--events 2000] [--bars 300]

Bus: publish → receive latency of one event (one publisher, one ``*`` subscriber in the same process,
the next event published only after the previous one arrived: closed loop, so no queueing), memory
bus vs Redis Streams bus; medians and p99, and the ratio Redis / memory.
State: ``commit_bar`` of a paper session (2 orders, 1-2 fills, positions, equity per bar) and
``get_backtest`` of a 40-trade backtest, SQLite file vs PostgreSQL (a fresh schema, dropped after).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _bus_latency(bus: Any, events: int) -> list[float]:
    subscription = bus.subscribe("*", max_queue=events + 10)
    for i in range(20):  # warm-up: connections, script load, reader started
        await bus.publish("bench:warm", "ticked", {"i": i})
        await subscription.get(5)
    latencies = []
    for i in range(events):
        started = time.perf_counter()
        await bus.publish("bench:t", "ticked", {"i": i, "price": 100.0 + i})
        event = await subscription.get(5)
        latencies.append(time.perf_counter() - started)
        assert event is not None and event.data["i"] == i
    await subscription.close()
    return latencies


async def bench_bus(events: int) -> None:
    from adapters.bus.memory import InMemoryEventBus
    from adapters.bus.redis import RedisEventBus

    memory = await _bus_latency(InMemoryEventBus(), events)
    namespace = f"gpt-trader-bench:{uuid.uuid4().hex}"
    redis_bus = RedisEventBus(REDIS_URL, namespace=namespace, block_ms=1000)
    try:
        redis_ = await _bus_latency(redis_bus, events)
    finally:
        await redis_bus.close()
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    print(f"bus publish→receive, {events} events (closed loop):")
    for name, values in (("memory", memory), ("redis", redis_)):
        median, p99 = statistics.median(values) * 1e6, _quantile(values, 0.99) * 1e6
        print(f"  {name:7s} median {median:8.1f} µs   p99 {p99:8.1f} µs")
    print(f"  ratio redis/memory (median) {statistics.median(redis_) / statistics.median(memory):.0f}×")


async def _state_times(store: Any, bars: int) -> tuple[list[float], list[float]]:
    from tests.adapters import _trading_writer as writer
    from tests.adapters._state_writer import backtest_for

    commits = []
    for bar in range(bars):
        started = time.perf_counter()
        await writer.commit(store, bar)
        commits.append(time.perf_counter() - started)
    record = backtest_for("bench", 1)
    await store.save_backtest(record)
    reads = []
    for _ in range(bars):
        started = time.perf_counter()
        await store.get_backtest(record.id)
        reads.append(time.perf_counter() - started)
    return commits, reads


async def bench_state(bars: int) -> None:
    import psycopg

    from adapters.state import SqliteStateStore
    from adapters.state.postgres import PostgresStateStore

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SqliteStateStore(Path(tmp) / "state.db")
        await sqlite.open()
        try:
            sqlite_times = await _state_times(sqlite, bars)
        finally:
            await sqlite.close()
    schema = f"bench_{uuid.uuid4().hex}"
    postgres = PostgresStateStore.from_url(f"{POSTGRES_URL}?schema={schema}")
    await postgres.open()
    try:
        postgres_times = await _state_times(postgres, bars)
    finally:
        await postgres.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(f"state store, {bars} bars (synchronous_commit / synchronous=FULL on both):")
    for label, index in (("commit_bar", 0), ("get_backtest (40 trades)", 1)):
        s, p = statistics.median(sqlite_times[index]), statistics.median(postgres_times[index])
        print(f"  {label:26s} sqlite {s * 1e3:7.2f} ms   postgres {p * 1e3:7.2f} ms   ratio {p / s:.2f}×")


def _parse(argv: list[str]) -> dict[str, int]:
    """``--events N --bars N`` (no argparse in this project)."""
    options = {"events": 2000, "bars": 300}
    for name, value in zip(argv[::2], argv[1::2], strict=False):
        options[name.removeprefix("--")] = int(value)
    return options


async def main() -> None:
    options = _parse(sys.argv[1:])
    await bench_bus(options["events"])
    await bench_state(options["bars"])


if __name__ == "__main__":
    asyncio.run(main())
