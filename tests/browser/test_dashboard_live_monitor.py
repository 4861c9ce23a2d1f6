"""`gpt-trader monitor --dashboard --port 8080`, the plan's example, through the real console script: it
prints the dashboard's address once it listens, the page works there, Ctrl-C stops it cleanly; it keeps
serve's rule that only loopback may go without authentication."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser._serving import clean_env
from tests.browser.conftest import watch
from tests.e2e.conftest import free_port


def console_script() -> list[str]:
    """The installed `gpt-trader` of this interpreter's environment."""
    script = Path(sys.executable).with_name("gpt-trader")
    if script.exists():
        return [str(script)]
    found = shutil.which("gpt-trader")
    if found is None:
        pytest.fail("the gpt-trader console script is not installed (pip install -e .)", pytrace=False)
    return [found]


def port_8080_or_free() -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8080))
        except OSError:
            return free_port()
    return 8080


def test_monitor_dashboard_serves_the_dashboard_and_stops_on_ctrl_c(browser: Any, tmp_path: Path) -> None:
    port = port_8080_or_free()
    env = clean_env(tmp_path, GPT_TRADER__API__AUTH__ENABLED="false")
    proc = subprocess.Popen(
        [*console_script(), "monitor", "--dashboard", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("w"),
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the server listens
        url = f"http://127.0.0.1:{port}/dashboard/"
        assert line.startswith(f"Dashboard: {url}") and "Ctrl-C stops" in line, line
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = watch(context.new_page(), allowed_origin=f"http://127.0.0.1:{port}")
            page.page.goto(url)
            page.page.wait_for_selector("[data-testid=health-status]:has-text('ok')")
            page.page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=15_000)
            # The alerts panel settles into "none firing" or the list (a slow CI machine may fire
            # `slow_responses` or `high_cpu` legitimately); what must not stay is "Loading…" or an error.
            page.page.wait_for_selector("[data-testid=no-alerts], [data-testid=alerts]")
            page.screenshot("dashboard-monitor-overview")
            assert page.errors == [] and page.blocked == []
        finally:
            context.close()
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "stderr.log").read_text()
    assert "Traceback" not in log and "stopped, resources released" in log, log


def test_monitor_dashboard_refuses_other_interfaces_without_auth(tmp_path: Path) -> None:
    env = clean_env(tmp_path, GPT_TRADER__API__AUTH__ENABLED="false")
    done = subprocess.run(
        [*console_script(), "monitor", "--dashboard", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "without authentication" in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_monitor_options_of_the_two_modes_are_kept_apart(tmp_path: Path) -> None:
    env = clean_env(tmp_path, GPT_TRADER__API__AUTH__ENABLED="false")
    for args, says in (
        (["--dashboard", "--once"], "--once is for the terminal view"),
        (["--once", "--port", "8080"], "--port is for --dashboard"),
    ):
        done = subprocess.run(
            [*console_script(), "monitor", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0 and says in done.stdout + done.stderr, (args, done.stdout, done.stderr)
