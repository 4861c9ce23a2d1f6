"""End-to-end helpers: run the real `gpt-trader` executable in an isolated home directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

GPT_TRADER = shutil.which("gpt-trader") or ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment with HOME in a temporary directory and no GPT_TRADER__ variables."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GPT_TRADER__")}
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    return env


@pytest.fixture
def cli(tmp_path: Path, isolated_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `gpt-trader ARGS` (the installed console script) and capture its output."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
        return subprocess.run(
            [*command, *args],
            cwd=tmp_path,
            env={**isolated_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session", autouse=True)
def _sanic_in_process_test_mode() -> None:
    """Sanic apps started inside the test process (ASGI, schemathesis, ``create_server``) are in test
    mode from the first one on: see ``tests.e2e.http_app.in_process_sanic`` (otherwise the second app
    started in one process can fail with ``KeyError: 'handle_request'``, whichever test ran first)."""
    from tests.e2e.http_app import in_process_sanic

    in_process_sanic()
