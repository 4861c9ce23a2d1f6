"""Benchmark: WebSocket fan-out — publish → receive latency, memory per idle connection, a stalled client.

Run on demand:  python tests/benchmarks/bench_ws.py [CLIENTS] [SECONDS] [MODE]   (defaults 1000, 10, all)

The server (the real WebSocket app, one worker) runs in its own process pinned to core 0 and publishes
bars of ``market:BENCH`` on the real in-memory bus, each stamped with ``time.monotonic()`` (one clock
for every process on Linux); the clients (real ``websockets`` connections) run in this process pinned
to core 1 and measure publish → receive. Scenarios:

1. memory per idle connection: the server's RSS before and after CLIENTS subscribed connections;
2. CLIENTS clients (half JSON, half msgpack) at 10 messages/s: p50/p95/p99 per format, and how many
   times each message was serialised (once per format, whatever the number of clients);
3. the plan's bar: 100 clients at 10 messages/s (goal p99 < 50 ms);
4. 200 clients at 10 messages/s of 2 KB, without and then with one client that never reads, three
   interleaved rounds: the others' p99 ratio per round (goal < 1.20);
5. cross-worker (issue 18): 500 clients spread over two server processes on the Redis bus (one of them
   publishes), 10 messages/s: p50/p95/p99 publish → receive (goal p99 < 20 ms). Skipped without Redis.

``bench_ws.py [CLIENTS] [SECONDS] [single|cross|all]``.

Closed-loop caveat: the clients share one core and one Python process, so their own queueing is part
of the figures (they overstate the server's latency, and tails most).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import websockets

CHANNEL = "market:BENCH"


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


# -- the server process ----------------------------------------------------------------------------


def serve(port: int, ready: Any, redis_url: str = "", namespace: str = "", leader: bool = True) -> None:
    """``leader``: this server publishes the bars and answers ``stats`` (the other only streams)."""
    _pin(0)
    _loop_run(_serve(port, ready, redis_url, namespace, leader))


def _loop_run(main: Any) -> None:
    """Run on uvloop when installed, as ``gpt-trader serve`` does (Sanic picks uvloop by default)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def _serve(port: int, ready: Any, redis_url: str, namespace: str, leader: bool) -> None:
    from entrypoints.container import build_container
    from entrypoints.http.app import create_ws_app
    from entrypoints.http.ws.deflate import StreamProtocol
    from entrypoints.http.ws.frames import Frame
    from entrypoints.settings import load_settings

    home = Path(tempfile.mkdtemp())
    overrides = [
        "state.url=memory://",
        f"system.data_dir={home}",
        "api.auth.enabled=false",
        "websocket.max_connections=5000",
        "websocket.heartbeat_interval=60",
        "websocket.send_queue=100",
        "websocket.live_feed=off",  # market:BENCH carries the benchmark's bars only
    ]
    if redis_url:  # several server processes on one Redis bus (issue 18)
        overrides += ["bus.backend=redis", f"bus.redis_url={redis_url}", f"bus.namespace={namespace}"]
    settings = load_settings(env={}, cwd=home, home=home, overrides=overrides).settings
    container = build_container(settings, executor="inline")
    app = create_ws_app(container, settings, name="bench_ws")
    encodes = {"n": 0}
    original = Frame.encoded

    def counting(self: Frame, fmt: str) -> Any:
        if fmt not in self._encoded:
            encodes["n"] += 1
        return original(self, fmt)

    Frame.encoded = counting  # type: ignore[method-assign]
    # Server side: publish → the frame handed to every client's socket (the whole fan-out of one message).
    from entrypoints.http.ws import session as ws_session

    fanout: list[float] = []
    group_call = ws_session._Group.__call__

    def timed(self: Any, message: Any) -> None:
        group_call(self, message)
        if message.channel == CHANNEL:
            fanout.append(time.monotonic() - message.data["time"])

    ws_session._Group.__call__ = timed  # type: ignore[method-assign]
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False, protocol=StreamProtocol, backlog=4096
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    bus = container.adapters.event_bus()
    control = bus.subscribe("custom:bench", max_queue=100)
    ready.set()
    counts = {"published": 0}

    async def publish(rate: float, pad: str) -> None:
        next_at = time.monotonic()
        while True:
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            counts["published"] += 1
            data = {"symbol": "BENCH", "time": time.monotonic(), "session_id": pad}
            await bus.publish("session:bench", "bar_processed", data)

    publisher: asyncio.Task[None] | None = None
    async for command in control:
        if publisher is not None:
            publisher.cancel()
            publisher = None
        if command.type == "stop":
            break
        if not leader:
            continue
        if command.type == "stats":
            ordered = sorted(fanout) or [0.0]
            server_side = {
                f"p{q}": ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000 for q in (50, 99)
            }
            conflated = sum(c.conflated for c in app.ctx.ws.clients)
            stats = {"encodes": encodes["n"], "conflated": conflated, **counts, **server_side}
            await bus.publish("custom:bench-stats", "stats", stats)
        elif command.data["rate"]:
            encodes["n"], counts["published"] = 0, 0
            fanout.clear()
            publisher = asyncio.create_task(publish(float(command.data["rate"]), "x" * int(command.data["pad"])))
    await server.before_stop()
    await server.close()
    await server.after_stop()


