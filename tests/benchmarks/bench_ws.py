"""Benchmark: WebSocket fan-out — publish → receive latency, memory per idle connection, a stalled client,
and (issue 18) cross-worker delivery on the Redis bus.

Run on demand (``--help`` for the options; the defaults print the issues' figures):

    python tests/benchmarks/bench_ws.py                      # 1,000 clients, 10 s per scenario, all scenarios
    python tests/benchmarks/bench_ws.py --mode single        # issue 14 only (no Redis needed)
    python tests/benchmarks/bench_ws.py --mode cross         # issue 18's cross-worker figure only

The server (the real WebSocket app, one worker, uvloop as ``serve`` runs it) is its own process pinned
to core 0 and publishes bars of ``market:BENCH`` on the real bus, each stamped with ``time.time()``;
the clients run in this process pinned to core 1. Scenarios:

1. memory per idle connection: the server's RSS before and after CLIENTS subscribed connections;
2. CLIENTS clients (half JSON, half msgpack) at 10 messages/s: p50/p95/p99 publish → receive, and how
   many times each message was serialised (once per format, whatever the number of clients);
3. the plan's bar: 100 clients at 10 messages/s (goal p99 < 50 ms);
4. 200 clients at 10 messages/s of 2 KB, without and then with one client that never reads (a 4 KB
   receive window, filled up first), interleaved rounds: the others' p99 ratio (goal < 1.20);
5. cross-worker (issue 18): 500 clients spread over two server processes on the Redis bus (the first
   publishes), 10 messages/s: p50/p95/p99 (goal p99 < 20 ms). Skipped without Redis.

How "receive" is measured: each client socket has ``SO_TIMESTAMPNS`` on, so the kernel stamps every
segment when it reaches the client's socket; ``arrival`` is that stamp minus the publish time — the
server's delivery latency, independent of how quickly one Python process can read 1,000 sockets
(a read stamps every frame it carries with the newest segment's time: conservative). ``read`` is when
this harness (one Python process, an epoll loop and a minimal frame parser, one core for every client)
parsed the message: it adds the harness's own queueing, so it overstates, and tails most. The goals
are judged on ``arrival``; both are printed. On loopback the receive path runs inside the server's
``send``, and stamping turns on the kernel's receive timestamps for every socket: on the 2-core VM this
was written on that adds ~0.35 µs to each send (counted against the server; the floor pays it too).

The floor: the same clients and fan-out fed by a plain-socket sender (one ``send`` of one pre-built
frame per client, no server), in the same run: what this machine's kernel allows, to compare with.
The server side is printed too, less sensitive to other load than wall latencies: publish → last write
returned, the fan-out loop alone (first offer → last write), and its CPU per delivery, to set against
the floor's CPU per send (the difference is the server's Python and event loop). ``--loop asyncio``
runs the servers on asyncio's own loop instead of uvloop.
The load is open loop (the publisher keeps its schedule whatever the clients do), but it shares two cores with
whatever else runs: read them with the load average printed, and against the floor.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import multiprocessing as mp
import os
import select
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
from _options import Opt, parse  # tests/benchmarks/_options.py: the scripts run from this folder
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

CHANNEL = "market:BENCH"
FILL = "custom:bench-fill"
#: Linux's SO_TIMESTAMPNS (Python exposes no constant for it): the receive stamp as a timespec.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("qq")


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


# -- the server process ----------------------------------------------------------------------------


def serve(
    port: int, ready: Any, redis_url: str = "", namespace: str = "", leader: bool = True, loop: str = "uvloop"
) -> None:
    """``leader``: this server publishes the bars and answers ``stats`` (the other only streams)."""
    _pin(0)
    _loop_run(_serve(port, ready, redis_url, namespace, leader), loop)


def _loop_run(main: Any, loop: str) -> None:
    """Run on uvloop when installed, as ``gpt-trader serve`` does (Sanic picks uvloop by default), or on
    asyncio's own loop (``--loop asyncio``, to compare)."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        if loop == "asyncio":
            asyncio.run(main)
        else:
            uvloop.run(main)


