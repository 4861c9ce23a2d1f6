"""Helpers of the live dashboard's browser tests: a `gpt-trader serve` that can be stopped and started again
on the same port and home (what a restart looks like to a connected page), users, sessions over REST."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

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


def long_tasks_while_watching(browser: Any, base: str, seconds: float, path: str = "") -> tuple[list[float], int]:
    """Long tasks of the Overview (or ``path``, e.g. ``#session/ID``) watched for ``seconds`` after it is up,
    and how many equity messages it received meanwhile."""
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
        page.wait_for_timeout(seconds * 1000)
        return list(page.evaluate("window.__long")), int(page.evaluate("window.__seen"))
    finally:
        context.close()