# -- the clients -----------------------------------------------------------------------------------


class Receiver:
    def __init__(self, url: str, fmt: str, stalled: bool = False) -> None:
        self.url = url + ("?format=msgpack" if fmt == "msgpack" else "")
        self.fmt = fmt
        self.stalled = stalled
        self.latencies: list[float] = []
        self.recording = False
        self.conn: Any = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        sock = None
        if self.stalled:  # a tiny receive window: the server's buffers fill as soon as it stops reading
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            host, port = self.url.split("//")[1].split("/")[0].split(":")
            sock.connect((host, int(port)))
        self.conn = await websockets.connect(self.url, sock=sock, compression=None, max_queue=4 if self.stalled else 64)
        await self.conn.recv()  # hello
        payload = {"action": "subscribe", "channels": [CHANNEL]}
        await self.conn.send(msgpack.packb(payload) if self.fmt == "msgpack" else json.dumps(payload))
        await self.conn.recv()  # subscribed
        if not self.stalled:
            self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        loads = msgpack.unpackb if self.fmt == "msgpack" else json.loads
        try:
            async for raw in self.conn:
                now = time.monotonic()
                message = loads(raw)
                if self.recording and message.get("channel") == CHANNEL:
                    self.latencies.append(now - message["data"]["time"])
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        await self.conn.close()


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (independent of how busy the machine is)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _connect(url: str, n: int, fmts: tuple[str, ...] = ("json",)) -> list[Receiver]:
    receivers = [Receiver(url, fmts[i % len(fmts)]) for i in range(n)]
    for start in range(0, n, 100):  # in batches: the listen backlog stays small
        await asyncio.gather(*(r.open() for r in receivers[start : start + 100]))
    return receivers


async def _command(control: Any, type_: str, **data: Any) -> None:
    await control.send(json.dumps({"action": "publish", "channel": "custom:bench", "type": type_, "data": data}))


async def _run(url: str, control: Any, receivers: list[Receiver], rate: float, seconds: float, pad: int = 0) -> None:
    await control.send(
        json.dumps({"action": "publish", "channel": "custom:bench", "type": "rate", "data": {"rate": rate, "pad": pad}})
    )
    await asyncio.sleep(1.0)  # warm-up
    for r in receivers:
        r.recording = True
    await asyncio.sleep(seconds)
    for r in receivers:
        r.recording = False
    await control.send(
        json.dumps({"action": "publish", "channel": "custom:bench", "type": "rate", "data": {"rate": 0}})
    )
    await asyncio.sleep(0.5)


def _report(label: str, receivers: list[Receiver]) -> float:
    samples = [x for r in receivers for x in r.latencies]
    if not samples:
        print(f"{label}: no samples")
        return float("nan")
    p99 = _pct(samples, 0.99)
    print(
        f"{label}: {len(samples):,} deliveries  p50 {_pct(samples, 0.50):.2f} ms  p95 {_pct(samples, 0.95):.2f} ms  "
        f"p99 {p99:.2f} ms  max {max(samples) * 1000:.1f} ms"
    )
    return p99


