"""A real `gpt-trader serve --mode api` whose `/metrics` counts the requests it answered (`status` itself is
tested in-process in tests/cli/test_status.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import GPT_TRADER, free_port
from tests.unit.test_prometheus_exposition import parse_prometheus, sample

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read().decode()


#: auth (issue 13): /metrics needs the viewer role; on loopback with auth off every request may read it.
AUTH_OFF = ("--set", "api.auth.enabled=false")


def test_served_metrics_count_requests_and_parse_as_prometheus(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port = free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "serve", "--mode", "api", "--port", str(port), "--set", "system.log_format=json", *AUTH_OFF],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        # Readiness is asked of another route: a probe that timed out on a loaded machine may still have been
        # counted, and the counts below must be exactly the requests this test made.
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if _get(f"{base}/api/v1/system/health")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        for _ in range(4):
            assert _get(f"{base}/api/v1/system/health/live")[0] == 200
        assert _get(f"{base}/api/v1/no/such/route")[0] == 404
        # The monitoring task's first tick runs right after start-up: wait for it, not for a fixed time.
        while True:
            status, content_type, body = _get(f"{base}/metrics")
            assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
            families = parse_prometheus(body)
            if "gpt_trader_system_memory_percent" in families or time.monotonic() > deadline:
                break
            time.sleep(0.05)
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
