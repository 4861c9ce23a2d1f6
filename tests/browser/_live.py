"""Helpers of the live dashboard's browser tests: a `gpt-trader serve` that can be stopped and started again
on the same port and home (what a restart looks like to a connected page), users, sessions over REST."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import attrs

from tests.browser._serving import COMMAND
from tests.e2e.conftest import free_port


class Server:
    """`gpt-trader serve --mode api` in ``home`` on one port for its whole life, however often restarted."""

    def __init__(self, home: Path, env: dict[str, str], port: int | None = None) -> None:
        self.home, self.env, self.port = home, env, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = self.home / f"serve-{self.starts}.log"
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [*COMMAND, "serve", "--mode", "api", "--port", str(self.port)],
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: a graceful stop (sessions paused, stream numbering saved), as a deploy does."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def add_user(env: dict[str, str], home: Path, name: str, role: str, password: str) -> None:
    added = subprocess.run(
        [*COMMAND, "users", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr


def rest(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """One JSON request to the server (auth off, or with ``token``)."""
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None


def start_session(base: str, *, rate: float = 1.0, token: str | None = None, **params: Any) -> str:
    """A paper session of sma_cross on a SYNTHETIC 1-minute feed at ``rate`` bars per second."""
    body = {
        "strategy": "sma_cross",
        "symbols": ["AAPL"],
        "params": params or {"fast": 3, "slow": 8},
        "feed": {"kind": "synthetic", "timeframe": "1m", "speed": 60 * rate},
    }
    return str(rest(base, "POST", "/api/v1/sessions", body, token)["id"])


def login(page: Any, user: str, password: str) -> None:
    page.wait_for_selector("form[aria-labelledby=login-title]")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=connection]")


#: Collects every long task (> 50 ms on the main thread) of a page from its start (Chromium's Long Tasks API).
LONG_TASKS = """window.__long = [];
new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration)))
    .observe({type: 'longtask', buffered: true});"""


def overview_ready_ms(browser: Any, base: str, sessions: int) -> float:
    """A cold load of the Overview (fresh context, empty cache) until it is usable: every running session's
    row drawn with its sparkline, health shown and the live connection up; ms since navigation started."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{base}/dashboard/")
        page.wait_for_function(
            """n => document.querySelectorAll('[data-testid=running-sessions] tr[data-session]').length >= n
                && document.querySelector('[data-testid=health-status]')
                && GT.live.state() === 'live'""",
            arg=sessions,
            polling="raf",
        )
        return float(page.evaluate("performance.now()"))
    finally:
        context.close()


#: Chrome's trace category holding one "RunTask" event per main-thread task (what DevTools draws as a Task and
#: the Long Tasks API measures), with ``dur`` (wall clock) and ``tdur`` (the thread's CPU time), both in µs.
TASK_CATEGORIES = ["disabled-by-default-devtools.timeline"]
LONG_MS = 50.0


@attrs.frozen
class Watched:
    """What a page did while it was watched: its long tasks by the wall clock (the Long Tasks API), each of
    its main-thread tasks over 50 ms of wall or CPU time as (wall ms, CPU ms) from Chrome's trace, its
    longest task's CPU time and its main thread's total CPU time, and the equity messages it received."""

    long_tasks: list[float]
    slow_tasks: list[tuple[float, float]]
    longest_cpu_ms: float
    busy_cpu_ms: float
    seen: int

    @property
    def cpu_long_tasks(self) -> list[tuple[float, float]]:
        """Tasks that took over 50 ms of the page's own CPU time: long on any machine, however quiet."""
        return [t for t in self.slow_tasks if t[1] > LONG_MS]

    def line(self) -> str:
        longest = f", longest {max(self.long_tasks):.0f} ms" if self.long_tasks else ""
        slow = ", ".join(f"{w:.0f} ms wall/{c:.0f} ms CPU" for w, c in self.slow_tasks) or "none"
        return (
            f"{len(self.long_tasks)} long tasks by the wall clock{longest}; "
            f"{len(self.cpu_long_tasks)} over 50 ms of CPU (tasks over 50 ms: {slow}); "
            f"longest task {self.longest_cpu_ms:.1f} ms CPU; main thread busy {self.busy_cpu_ms:.0f} ms CPU; "
            f"{self.seen} equity messages"
        )


def main_thread_tasks(trace: bytes) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) of every task of the renderers' main threads in a Chrome trace."""
    data = json.loads(trace)
    events = data["traceEvents"] if isinstance(data, dict) else data
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }
    return [
        (e["dur"] / 1000, e.get("tdur", e["dur"]) / 1000)
        for e in events
        if e.get("name") == "RunTask" and e.get("ph") == "X" and (e["pid"], e["tid"]) in mains
    ]


def long_tasks_while_watching(browser: Any, base: str, seconds: float, path: str = "") -> Watched:
    """The Overview (or ``path``, e.g. ``#session/ID``) watched for ``seconds`` after it is up: its long tasks
    by the wall clock and, from a Chrome trace of the same time, by the page's own CPU time — on a shared
    machine a task can be long only because the page waited for a core."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(LONG_TASKS)
        page.goto(f"{base}/dashboard/{path}")
        page.wait_for_function("() => window.GT && GT.live && GT.live.state() === 'live'")
        page.wait_for_timeout(1000)  # the first load is measured on its own
        page.evaluate(
            """() => { window.__long.length = 0; window.__seen = 0;
                GT.live.follow('portfolio:updates', m => { if (m.type === 'equity') window.__seen++; }); }"""
        )
        browser.start_tracing(page=page, categories=TASK_CATEGORIES)
        try:
            page.wait_for_timeout(seconds * 1000)
            long_tasks = list(page.evaluate("window.__long"))
            seen = int(page.evaluate("window.__seen"))
        finally:
            tasks = main_thread_tasks(browser.stop_tracing())
        return Watched(
            long_tasks,
            [t for t in tasks if max(t) > LONG_MS],
            max((cpu for _wall, cpu in tasks), default=0.0),
            sum(cpu for _wall, cpu in tasks),
            seen,
        )
    finally:
        context.close()
