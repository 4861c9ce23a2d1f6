"""Benchmark: the dashboard in Debian's Chromium against a real `gpt-trader serve` (auth off, loopback).

Prints, over N fresh page loads: bytes transferred on first load (compressed, from the Resource Timing
API), time until the backtest form is interactive (median, p90), and — while a backtest is run and drawn —
the long tasks (> 50 ms) the page had. Then, with 10 paper sessions updating once a second: the Overview's
time to usable on a cold load (every session's row and sparkline, health, live connection; median, p90, and
its ratio to the backtest form measured in the same run) and the long tasks of the Overview and of one
Session view over --watch seconds, three rounds each. Goals (issue 16): first load < 300 KB, overview
interactive < 1 s, no long task with 10 sessions updating every second. A task is judged long by the page's
own main-thread CPU time (Chrome's trace, ``tdur``): on a shared machine a 5-ms task can take 60 ms of wall
clock waiting for a core. Each round prints both: wall-clock long tasks (Long Tasks API) and the tasks over
50 ms with their CPU time, the longest task's CPU time and the main thread's total CPU time.

Run on demand:  python tests/benchmarks/bench_dashboard.py [--loads 10] [--watch 20]
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LONG_TASKS = """window.__long = [];
new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
    .observe({type: 'longtask', buffered: true});"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GPT_TRADER__")}
    env.update(HOME=str(home), GPT_TRADER__API__AUTH__ENABLED="false")
    command = [
        shutil.which("gpt-trader") or sys.executable,
        *([] if shutil.which("gpt-trader") else ["-m", "entrypoints"]),
    ]
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen(
        [*command, "serve", "--mode", "api", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "listening on" not in (home / "serve.log").read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((home / "serve.log").read_text())
        time.sleep(0.2)
    return proc


def live_figures(browser: object, url: str, loads: int, watch: float) -> tuple[list[float], list[str]]:
    """Overview cold loads (ms) and one line per watch round, with 10 sessions updating every second."""
    from tests.browser._live import long_tasks_while_watching, overview_ready_ms, rest, start_session

    ids = [start_session(url, rate=1.0, fast=2 + i % 3, slow=6 + i) for i in range(10)]
    try:
        time.sleep(2)
        ready = sorted(overview_ready_ms(browser, url, 10) for _ in range(loads))
        rounds = []
        for n in range(3):
            # The peer: the same dashboard idle (the Backtest view follows no channel) — what the shared
            # machine's own noise makes long.
            for name, path in (("overview", ""), ("session", f"#session/{ids[0]}"), ("idle peer", "#backtest")):
                watched = long_tasks_while_watching(browser, url, watch, path)
                rounds.append(f"  round {n + 1} {name:9s} over {watch:.0f} s: {watched.line()}")
        return ready, rounds
    finally:
        for session_id in ids:
            rest(url, "POST", f"/api/v1/sessions/{session_id}/stop")


def main(loads: int = 10, watch: float = 20) -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    port = free_port()
    proc = serve(home, port)
    url = f"http://127.0.0.1:{port}/dashboard/#backtest"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            ready, transferred = [], []
            for _ in range(loads):
                context = browser.new_context(viewport={"width": 1280, "height": 900})  # empty cache
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("#bt-strategy option[value=sma_cross]", state="attached")
                ready.append(page.evaluate("performance.now()"))
                transferred.append(
                    page.evaluate(
                        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
                        ".reduce((n, e) => n + e.transferSize, 0)"
                    )
                )
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.add_init_script(LONG_TASKS)
            page.goto(url)
            page.wait_for_selector("#bt-strategy option[value=sma_cross]", state="attached")
            page.select_option("#bt-strategy", "sma_cross")
            page.click("button[type=submit]")
            page.wait_for_selector("[data-testid=chart] .uplot canvas", timeout=30_000)
            page.wait_for_timeout(500)
            long_tasks = page.evaluate("window.__long")
            context.close()
            overview, rounds = live_figures(browser, f"http://127.0.0.1:{port}", loads, watch)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    ready.sort()
    print(f"dashboard first load: {statistics.median(transferred) / 1024:.1f} KiB transferred (goal < 300 KB)")
    print(
        f"backtest form interactive after {statistics.median(ready):.0f} ms median, "
        f"p90 {ready[int(0.9 * (len(ready) - 1))]:.0f} ms over {loads} cold loads (goal < 1000 ms)"
    )
    print(
        f"long tasks (> 50 ms) while a backtest ran and drew: {len(long_tasks)}"
        + (f", longest {max(long_tasks):.0f} ms" if long_tasks else "")
    )
    median = statistics.median(overview)
    print(
        f"overview usable (10 running sessions) after {median:.0f} ms median, p90 "
        f"{overview[int(0.9 * (len(overview) - 1))]:.0f} ms, range {overview[0]:.0f}-{overview[-1]:.0f} ms over "
        f"{loads} cold loads (goal < 1000 ms); {median / statistics.median(ready):.2f}x the backtest form's load; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"long tasks (> 50 ms) with 10 sessions updating once a second (load average {os.getloadavg()[0]:.1f}):")
    print("\n".join(rounds))


def _arg(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


if __name__ == "__main__":
    main(int(_arg("--loads", 10)), _arg("--watch", 20))
