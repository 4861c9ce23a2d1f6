"""Benchmark: the scale-out adapters against their embedded peers, measured in the same run.

Run on demand (needs Redis at 127.0.0.1:6379 and PostgreSQL at 127.0.0.1:5432, database ``test``):

    python tests/benchmarks/bench_scale.py [--events 2000] [--bars 300] [--rounds 3] [--duration 10] [--workers-only]

Bus: publish → receive latency of one event (one publisher, one ``*`` subscriber in the same process,
the next event published only after the previous one arrived: closed loop, so no queueing), memory
bus vs Redis Streams bus; medians and p99, and the ratio Redis / memory.
State: ``commit_bar`` of a paper session (2 orders, 1-2 fills, positions, equity per bar), the same
with its events in the outbox (the engine's 6-7 per bar, the previous bar's marked sent in the same
transaction), and ``get_backtest`` of a 40-trade backtest, SQLite file vs PostgreSQL (a fresh
schema, dropped after).
Workers: requests/s of a cached read (``GET /api/v1/strategies/list``) from ``gpt-trader serve
--workers 2`` vs ``--workers 1``, same settings (Redis bus, SQLite state, auth and rate limits off),
measured by ``wrk`` (C, one thread, 64 keep-alive connections, closed loop) in alternating rounds; the
ratio of each round's pair, and its spread over the rounds. Nothing is pinned: on this 2-core machine
two workers need both cores, so wrk shares them with the server (with one worker it has a core of its
own) — the ratio is what two workers gain on this machine WITH the load generator on it, which
understates what they gain behind a load balancer on another host.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from _options import Opt, parse  # noqa: E402  (tests/benchmarks/_options.py: the scripts run from this folder)

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


def _events_for(bar: int) -> list[Any]:
    """What the engine stages for a bar like the writer's: the bar, 2 orders, fills, positions, equity."""
    from gpt_trader_core.ports import OutboxEvent
    from tests.adapters import _trading_writer as writer

    source, topic = f"session:{writer.SESSION}:bench", f"session:{writer.SESSION}"
    data: list[tuple[str, dict[str, Any]]] = [("bar_processed", {"bar": bar, "close": writer.price_of(bar)})]
    data += [(f"order_{o.status.value}", {"client_order_id": o.order.client_order_id}) for o in writer.orders_for(bar)]
    data += [("fill_recorded", {"fill_id": f.fill_id, "price": f.price}) for f in writer.fills_for(bar)]
    data += [("position_changed", {"positions": len(writer.positions_for(bar))}), ("portfolio_updated", {"bar": bar})]
    return [
        OutboxEvent(source, bar * 10 + i + 1, topic, type_, {"session_id": writer.SESSION, **payload})
        for i, (type_, payload) in enumerate(data)
    ]


