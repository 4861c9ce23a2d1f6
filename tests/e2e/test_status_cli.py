"""`gpt-trader status` in an isolated home, and a real `gpt-trader serve --mode api` whose `/metrics`
counts the requests it answered."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from adapters.state.sqlite import SqliteStateStore
from gpt_trader_core.domain.records import Execution, ExecutionStatus
from tests.e2e.conftest import GPT_TRADER, free_port
from tests.unit.test_prometheus_exposition import parse_prometheus, sample

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _seed_execution(home: Path) -> None:
    async def seed() -> None:
        store = SqliteStateStore.from_url(f"sqlite:///{home / '.gpt-trader' / 'state.db'}")
        await store.open()
        try:
            await store.add_execution(
                Execution(
                    id="ex_seeded", kind="workflow", name="nightly", status=ExecutionStatus.SUCCEEDED, progress=1.0
                )
            )
        finally:
            await store.close()

    asyncio.run(seed())


def test_status_json_without_a_server(cli: Cli, isolated_env: dict[str, str]) -> None:
    home = Path(isolated_env["HOME"])
    _seed_execution(home)
    proc = cli("status", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    system = data["system"]
    assert system["data_dir"] == str(home / ".gpt-trader") and system["config_file"] is None
    assert system["market_data"] == {"source": "synthetic", "synthetic": True, "label": "SYNTHETIC (seed=0)"}
    assert data["status"] == "ok"
    assert {c["name"]: c["ok"] for c in data["components"]} == {"state_store": True, "cache": True, "executor": True}
    assert all(c["latency_ms"] >= 0 for c in data["components"])
    assert [(e["id"], e["status"]) for e in data["executions"]] == [("ex_seeded", "succeeded")]
    metrics = data["metrics"]
    for key in ("cpu_percent", "memory_percent", "disk_percent"):
        assert 0 <= metrics[key] <= 100
    assert metrics["process_rss_mb"] > 0 and metrics["loop_lag_ms"] >= 0
    assert isinstance(data["alerts"], list)
    assert data.get("sessions", []) == [] and "sessions_error" not in data  # none started: an empty section


def test_status_table_says_synthetic(cli: Cli) -> None:
    proc = cli("status")
    assert proc.returncode == 0, proc.stderr
    for text in (
        "SYNTHETIC (seed=0)",
        "SYNTHETIC DATA",
        "Components (ok)",
        "state_store",
        "Recent executions",
        "Alerts",
    ):
        assert text in proc.stdout, text


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read().decode()


def test_served_metrics_count_requests_and_parse_as_prometheus(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port = free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "serve", "--mode", "api", "--port", str(port), "--set", "system.log_format=json"],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if _get(f"{base}/api/v1/system/health/live")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        for _ in range(3):
            assert _get(f"{base}/api/v1/system/health/live")[0] == 200
        assert _get(f"{base}/api/v1/no/such/route")[0] == 404
        status, content_type, body = _get(f"{base}/metrics")
        assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
        families = parse_prometheus(body)
        requests = families["gpt_trader_http_requests_total"]
        assert requests.type == "counter"
        assert sample(requests, method="GET", route="/api/v1/system/health/live", status="200") == 4
        assert sample(requests, method="GET", route="unmatched", status="404") == 1
        latency = families["gpt_trader_http_request_duration_seconds"]
        assert latency.type == "histogram"
        assert (
            sample(
                latency,
                "gpt_trader_http_request_duration_seconds_count",
                method="GET",
                route="/api/v1/system/health/live",
            )
            == 4
        )
        assert "gpt_trader_system_memory_percent" in families  # the monitoring task ticked at start

        status, content_type, body = _get(f"{base}/api/v1/system/metrics")
        snapshot = json.loads(body)
        assert status == 200 and content_type.startswith("application/json")
        assert snapshot["health"]["status"] == "ok" and snapshot["requests"]["count"] >= 6
        assert 0 <= snapshot["system"]["cpu_percent"] <= 100 and snapshot["alerts"] is not None
        assert "gpt_trader_http_requests_total" in snapshot["metrics"]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        output = proc.stdout.read() if proc.stdout else ""
        assert "resources released" in output and "cancelled before it completed" not in output
        for line in output.splitlines():
            json.loads(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
