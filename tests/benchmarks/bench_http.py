"""Benchmark of the REST API (issue 12, Performance). Run on demand:

    python tests/benchmarks/bench_http.py [--duration 10] [--quick] [--only backtest]

(``--help`` lists the options; ``--only`` runs one regime, e.g. ``--only backtest`` for the synchronous backtest.)

Needs ``wrk`` (``apt-get install -y wrk``). The server (``gpt-trader serve``) is pinned to core 0, the
load generators to core 1 (``taskset``); on this 2-core machine the peer is a bare Sanic handler
measured in the same run under the same pinning. Closed-loop tools (wrk) understate tails: a slow
answer delays the next request instead of queueing behind it; the open-loop harness below sends on a
fixed schedule and measures from the scheduled send time, so queueing shows up in the percentiles.

Regimes reported:
- offered load: 100 connections offering 2,000 req/s of cached reads (open loop): p50/p95/p99;
- saturation: wrk, 100 connections, closed loop: req/s and p95, cached reads vs the bare handler
  measured just before each of them (and the server CPU time per request of both);
- 1,000 concurrent connections (wrk -c1000): errors (connect/read/write/timeout/non-2xx);
- a synchronous 10-year daily synthetic backtest, 10 concurrent (wrk, random parameters: no cache hits);
- idle RSS of the server process, and RSS growth over 100,000 requests (leak check).
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
import textwrap
import time
import urllib.request
from pathlib import Path

from _options import Opt, parse  # tests/benchmarks/_options.py: the scripts run from this folder

SERVER_CORE, CLIENT_CORE = "0", "1"
CACHED_READS = (
    "/api/v1/strategies/list",
    "/api/v1/market/regime?symbol=AAPL",
    "/api/v1/system/health/live",
)

BARE = textwrap.dedent(
    """
    import sys
    from sanic import Sanic
    from sanic.response import json

    app = Sanic("bare", configure_logging=False)
    app.config.AUTO_EXTEND = False

    @app.get("/bare")
    async def bare(request):
        return json({"ok": True})

    app.run(host="127.0.0.1", port=int(sys.argv[1]), single_process=True, access_log=False, motd=False, backlog=2048)
    """
)

#: Appended to every wrk script: wrk --latency prints 50/75/90/99 only; the goals are stated at p95.
P95_LUA = textwrap.dedent(
    """
    done = function(summary, latency, requests)
      io.write(string.format("P95_US %d\\n", latency:percentile(95)))
    end
    """
)

BACKTEST_LUA = textwrap.dedent(
    """
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    request = function()
      local fast = math.random(2, 40)
      local slow = fast + math.random(5, 150)
      local body = string.format('{"symbol": "AAPL", "strategy": "sma_cross", "params": {"fast": %d, "slow": %d}, '
        .. '"start": "2015-01-01", "end": "2024-12-31", "save": false}', fast, slow)
      return wrk.format(nil, nil, nil, body)
    end
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited (see its log)")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def start_api(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    exe = shutil.which("gpt-trader") or "gpt-trader"
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            SERVER_CORE,
            exe,
            "serve",
            "--port",
            str(port),
            "--set",
            f"state.url=sqlite:///{tmp}/state.db",
            "--set",
            "api.auth.enabled=false",
            "--set",
            "api.rate_limits.enabled=false",  # one client IP sends everything: it measures throughput, not limits
            "--set",
            "executor.workers=1",
            "--set",
            "system.log_level=WARNING",
        ],
        cwd=tmp,
        env={**os.environ, "HOME": str(tmp)},
        stdout=(tmp / "server.log").open("wb"),  # a pipe nobody reads would block the server once full
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/api/v1/system/health", proc)
    return proc, base


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, sys.executable, "-c", BARE, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/bare", proc)
    return proc, base


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds so far of process ``pid`` and every live descendant (the executor's forkserver and
    workers run the backtests: on the server's core, so their time is the server's too)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += cpu_seconds(current)
        except OSError:
            continue
        todo.extend(children.get(current, []))
    return total


