"""A SIGTERM at any moment after ``serve`` opens its port stops it cleanly (exit 0, resources released).

Sanic binds the port before its start-up listeners run and installs its signal handlers after them:
a SIGTERM in that window used to kill the process (exit -15) or be swallowed (the server ran on)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER, free_port


def _wait_port(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            return
        except OSError:
            time.sleep(0.001)
    raise AssertionError("the port never opened")


# Right after the port opens (start-up listeners), then later into the start-up and the ready server.
@pytest.mark.parametrize("delay", [0.0, 0.0, 0.0, 0.01, 0.03, 0.06, 0.1, 0.2])
@pytest.mark.parametrize("mode", ["api", "all"])
def test_sigterm_right_after_the_port_opens_stops_cleanly(
    mode: str, delay: float, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    port, ws_port = free_port(), free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "serve", "--mode", mode, "--port", str(port), "--ws-port", str(ws_port)],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_port(port, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        output = proc.stdout.read() if proc.stdout else ""
        assert code == 0, output
        assert "resources released" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