async def _serve(port: int, ready: Any, redis_url: str, namespace: str, leader: bool) -> None:
    import asyncio

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
    loop: list[float] = []  # the fan-out loop alone: first offer → last write returned
    fanout_cpu = {"s": 0.0, "n": 0}
    group_call = ws_session._Group.__call__

    def timed(self: Any, message: Any) -> None:
        cpu = time.thread_time()
        wall = time.perf_counter()
        group_call(self, message)
        if message.channel == CHANNEL:
            loop.append(time.perf_counter() - wall)
            fanout.append(time.time() - message.data["time"])
            fanout_cpu["s"] += time.thread_time() - cpu
            fanout_cpu["n"] += len(self.clients)

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
            data = {"symbol": "BENCH", "time": time.time(), "session_id": pad}
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
            own = sorted(loop) or [0.0]
            server_side = {
                f"p{q}": ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000 for q in (50, 99)
            }
            server_side |= {f"loop_p{q}": own[min(len(own) - 1, int(q / 100 * len(own)))] * 1000 for q in (50, 99)}
            conflated = sum(c.conflated for c in app.ctx.ws.clients)
            queued = sum(len(c.queue) for c in app.ctx.ws.clients)
            per = fanout_cpu["s"] / max(1, fanout_cpu["n"]) * 1e6
            stats = {"encodes": encodes["n"], "conflated": conflated, "fanout_cpu_us": per, "queued": queued}
            stats |= {**counts, **server_side}
            await bus.publish("custom:bench-stats", "stats", stats)
        elif command.type == "fill":  # big messages on a channel only the stalled client follows
            hub = app.ctx.ws.hub
            fill = hub.registry.parse(FILL)
            for _ in range(int(command.data["count"])):
                await hub.publish(fill, "fill", {"pad": "x" * int(command.data["size"])})
        elif command.data["rate"]:
            encodes["n"], counts["published"] = 0, 0
            fanout.clear()
            loop.clear()
            fanout_cpu.update(s=0.0, n=0)
            publisher = asyncio.create_task(publish(float(command.data["rate"]), "x" * int(command.data["pad"])))
    await server.before_stop()
    await server.close()
    await server.after_stop()


# -- the clients: raw sockets, a minimal RFC 6455 client, kernel receive stamps --------------------