def measured(proc: subprocess.Popen[bytes], url: str, duration: float) -> tuple[dict[str, float], float]:
    """wrk's figures for ``url`` at 100 connections, and the server's CPU µs per answered request."""
    before = cpu_seconds(proc.pid)
    result = wrk(url, connections=100, duration=duration)
    return result, (cpu_seconds(proc.pid) - before) / max(result["requests"], 1) * 1e6


def wrk(
    url: str, *, connections: int, duration: float, script: str | None = None, threads: int = 1
) -> dict[str, float]:
    """wrk's throughput, latency percentiles (ms) and error counts."""
    command = [
        "taskset",
        "-c",
        CLIENT_CORE,
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(duration)}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text((Path(script).read_text() if script else "") + P95_LUA)
    command += ["-s", str(lua)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"\s{pct}%\s+([\d.]+(?:us|ms|s))", out)
        result[f"p{pct}"] = ms(found.group(1)) if found else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(map(int, errors.groups())) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p95 = re.search(r"P95_US (\d+)", out)
    result["p95"] = int(p95.group(1)) / 1000 if p95 else float("nan")
    return result


async def open_loop(base: str, paths: tuple[str, ...], rate: float, duration: float, connections: int) -> list[float]:
    """Latencies (ms) of requests sent on a fixed schedule (rate/s), spread over keep-alive connections.
    Each latency counts from the scheduled send time, so a request waiting for a free connection or a
    slow server is charged its wait (no coordinated omission)."""
    host, port = base.removeprefix("http://").split(":")
    total = int(rate * duration)
    queue: asyncio.Queue[tuple[float, str]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        while True:
            item = await queue.get()
            if item is None:  # type: ignore[comparison-overlap]
                writer.close()
                return
            scheduled, path = item
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.5)  # connections established before the clock starts
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, paths[i % len(paths)]))
    for _ in workers:
        queue.put_nowait(None)  # type: ignore[arg-type]
    await asyncio.gather(*workers)
    if errors:
        print(f"  open loop: {errors} non-2xx answers")
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


REGIMES = ("saturation", "offered", "connections", "backtest", "leak")


