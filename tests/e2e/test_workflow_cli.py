"""`gpt-trader workflow ...` end to end where processes matter: detached (--async) runs, cancellation from
another process, a killed runner. Real processes sharing the default SQLite state store; the rest of
the workflow commands is tested in-process in tests/cli/test_workflow.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import assert_one_line_error

Cli = Callable[..., subprocess.CompletedProcess[str]]

RANGE = ("-p", "start=2019-01-01", "-p", "end=2023-12-31")
#: An optimisation that runs for minutes: a 39,000-point grid.
LONG = ("strategy_optimization", "-p", "space=fast=2:100:1;slow=3:400:1")


def status(cli: Cli, execution_id: str) -> dict[str, Any]:
    proc = cli("workflow", "status", execution_id, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def wait_for(
    cli: Cli, execution_id: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = status(cli, execution_id)
        if done(data):
            return data
        assert time.monotonic() < deadline, f"still {data['status']}: {data}"
        time.sleep(0.2)


def step_status(data: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in data["result"]["steps"]}


def start_async(cli: Cli, *args: str) -> str:
    proc = cli("workflow", "execute", *args, "--async")
    assert proc.returncode == 0, proc.stderr
    assert "running in the background" in proc.stderr
    execution_id = proc.stdout.strip()
    assert execution_id.startswith("wf_"), proc.stdout
    return execution_id


def wait_for_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if (
            Path(f"/proc/{pid}/stat").exists()
            and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still runs after {timeout} s")


def test_async_returns_at_once_and_status_follows_it_to_success(cli: Cli) -> None:
    started = time.monotonic()
    execution_id = start_async(cli, "multi_strategy_ensemble", *RANGE, "--executor", "inline")
    assert time.monotonic() - started < 10
    done = wait_for(cli, execution_id, lambda d: d["status"] in ("succeeded", "failed", "cancelled"))
    assert done["status"] == "succeeded", done["error"]
    report = done["result"]["report"]
    assert set(report["components"]) == {"sma_cross", "momentum", "mean_reversion", "volatility", "breakout"}
    assert done["result"]["runner"]["pid"] != os.getpid()
    table = cli("workflow", "status", execution_id)
    assert "multi_strategy_ensemble" in table.stdout and "backtest_breakout" in table.stdout


def cancel_requested_at(home: Path, execution_id: str) -> dt.datetime:
    with sqlite3.connect(home / ".gpt-trader" / "state.db") as conn:
        row = conn.execute("select created_at from executions where id = ?", (f"{execution_id}.cancel",)).fetchone()
    return dt.datetime.fromisoformat(row[0])


def test_cancel_stops_an_execution_running_in_another_process(cli: Cli, isolated_env: dict[str, str]) -> None:
    execution_id = start_async(cli, *LONG, "--set", "executor.workers=2")
    running = wait_for(cli, execution_id, lambda d: step_status(d).get("optimize") == "running")
    proc = cli("workflow", "cancel", execution_id)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ": cancelled" in proc.stdout
    data = status(cli, execution_id)
    assert data["status"] == "cancelled" and data["error"] == "cancelled on request"
    assert step_status(data) == {
        "data": "succeeded",
        "space": "succeeded",
        "optimize": "cancelled",
        "walk_forward": "cancelled",
    }
    stopped_after = dt.datetime.fromisoformat(data["finished_at"]) - cancel_requested_at(
        Path(isolated_env["HOME"]), execution_id
    )
    assert stopped_after.total_seconds() < 2.0
    again = cli("workflow", "cancel", execution_id)
    assert_one_line_error(again, 1, "already cancelled")
    # The background process exits by itself: its executor terminates the workers at once (nobody waits
    # for their jobs any more). It once hung here: a worker terminated while sending a chunk's result
    # left the pool's reader waiting forever (tests/adapters/test_executor_close.py); alone it is gone
    # well before the cancel command returns.
    wait_for_exit(running["result"]["runner"]["pid"], timeout=15)


def test_a_killed_runner_is_reported_interrupted_after_a_restart(cli: Cli) -> None:
    execution_id = start_async(cli, *LONG, "--executor", "inline")
    running = wait_for(cli, execution_id, lambda d: d["status"] == "running")
    pid = running["result"]["runner"]["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for_exit(pid, timeout=5)
    listed = {e["id"]: e for e in json.loads(cli("workflow", "list", "--format", "json").stdout)["executions"]}
    assert listed[execution_id]["status"] == "failed"
    assert listed[execution_id]["error"] == "interrupted: the process stopped while this execution was running"
    # No step is left pending or running: the stored state is consistent.
    assert set(step_status(listed[execution_id]).values()) <= {"succeeded", "cancelled", "not_run"}
