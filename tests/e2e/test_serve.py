"""`gpt-trader serve` as a real subprocess: healthy, then SIGTERM → clean exit within the bound."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER, free_port

SHUTDOWN_BOUND_S = 3.0


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            status, _ = _get(url)
            if status == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("server did not become healthy")


@pytest.mark.parametrize("mode", ["api", "all"])
def test_serve_health_then_sigterm_exits_cleanly(mode: str, tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port, ws_port = free_port(), free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [
            *command,
            "serve",
            "--mode",
            mode,
            "--port",
            str(port),
            "--ws-port",
            str(ws_port),
            "--set",
            f"api.shutdown_timeout={SHUTDOWN_BOUND_S}",
            "--set",
            "system.log_format=json",
        ],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/api/v1/system/health", proc)
        status, body = _get(f"http://127.0.0.1:{port}/api/v1/system/health")
        assert status == 200 and body["status"] == "ok"
        names = {c["name"] for c in body["components"]}  # type: ignore[union-attr]
        assert names == {"state_store", "cache", "executor", "sessions"}
        live_status, _ = _get(f"http://127.0.0.1:{port}/api/v1/system/health/live")
        assert live_status == 200
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/system/health/live", headers={"X-Request-ID": "trace-42"}
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            assert response.headers["x-request-id"] == "trace-42"
        if mode == "all":
            assert _get(f"http://127.0.0.1:{ws_port}/api/v1/system/health/live")[0] == 200
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(timeout=SHUTDOWN_BOUND_S + 10)
        assert code == 0
        assert time.monotonic() - started < SHUTDOWN_BOUND_S + 2
        output = proc.stdout.read() if proc.stdout else ""
        assert "resources released" in output
        for line in output.splitlines():  # structured logging: JSON lines only
            json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_state_database_is_created_under_the_home_directory(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port = free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/api/v1/system/health", proc)
        assert (Path(isolated_env["HOME"]) / ".gpt-trader" / "state.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


def test_several_workers_are_refused_with_the_reason(isolated_env: dict[str, str], tmp_path: Path) -> None:
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.run(
        [*command, "serve", "--set", "api.workers=3"],
        env=isolated_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "3 workers (api.workers / --workers) need bus.backend=redis" in proc.stderr
