"""The REST API through the real server: `gpt-trader serve` as a subprocess on a free port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import GPT_TRADER, free_port


def _call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, bytes]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("server")
    (tmp / "home").mkdir()
    port = free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    env = {"HOME": str(tmp / "home"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [
            *command,
            "serve",
            "--port",
            str(port),
            "--set",
            f"state.url=sqlite:///{tmp}/state.db",
            "--set",
            "api.auth.enabled=false",
            "--set",
            "executor.workers=1",
        ],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read() if proc.stdout else "server exited")
            try:
                if _call(base, "GET", "/api/v1/system/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_plan_paths_answer_through_the_real_server(server: str) -> None:
    status, headers, body = _call(server, "GET", "/api/v1/strategies/list")
    assert status == 200 and headers["x-request-id"] and json.loads(body)["items"]
    status, _, body = _call(
        server,
        "POST",
        "/api/v1/strategies/backtest",
        {"symbol": "AAPL", "strategy": "sma_cross", "start": "2015-01-01"},
    )
    saved = json.loads(body)
    assert status == 200 and saved["synthetic"] is True
    assert json.loads(_call(server, "GET", f"/api/v1/backtests/{saved['id']}")[2])["id"] == saved["id"]
    status, _, body = _call(server, "GET", "/api/v1/market/regime?symbol=AAPL")
    assert status == 200 and json.loads(body)["current"]
    status, headers, _ = _call(server, "GET", "/api/v1/market/data/AAPL?start=2024-01-01&end=2024-01-31&format=csv")
    assert status == 200 and headers["X-Synthetic-Data"] == "true"


def test_background_work_runs_in_the_server(server: str) -> None:
    status, headers, _ = _call(
        server,
        "POST",
        "/api/v1/workflows/execute/simple_backtest",
        {"params": {"symbol": "AAPL", "strategy": "sma_cross"}},
    )
    assert status == 202
    for _ in range(300):
        execution = json.loads(_call(server, "GET", headers["Location"])[2])
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert execution["status"] == "succeeded", execution


def test_refusals_through_the_real_server(server: str) -> None:
    status, headers, body = _call(server, "POST", "/api/v1/strategies/backtest", b"{" + b" " * 2_000_000 + b"}")
    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    status, _, body = _call(
        server, "POST", "/api/v1/sessions", {"strategy": "sma_cross", "symbols": ["AAPL"], "mode": "live"}
    )
    assert status == 409 and "live broker" in json.loads(body)["detail"]
    status, _, body = _call(server, "GET", "/api/v1/nope")
    assert status == 404 and json.loads(body)["status"] == 404
    status, _, body = _call(server, "GET", "/api/v1/openapi.json")
    assert status == 200 and json.loads(body)["openapi"] == "3.1.0"
    status, headers, body = _call(server, "GET", "/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")


def test_readme_curl_examples_work_as_written(server: str) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## HTTP API", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [c for c in section.replace("\\\n", " ").splitlines() if c.startswith("curl ")]
    assert len(commands) >= 10
    port = server.rsplit(":", 1)[1]
    for command in commands:
        line = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}") + " -o /dev/null -w '%{http_code}'"
        out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0 and out.stdout.strip()[-3:] in ("200", "201", "202"), (command, out.stdout)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7"])
def test_serve_refuses_a_non_loopback_host_without_auth(host: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.run(
        # auth (issue 13): with auth on (the default) any host is allowed; off, only loopback
        [*command, "serve", "--host", host, "--port", str(free_port()), "--set", "api.auth.enabled=false"],
        cwd=tmp_path,
        env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "bind 127.0.0.1" in proc.stderr + proc.stdout