class Conn:
    """One WebSocket client connection: handshake, masked client frames, unmasked server frames."""

    def __init__(self, port: int, fmt: str = "json", *, rcvbuf: int = 0) -> None:
        self.fmt = fmt
        self.port = port
        self.sock = socket.socket()
        if rcvbuf:  # a tiny receive window: the server's buffers fill as soon as this client stops reading
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.buf = bytearray()
        self.loads: Callable[[bytes], Any] = msgpack.unpackb if fmt == "msgpack" else json.loads
        self.arrival: list[float] = []
        self.read: list[float] = []
        self.recording = False
        self.inbox: list[dict[str, Any]] = []  # everything but the benchmark channel's data
        self.closed: int | None = None

    def request(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        path = "/ws/v1" + ("?format=msgpack" if self.fmt == "msgpack" else "")
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def response(self) -> None:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection during the handshake")
            self.buf += chunk
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"handshake refused: {head.splitlines()[0].decode()}")
        self.buf = bytearray(rest)
        self._frames(time.time(), time.time())  # the hello may have come with the response

    def send(self, payload: dict[str, Any]) -> None:
        if self.fmt == "msgpack":
            frame = WsFrame(Opcode.BINARY, msgpack.packb(payload))
        else:
            frame = WsFrame(Opcode.TEXT, json.dumps(payload).encode())
        self.sock.sendall(frame.serialize(mask=True))

    def expect(self, type_: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block (setup only) until a message of ``type_`` arrives; the ones before it are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            for i, message in enumerate(self.inbox):
                if message.get("type") == type_:
                    del self.inbox[: i + 1]
                    return message
            if time.monotonic() > deadline or self.closed is not None:
                raise TimeoutError(f"no {type_!r} message (closed: {self.closed})")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            self.readable()

    def readable(self) -> None:
        data, ancillary, _flags, _addr = self.sock.recvmsg(262144, socket.CMSG_SPACE(TIMESPEC.size))
        now = time.time()
        if not data:
            self.closed = self.closed or 1006
            return
        stamp = now
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = TIMESPEC.unpack(raw[: TIMESPEC.size])
                stamp = seconds + nanos / 1e9
        self.buf += data
        self._frames(stamp, now)

    def _frames(self, stamp: float, now: float) -> None:
        buf = self.buf
        at = 0
        while len(buf) - at >= 2:
            opcode, length = buf[at] & 0x0F, buf[at + 1] & 0x7F
            head = 2
            if length == 126:
                if len(buf) - at < 4:
                    break
                length, head = int.from_bytes(buf[at + 2 : at + 4], "big"), 4
            elif length == 127:
                if len(buf) - at < 10:
                    break
                length, head = int.from_bytes(buf[at + 2 : at + 10], "big"), 10
            if len(buf) - at < head + length:
                break
            payload = bytes(buf[at + head : at + head + length])
            at += head + length
            if opcode in (1, 2):
                message = self.loads(payload)
                if message.get("channel") == CHANNEL:
                    if self.recording:
                        sent = message["data"]["time"]
                        self.arrival.append(stamp - sent)
                        self.read.append(now - sent)
                else:
                    self.inbox.append(message)
            elif opcode == 9:  # a control ping: answer, as any client must
                self.sock.sendall(WsFrame(Opcode.PONG, payload).serialize(mask=True))
            elif opcode == 8:
                self.closed = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        del buf[:at]

    def close(self) -> None:
        self.sock.close()


class Pool:
    """Every client of this process on one epoll loop (level-triggered, one read per readiness)."""

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.conns: dict[int, Conn] = {}

    def add(self, conn: Conn) -> None:
        conn.sock.setblocking(False)
        self.conns[conn.sock.fileno()] = conn
        self.epoll.register(conn.sock.fileno(), select.EPOLLIN)

    def remove(self, conn: Conn) -> None:
        fd = conn.sock.fileno()
        if self.conns.pop(fd, None) is not None:
            self.epoll.unregister(fd)
        conn.close()

    def pump(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        deadline = time.monotonic() + seconds
        conns = self.conns
        while (left := deadline - time.monotonic()) > 0:
            for fd, _events in self.epoll.poll(min(left, 0.05)):
                conn = conns.get(fd)
                if conn is None:
                    continue
                try:
                    conn.readable()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    conn.closed = conn.closed or 1006
                if conn.closed is not None:
                    self.epoll.unregister(fd)
                    del conns[fd]
            if until is not None and until():
                return


def connect(pool: Pool | None, port: int, n: int, fmts: tuple[str, ...] = ("json",)) -> list[Conn]:
    """``n`` subscribed clients, set up 100 at a time (a small listen backlog, no handshake pipelining)."""
    out: list[Conn] = []
    for start in range(0, n, 100):
        batch = [Conn(port, fmts[(start + i) % len(fmts)]) for i in range(min(100, n - start))]
        for conn in batch:
            conn.request()
        for conn in batch:
            conn.response()
            conn.expect("hello")
            conn.send({"action": "subscribe", "channels": [CHANNEL]})
        for conn in batch:
            conn.expect("subscribed")
            if pool is not None:
                pool.add(conn)
        out.extend(batch)
    return out


class Bench:
    """The control connection (commands to the publishing server, its stats) and the clients' pool."""

    def __init__(self, port: int) -> None:
        self.pool = Pool()
        self.control = Conn(port)
        self.control.request()
        self.control.response()
        self.control.expect("hello")
        self.control.send({"action": "subscribe", "channels": ["custom:bench-stats"]})
        self.control.expect("subscribed")
        self.pool.add(self.control)

    def command(self, type_: str, **data: Any) -> None:
        self.control.sock.setblocking(True)
        self.control.send({"action": "publish", "channel": "custom:bench", "type": type_, "data": data})
        self.control.sock.setblocking(False)

    def stats(self) -> dict[str, Any]:
        self.command("stats")

        def arrived() -> bool:
            return any(m.get("channel") == "custom:bench-stats" for m in self.control.inbox)

        self.pool.pump(10.0, arrived)
        for i, message in enumerate(self.control.inbox):
            if message.get("channel") == "custom:bench-stats":
                del self.control.inbox[: i + 1]
                return dict(message["data"])
        raise TimeoutError("the server sent no stats")

    def run(self, conns: list[Conn], rate: float, seconds: float, pad: int = 0) -> None:
        """Publish at ``rate`` for a 1 s warm-up plus ``seconds`` measured; the clients read throughout."""
        self.command("rate", rate=rate, pad=pad)
        self.pool.pump(1.0)
        for conn in conns:
            conn.recording = True
        self.pool.pump(seconds)
        for conn in conns:
            conn.recording = False
        self.command("rate", rate=0)
        self.pool.pump(0.5)

    def close(self, conns: list[Conn]) -> None:
        for conn in conns:
            self.pool.remove(conn)


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(label: str, conns: list[Conn], *, read: bool = True) -> float:
    """Print p50/p95/p99 of arrival (and read); return the arrival p99 in ms."""
    arrival = sorted(x for c in conns for x in c.arrival)
    if not arrival:
        print(f"{label}: no samples")
        return float("nan")
    line = (
        f"{label} {len(arrival):>7,} deliveries  arrival p50 {_pct(arrival, 0.50):6.2f}  "
        f"p95 {_pct(arrival, 0.95):6.2f}  p99 {_pct(arrival, 0.99):6.2f} ms"
    )
    if read:
        reads = sorted(x for c in conns for x in c.read)
        line += f"  | read p50 {_pct(reads, 0.50):6.2f}  p95 {_pct(reads, 0.95):6.2f}  p99 {_pct(reads, 0.99):6.2f} ms"
    print(line)
    return _pct(arrival, 0.99)


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


def _verdict(value: float, goal: float) -> str:
    return "goal met" if value < goal else "goal NOT met"


def single(port: int, server_pid: int, n: int, seconds: float, rounds: int) -> list[str]:
    """Issue 14's scenarios on one server; returns the summary lines."""
    _pin(1)
    bench = Bench(port)
    summary = []

    base = _rss_kb(server_pid)
    crowd = connect(bench.pool, port, n, ("json", "msgpack"))
    bench.pool.pump(1.0)
    after = _rss_kb(server_pid)
    per = (after - base) / n
    rss = f"server RSS {base / 1024:.0f} → {after / 1024:.0f} MB"
    print(f"memory: {per:.1f} KB per idle subscribed connection ({n}; {rss})")
    summary.append(f"memory per idle connection: {per:.1f} KB")

    cpu = _cpu_s(server_pid)
    bench.run(crowd, 10, seconds)
    cpu = _cpu_s(server_pid) - cpu
    counts = bench.stats()
    print(f"\n{n:,} clients, 10 msg/s on {CHANNEL} ({n * 10:,} deliveries/s); goal p99 < 10 ms")
    p99 = _report("  all    ", crowd)
    _report("  json   ", [c for c in crowd if c.fmt == "json"])
    _report("  msgpack", [c for c in crowd if c.fmt == "msgpack"])
    print(f"  serialisations: {counts['encodes']} for {counts['published']} messages × 2 formats × {n:,} clients")
    print(
        f"  server side, publish → written to all {n:,} sockets: p50 {counts['p50']:.2f} ms  p99 {counts['p99']:.2f} ms"
        f" (the fan-out loop alone: p50 {counts['loop_p50']:.2f} ms  p99 {counts['loop_p99']:.2f} ms)"
    )
    delivered = counts["published"] * n
    print(
        f"  server CPU: {cpu:.2f} s for {delivered:,} deliveries = {cpu / max(1, delivered) * 1e6:.1f} µs each, "
        f"of which the fan-out loop (Python + the kernel's send) {counts['fanout_cpu_us']:.1f} µs"
    )
    everyone = sorted(x for c in crowd for x in c.arrival)
    if everyone:
        summary.append(
            f"{n:,} clients: p50 {_pct(everyone, 0.5):.2f} ms  p95 {_pct(everyone, 0.95):.2f} ms  "
            f"p99 {p99:.2f} ms (< 10 ms: {_verdict(p99, 10)})"
        )
    bench.close(crowd)

    small = connect(bench.pool, port, 100)
    bench.run(small, 10, seconds)
    print("\n100 clients, 10 msg/s (the plan's bar: p99 < 50 ms)")
    p99 = _report("  all    ", small)
    summary.append(f"100 clients: p99 {p99:.2f} ms (< 50 ms: {_verdict(p99, 50)})")
    bench.close(small)

    print("\n200 clients, 10 msg/s of 2 KB: one stalled client (never reads) must raise the others' p99 < 20 %")
    print("  (interleaved: without, with, without, with …; the stalled client is filled up unmeasured first)")
    crowd = connect(bench.pool, port, 200)
    ratios = []
    pooled: dict[str, list[float]] = {"without": [], "with": []}
    for round_ in range(rounds):
        for conn in crowd:
            conn.arrival.clear()
            conn.read.clear()
        bench.run(crowd, 10, seconds, pad=2000)
        before = _report(f"  round {round_ + 1} without", crowd)
        pooled["without"] += [x for c in crowd for x in c.arrival]
        for conn in crowd:
            conn.arrival.clear()
            conn.read.clear()
        stalled = Conn(port, rcvbuf=4096)
        stalled.request()
        stalled.response()
        stalled.expect("hello")
        stalled.send({"action": "subscribe", "channels": [CHANNEL, FILL]})
        stalled.expect("subscribed")  # and never read again
        # Unmeasured: 720 KB on a channel only it follows fill its socket buffers (the kernel's, capped
        # at 2 × 256 KB, and the transport's 64 KB), so its bars go to its bounded, conflating queue.
        bench.command("fill", count=12, size=60_000)
        bench.pool.pump(1.0)
        bench.run(crowd, 10, seconds, pad=2000)
        with_stalled = _report(f"  round {round_ + 1} with   ", crowd)
        pooled["with"] += [x for c in crowd for x in c.arrival]
        counts = bench.stats()
        ratios.append(with_stalled / before)
        print(
            f"    ratio {ratios[-1]:.2f}; the stalled client: {counts['queued']} frames waiting in its queue, "
            f"{counts['conflated']:,} superseded bars dropped"
        )
        stalled.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stalled.close()  # a reset
        bench.pool.pump(0.5)
    without, with_ = sorted(pooled["without"]), sorted(pooled["with"])
    ratio = _pct(with_, 0.99) / _pct(without, 0.99) if without and with_ else float("nan")
    print(f"  p99 ratio with/without the stalled client, per round: {' '.join(f'{x:.2f}' for x in ratios)}")
    print(
        f"  all rounds pooled: p99 {_pct(without, 0.99):.2f} ms without, {_pct(with_, 0.99):.2f} ms with: "
        f"ratio {ratio:.2f}"
    )
    summary.append(
        f"stalled client among 200: others' p99 {_pct(without, 0.99):.2f} → {_pct(with_, 0.99):.2f} ms, "
        f"{(ratio - 1) * 100:+.0f} % (< 20 %: {_verdict(ratio, 1.2)}; per round {' '.join(f'{x:.2f}' for x in ratios)})"
    )
    bench.close(crowd)
    bench.command("stop")
    return summary


def cross(ports: list[int], n: int, seconds: float) -> list[str]:
    """``n`` clients spread over the server processes on one Redis bus; the first one publishes."""
    _pin(1)
    bench = Bench(ports[0])
    groups = [connect(bench.pool, port, n // len(ports)) for port in ports]
    everyone = [c for group in groups for c in group]
    bench.run(everyone, 10, seconds)
    print(f"\n{n} clients over {len(ports)} server processes on the Redis bus, 10 msg/s (goal p99 < 20 ms)")
    p99 = _report("  all              ", everyone)
    for i, group in enumerate(groups):
        _report(f"  server {i + 1}{' (publishes)' if i == 0 else '            '}", group)
    samples = sorted(x for c in everyone for x in c.arrival)
    bench.close(everyone)
    bench.command("stop")
    if not samples:
        return [f"cross-worker, {n} clients: no samples"]
    return [
        f"cross-worker, {n} clients on 2 servers: p50 {_pct(samples, 0.5):.2f} ms  p95 {_pct(samples, 0.95):.2f} ms  "
        f"p99 {p99:.2f} ms (< 20 ms: {_verdict(p99, 20)})"
    ]


def plain_sender(port: int, ready: Any, pipe: Any, n: int) -> None:
    """The floor's server: ``n`` plain TCP connections on core 0, one pre-built frame ``send`` to each
    per message — the least work a Python fan-out can do, so what it costs is mostly the kernel's."""
    _pin(0)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    ready.set()
    socks = [listener.accept()[0] for _ in range(n)]
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as uvloop's transports
    rate, seconds = pipe.recv()
    cpu, sends, seq = 0.0, 0, 0
    next_at = time.monotonic()
    end = next_at + seconds
    while next_at < end:
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.monotonic()))
        seq += 1
        message = {"channel": CHANNEL, "type": "bar", "seq": seq, "ts": "", "data": {"symbol": "BENCH"}}
        message["data"]["time"] = time.time()
        frame = WsFrame(Opcode.TEXT, json.dumps(message).encode()).serialize(mask=False)
        started = time.thread_time()
        for sock in socks:
            sock.send(frame)
        cpu += time.thread_time() - started
        sends += n
    pipe.send(cpu / max(1, sends) * 1e6)
    for sock in socks:
        sock.close()


def floor(context: Any, n: int, seconds: float) -> list[str]:
    """The same fan-out (``n`` clients, 10 msg/s) from ``plain_sender``: this machine's floor, measured
    by the same clients in the same run, to compare the server's figures with."""
    _pin(1)
    port = _free_port()
    ready = context.Event()
    here, there = context.Pipe()
    sender = context.Process(target=plain_sender, args=(port, ready, there, n), daemon=True)
    sender.start()
    if not ready.wait(30):
        raise SystemExit("the plain sender did not start")
    pool = Pool()
    conns = [Conn(port) for _ in range(n)]
    for conn in conns:
        pool.add(conn)
    here.send((10.0, 1.0 + seconds))
    pool.pump(1.0)
    for conn in conns:
        conn.recording = True
    pool.pump(seconds)
    for conn in conns:
        conn.recording = False
    per_send = here.recv()
    sender.join(10)
    print(f"\nthe floor: the same {n:,}-client fan-out from a plain-socket sender (one send per client, no server)")
    p99 = _report("  all    ", conns)
    print(f"  sender CPU per send: {per_send:.1f} µs (the kernel's TCP send and loopback receive, mostly)")
    for conn in conns:
        pool.remove(conn)
    return [f"floor ({n:,} plain sockets, same clients): p99 {p99:.2f} ms, {per_send:.1f} µs CPU per send"]


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
    args = parse(
        "bench_ws",
        __doc__.split("\n\n")[0] if __doc__ else "",
        [
            Opt("clients", int, 1000, "clients of the main scenario (default 1000)"),
            Opt("seconds", float, 10.0, "measured seconds per scenario (default 10)"),
            Opt("rounds", int, 3, "stalled-client rounds (default 3)"),
            Opt("cross-clients", int, 500, "clients of the cross-worker scenario (default 500)"),
            Opt("mode", str, "all", "single, cross, floor or all (default all)", ("single", "cross", "floor", "all")),
            Opt("loop", str, "uvloop", "the servers' event loop: uvloop (as serve) or asyncio", ("uvloop", "asyncio")),
        ],
    )
    import resource
    import uuid

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    context = mp.get_context("spawn")
    loop = args.loop if importlib.util.find_spec("uvloop") else "asyncio"
    print(f"bench_ws: servers on core 0, clients on core 1, {loop}; load average {os.getloadavg()[0]:.1f}")
    summary: list[str] = []
    if args.mode in ("single", "all"):
        port = _free_port()
        server = _start(context, port, "", "", True, loop)
        try:
            summary += single(port, server.pid or 0, args.clients, args.seconds, args.rounds)
        finally:
            _stop(server)
    if args.mode in ("floor", "all"):
        summary += floor(context, args.clients, args.seconds)
    url = _redis_url() if args.mode in ("cross", "all") else None
    if url is not None:
        namespace = f"gpt-trader-bench:{uuid.uuid4().hex}"
        ports = [_free_port(), _free_port()]
        servers = [_start(context, port, url, namespace, i == 0, loop) for i, port in enumerate(ports)]
        try:
            summary += cross(ports, args.cross_clients, args.seconds)
        finally:
            _stop(*servers)
            import redis

            client = redis.Redis.from_url(url)
            for key in client.scan_iter(f"{namespace}:*"):
                client.delete(key)
    print(f"\nsummary (publish → arrival at the client socket; load average {os.getloadavg()[0]:.1f} at the end)")
    for line in summary:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