def main() -> None:
    args = parse(
        "bench_http",
        "Benchmark of the REST API (issue 12, Performance).",
        [
            Opt("duration", float, 10.0, "seconds per wrk run (default 10)"),
            Opt("quick", None, False, "5 s per open-loop rate instead of --duration"),
            Opt("only", str, None, f"run only this regime (repeatable): {', '.join(REGIMES)}", REGIMES, multiple=True),
        ],
    )
    duration, quick = args.duration, args.quick
    only = set(args.only or REGIMES)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "backtest.lua"
    script.write_text(BACKTEST_LUA)
    print(f"server on core {SERVER_CORE}, clients on core {CLIENT_CORE}; {duration:.0f} s per wrk run")

    bare: subprocess.Popen[bytes] | None = None
    bare_base = ""
    bare_1000: dict[str, float] = {}
    try:
        if only & {"saturation", "connections"}:  # the peer, and its 1,000-connection run while nothing else runs
            bare, bare_base = start_bare()
            bare_1000 = wrk(bare_base + "/bare", connections=1000, duration=duration)
        api, base = start_api(tmp)
    except BaseException:
        if bare is not None:
            stop(bare)
        raise
    try:
        time.sleep(2)
        idle_rss = rss_mb(api.pid)
        for path in CACHED_READS:  # warm the cache
            urllib.request.urlopen(base + path).read()
        print(f"\nidle RSS of the server process: {idle_rss:.0f} MB (goal < 150 MB)")

        if "saturation" in only and bare is not None:
            # The bare handler is measured right before each of ours (both servers stay up, one loaded at a
            # time): 6 engineers share this machine and a busy spell must not fall on one side only. The
            # server's CPU time per request (from /proc) is printed too: it hardly depends on that noise.
            print("\nsaturation (wrk, closed loop, 100 connections), each against the bare handler just before it:")
            for path in CACHED_READS:
                b, b_cpu = measured(bare, bare_base + "/bare", duration)
                r, r_cpu = measured(api, base + path, duration)
                print(
                    f"  bare Sanic handler                  {b['rps']:8.0f} req/s  p50 {b['p50']:6.2f} ms  "
                    f"p95 {b['p95']:6.2f} ms  p99 {b['p99']:6.2f} ms  {b_cpu:5.1f} µs CPU/request"
                )
                print(
                    f"  {path:<36}{r['rps']:8.0f} req/s  p50 {r['p50']:6.2f} ms  p95 {r['p95']:6.2f} ms  "
                    f"p99 {r['p99']:6.2f} ms  {r_cpu:5.1f} µs CPU/request  = {r['rps'] / b['rps']:.0%} of bare "
                    f"(by CPU: {b_cpu / r_cpu:.0%}; non-2xx {r['non_2xx']:.0f})"
                )
        if bare is not None:
            stop(bare)

        if "offered" in only:
            print("\noffered load (open loop, 100 connections, cached reads round-robin):")
            for rate in (500, 1000, 2000):
                lat = asyncio.run(open_loop(base, CACHED_READS, rate, 5 if quick else duration, 100))
                print(
                    f"  {rate:5d} req/s offered: p50 {statistics.median(lat):6.2f} ms  p95 {pct(lat, 95):7.2f} ms  "
                    f"p99 {pct(lat, 99):7.2f} ms  (goal at 2,000: p95 < 10 ms, p99 < 25 ms)"
                )

        if "connections" in only:
            print("\n1,000 concurrent connections (wrk -c1000, closed loop):")
            r = wrk(base + "/api/v1/strategies/list", connections=1000, duration=duration)
            print(
                f"  gpt-trader: {r['rps']:.0f} req/s, p95 {r['p95']:.1f} ms, socket errors {r['socket_errors']:.0f}, "
                f"non-2xx {r['non_2xx']:.0f}   bare Sanic: socket errors {bare_1000['socket_errors']:.0f}"
            )

        if "backtest" in only:
            print("\nsynchronous 10-year daily synthetic backtest (sma_cross, random parameters), 10 connections:")
            url = base + "/api/v1/strategies/backtest"
            wrk(url, connections=10, duration=2, script=str(script))  # the executor's worker is started and warm
            before = tree_cpu_seconds(api.pid)
            r = wrk(url, connections=10, duration=duration, script=str(script))
            cpu_ms = (tree_cpu_seconds(api.pid) - before) / max(r["requests"], 1) * 1e3
            print(
                f"  {r['rps']:.0f} backtests/s  p50 {r['p50']:.1f} ms  p95 {r['p95']:.1f} ms  p99 {r['p99']:.1f} ms "
                f"(goal p95 < 50 ms)  {cpu_ms:.2f} ms CPU/request (server + executor worker, one core); "
                f"non-2xx {r['non_2xx']:.0f}; load average {os.getloadavg()[0]:.1f}"
            )

        if "leak" in only:
            print("\nleak check: 100,000 cached reads")
            before_mb = rss_mb(api.pid)
            done = 0.0
            while done < 100_000:
                r = wrk(base + "/api/v1/strategies/list", connections=50, duration=5)
                done += r["requests"]
            after_mb = rss_mb(api.pid)
            print(
                f"  {done:,.0f} requests: RSS {before_mb:.0f} → {after_mb:.0f} MB "
                f"({(after_mb / before_mb - 1):+.1%}; goal < +10 %)"
            )
    finally:
        stop(api)
        if bare is not None and bare.poll() is None:
            stop(bare)


if __name__ == "__main__":
    main()