async def clients(port: int, server_pid: int, n: int, seconds: float, rounds: int = 3) -> None:
    _pin(1)
    url = f"ws://127.0.0.1:{port}/ws/v1"
    control = await websockets.connect(url)
    await control.recv()
    await control.send(json.dumps({"action": "subscribe", "channels": ["custom:bench-stats"]}))
    await control.recv()

    async def stats() -> dict[str, Any]:
        await _command(control, "stats")
        while True:
            message = json.loads(await control.recv())
            if message.get("channel") == "custom:bench-stats":
                return dict(message["data"])

    base = _rss_kb(server_pid)
    receivers = await _connect(url, n, ("json", "msgpack"))
    await asyncio.sleep(1.0)
    after = _rss_kb(server_pid)
    per = (after - base) / n
    print(f"memory: {per:.1f} KB per idle subscribed connection ({n}; RSS {base / 1024:.0f} → {after / 1024:.0f} MB)")

    cpu = _cpu_s(server_pid)
    await _run(url, control, receivers, 10, seconds)
    cpu = _cpu_s(server_pid) - cpu
    counts = await stats()
    print(f"\n{n} clients, 10 msg/s on {CHANNEL} ({n * 10:,} deliveries/s); goal p99 < 10 ms")
    _report("  all     ", receivers)
    _report("  json    ", [r for r in receivers if r.fmt == "json"])
    _report("  msgpack ", [r for r in receivers if r.fmt == "msgpack"])
    print(f"  serialisations: {counts['encodes']} for {counts['published']} messages × 2 formats × {n} clients")
    print(
        f"  server side, publish → written to all {n} sockets: p50 {counts['p50']:.2f} ms  p99 {counts['p99']:.2f} ms"
    )
    delivered = counts["published"] * n
    print(f"  server CPU: {cpu:.2f} s for {delivered:,} deliveries = {cpu / max(1, delivered) * 1e6:.1f} µs each")
    for r in receivers:
        await r.close()

    small = await _connect(url, 100)
    await _run(url, control, small, 10, seconds)
    print("\n100 clients, 10 msg/s (the plan's bar: p99 < 50 ms)")
    _report("  all     ", small)
    for r in small:
        await r.close()

    print("\n200 clients, 10 msg/s of 2 KB: one stalled client (never reads) must raise the others' p99 < 20 %")
    print("  (interleaved: without, with, without, with …; the stalled client is filled up unmeasured first)")
    crowd = await _connect(url, 200)
    ratios = []
    for round_ in range(rounds):
        for r in crowd:
            r.latencies.clear()
        await _run(url, control, crowd, 10, seconds, pad=2000)
        before = _report(f"  round {round_ + 1} without", crowd)
        for r in crowd:
            r.latencies.clear()
        stalled = Receiver(url, "json", stalled=True)
        await stalled.open()
        # Unmeasured: a burst fills the stalled client's socket buffers so it reaches its conflating queue.
        await _run(url, control, [], 100, 5, pad=2000)
        await _run(url, control, crowd, 10, seconds, pad=2000)
        with_stalled = _report(f"  round {round_ + 1} with   ", crowd)
        conflated = (await stats())["conflated"]
        ratios.append(with_stalled / before)
        print(f"    ratio {ratios[-1]:.2f}; the stalled client's queue dropped {conflated:,} superseded bars")
        stalled.conn.transport.abort()
        await asyncio.sleep(0.5)
    print(f"  p99 ratio with/without the stalled client: {' '.join(f'{x:.2f}' for x in ratios)}")
    for r in crowd:
        await r.close()
    await _command(control, "stop")
    await control.close()


async def cross(ports: list[int], n: int, seconds: float) -> None:
    """``n`` clients spread over the server processes on one Redis bus; the first one publishes."""
    _pin(1)
    urls = [f"ws://127.0.0.1:{port}/ws/v1" for port in ports]
    control = await websockets.connect(urls[0])
    await control.recv()
    groups = [await _connect(url, n // len(urls)) for url in urls]
    everyone = [r for group in groups for r in group]
    await _run(urls[0], control, everyone, 10, seconds)
    print(f"\n{n} clients over {len(urls)} server processes on the Redis bus, 10 msg/s (goal p99 < 20 ms)")
    _report("  all            ", everyone)
    for i, group in enumerate(groups):
        _report(f"  server {i + 1}{' (publishes)' if i == 0 else '            '}", group)
    for r in everyone:
        await r.close()
    await _command(control, "stop")
    await control.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _start(context: Any, *args: Any) -> Any:
    ready = context.Event()
    server = context.Process(target=serve, args=(args[0], ready, *args[1:]), daemon=True)
    server.start()
    if not ready.wait(60):
        raise SystemExit("a server did not start")
    return server


def _stop(*servers: Any) -> None:
    for server in servers:
        server.join(10)
        if server.is_alive():
            server.terminate()


def _redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception as exc:
        print(f"\ncross-worker scenario skipped: no Redis at {url} ({exc})")
        return None
    return url


def main() -> None:
    """``bench_ws.py [CLIENTS] [SECONDS] [single|cross|all]``."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    mode = sys.argv[3] if len(sys.argv) > 3 else "all"
    import resource
    import uuid

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    context = mp.get_context("spawn")
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(f"bench_ws: servers on core 0, clients on core 1, {loop}; load average {os.getloadavg()[0]:.1f}")
    if mode in ("single", "all"):
        port = _free_port()
        server = _start(context, port)
        try:
            _loop_run(clients(port, server.pid or 0, n, seconds))
        finally:
            _stop(server)
    url = _redis_url() if mode in ("cross", "all") else None
    if url is not None:
        namespace = f"gpt-trader-bench:{uuid.uuid4().hex}"
        ports = [_free_port(), _free_port()]
        servers = [_start(context, port, url, namespace, i == 0) for i, port in enumerate(ports)]
        try:
            _loop_run(cross(ports, min(n, 500), seconds))
        finally:
            _stop(*servers)
            import redis

            client = redis.Redis.from_url(url)
            for key in client.scan_iter(f"{namespace}:*"):
                client.delete(key)


if __name__ == "__main__":
    main()
