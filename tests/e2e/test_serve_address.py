"""Issue 11.16: `gpt-trader serve` says where it listens, once it does."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.conftest import GPT_TRADER, free_port
from tests.e2e.test_serve import _wait_healthy


def test_serve_logs_the_addresses_it_listens_on(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port, ws_port = free_port(), free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [
            *command,
            "serve",
            "--mode",
            "all",
            "--port",
            str(port),
            "--ws-port",
            str(ws_port),
            "--set",
            "api.shutdown_timeout=3",
        ],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        # until the server is ready (a SIGTERM during start-up is not handled yet)
        while time.monotonic() < deadline and not any("Worker ready" in line for line in seen):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
        _wait_healthy(f"http://127.0.0.1:{port}/api/v1/system/health", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    text = "".join(seen)
    assert f"listening on http://127.0.0.1:{port}" in text, text
    assert f"listening on ws://127.0.0.1:{ws_port}" in text, text