async def _state_times(store: Any, bars: int) -> tuple[list[float], list[float], list[float]]:
    from tests.adapters import _trading_writer as writer
    from tests.adapters._state_writer import backtest_for

    # Alternating bars with and without events: drift in the machine's load hits both alike.
    commits, with_outbox = [], []
    for bar in range(2 * bars):
        events = _events_for(bar) if bar % 2 else ()
        # the previous outbox bar's events: published meanwhile, deleted by this commit
        sent = {events[0].source: (bar - 2) * 10 + 9} if events and bar > 2 else None
        started = time.perf_counter()
        await store.commit_bar(
            writer.session_for(bar),
            writer.orders_for(bar),
            writer.fills_for(bar),
            writer.positions_for(bar),
            writer.equity_for(bar),
            events,
            sent,
        )
        (with_outbox if events else commits).append(time.perf_counter() - started)
    record = backtest_for("bench", 1)
    await store.save_backtest(record)
    reads = []
    for _ in range(bars):
        started = time.perf_counter()
        await store.get_backtest(record.id)
        reads.append(time.perf_counter() - started)
    return commits, reads, with_outbox


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
    for label, index in (("commit_bar", 0), ("commit_bar + outbox", 2), ("get_backtest (40 trades)", 1)):
        s, p = statistics.median(sqlite_times[index]), statistics.median(postgres_times[index])
        print(f"  {label:26s} sqlite {s * 1e3:7.2f} ms   postgres {p * 1e3:7.2f} ms   ratio {p / s:.2f}×")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(tmp: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    exe = shutil.which("gpt-trader") or str(Path(sys.executable).with_name("gpt-trader"))
    settings = {
        "state.url": f"sqlite:///{tmp}/state.db",
        "bus.backend": "redis",
        "bus.namespace": f"gpt-trader-bench:{uuid.uuid4().hex[:8]}",
        "api.auth.enabled": "false",
        "api.rate_limits.enabled": "false",  # one client address sends everything: throughput, not limits
        "executor.workers": "1",
        "system.log_level": "WARNING",
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    log = (tmp / f"serve-{workers}.log").open("wb")
    proc = subprocess.Popen(
        [exe, "serve", "--workers", str(workers), "--port", str(port), *sets],
        cwd=tmp,
        env={**os.environ, "HOME": str(tmp)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    import urllib.request

    while time.monotonic() < deadline:  # every worker answers: wait until each has logged that it listens
        if proc.poll() is not None:
            raise SystemExit(f"serve --workers {workers} exited: {(tmp / f'serve-{workers}.log').read_text()}")
        try:
            with urllib.request.urlopen(base + "/api/v1/strategies/list", timeout=2) as response:
                if response.status == 200 and (workers == 1 or _listening(proc.pid, port) >= workers):
                    return proc, base
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"serve --workers {workers} did not start")


def _listening(parent: int, port: int) -> int:
    """How many worker processes of ``parent`` listen on ``port``."""
    import psutil

    count = 0
    for child in psutil.Process(parent).children(recursive=True):
        try:
            if any(c.laddr and c.laddr.port == port and c.status == "LISTEN" for c in child.net_connections("tcp")):
                count += 1
        except psutil.Error:
            continue
    return count


def _cpu_seconds(parent: int) -> float:
    """User + system CPU time of the server's processes (main and workers) so far."""
    import psutil

    total = 0.0
    for process in [psutil.Process(parent), *psutil.Process(parent).children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wrk(url: str, duration: int, connections: int = 64) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} non-2xx responses: {out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def bench_workers(rounds: int, duration: int) -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    path = "/api/v1/strategies/list"
    results: dict[int, list[float]] = {1: [], 2: []}
    per_cpu: dict[int, list[float]] = {1: [], 2: []}
    print(f"workers: cached read {path}, wrk -t1 -c64, {duration} s per run, {rounds} rounds, nothing pinned")
    print(f"  load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if os.getloadavg()[0] > (os.cpu_count() or 1) / 2:
        print(  # the scheduler shares a busy CPU per runnable process: two workers get a bigger share than one
            "  WARNING: the machine is busy; on contended cores two workers take more of the CPU than one, "
            "which inflates the ratio: measure again when the load average is below 1"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            order = (1, 2) if round_ % 2 == 0 else (2, 1)  # alternate: drift in the machine's load hits both
            for workers in order:
                proc, base = _serve(Path(tmp), workers)
                try:
                    _wrk(base + path, 2)  # warm-up: caches, connections
                    cpu = _cpu_seconds(proc.pid)
                    rps = _wrk(base + path, duration)
                    cpu = _cpu_seconds(proc.pid) - cpu
                finally:
                    _stop(proc)
                results[workers].append(rps)
                per_cpu[workers].append(rps * duration / cpu)
                print(
                    f"  round {round_ + 1}: {workers} worker(s) {rps:9.0f} req/s, "
                    f"server CPU {cpu / duration:.2f} cores, {rps * duration / cpu:.0f} req per CPU-second",
                    flush=True,
                )
    ratios = [two / one for one, two in zip(results[1], results[2], strict=True)]
    for workers, values in results.items():
        print(
            f"  {workers} worker(s): median {statistics.median(values):9.0f} req/s "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )
    print(
        f"  ratio 2/1 workers per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}× (spread {min(ratios):.2f}–{max(ratios):.2f}; goal ≥ 1.6×)"
    )
    print(
        "  req per server CPU-second, 1 vs 2 workers: "
        f"{statistics.median(per_cpu[1]):.0f} vs {statistics.median(per_cpu[2]):.0f} "
        "(equal: scaling out costs nothing per request; the ratio is then bounded by the cores the machine gave)"
    )
    print(f"  load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


async def main() -> None:
    options = parse(
        "bench_scale",
        "Benchmark of running several workers: the Redis bus, the state stores, 2 workers against 1.",
        [
            Opt("events", int, 2000, "events published through the bus (default 2000)"),
            Opt("bars", int, 300, "bars committed to each state store (default 300)"),
            Opt("rounds", int, 3, "rounds of 1 worker against 2 (default 3)"),
            Opt("duration", int, 10, "seconds per wrk run (default 10)"),
            Opt("workers-only", None, False, "only the 1-against-2-workers measurement"),
        ],
    )
    if not options.workers_only:
        await bench_bus(options.events)
        await bench_state(options.bars)
    await asyncio.to_thread(bench_workers, options.rounds, options.duration)


if __name__ == "__main__":
    asyncio.run(main())
