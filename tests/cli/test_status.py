"""`gpt-trader status` run in-process on in-memory adapters: no server needed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import Execution, ExecutionStatus
from tests.cli.support import Cli


def _seed_execution(store: InMemoryStateStore) -> None:
    async def seed() -> None:
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


def test_status_json_without_a_server(cli: Cli, store: InMemoryStateStore) -> None:
    home = Path.home()  # the isolated home of the in-process run
    _seed_execution(store)
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
