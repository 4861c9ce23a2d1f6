"""`gpt-trader workflow list | execute | status | cancel` run in-process on in-memory adapters; the
invocations of one test share a state store, as processes share the SQLite file. Detached (--async)
runs, cancellation across processes and killed runners stay end to end (tests/e2e/test_workflow_cli.py)."""

from __future__ import annotations

import json

from tests.cli.support import Cli, assert_one_line_error

RANGE = ("-p", "start=2019-01-01", "-p", "end=2023-12-31")


def test_list_shows_workflows_steps_and_inputs(cli: Cli) -> None:
    proc = cli("workflow", "list")
    assert proc.returncode == 0, proc.stderr
    assert "simple_backtest" in proc.stdout and "strategy_optimization" in proc.stdout
    assert "data → analyze ∥ select → backtest" in proc.stdout
    data = json.loads(cli("workflow", "list", "--format", "json").stdout)
    assert [w["name"] for w in data["workflows"]] == [
        "simple_backtest",
        "multi_strategy_ensemble",
        "strategy_optimization",
        "risk_managed_live_trading",
        "adaptive_strategy_selection",
        "real_time_monitoring",
    ]
    assert data["executions"] == []


def test_execute_prints_progress_then_the_report_and_is_listed_afterwards(cli: Cli) -> None:
    proc = cli("workflow", "execute", "simple_backtest", *RANGE, "-p", "symbol=MSFT")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for line in ("▶ data started", "✓ data finished in", "▶ select started", "✓ backtest finished in"):
        assert line in out, out
    assert out.index("▶ data started") < out.index("▶ analyze started") < out.index("✓ backtest finished")
    assert ": succeeded" in out and "SYNTHETIC DATA" in out and "record_id: bt_" in out
    # A new invocation (the application "restarted") lists the stored execution.
    listed = json.loads(cli("workflow", "list", "--format", "json").stdout)["executions"]
    assert [(e["name"], e["status"], e["params"]["symbol"]) for e in listed] == [
        ("simple_backtest", "succeeded", "MSFT")
    ]
    assert listed[0]["result"]["report"]["backtest"]["record_id"].startswith("bt_")


BAD_INPUT = [
    (("execute", "nope"), 1, "unknown workflow 'nope'; available: simple_backtest, multi_strategy_ensemble"),
    (("execute", "simple_backtest", "-p", "speed=3"), 1, "unknown input 'speed'"),
    (("execute", "simple_backtest", "-p", "start=2020-13-01"), 1, "must be a date YYYY-MM-DD"),
    (("execute", "simple_backtest", "-p", "symbol"), 1, "--param expects key=value"),
    (("execute", "simple_backtest", "--format", "csv"), 1, "--format must be table or json"),
    (("execute", "simple_backtest", "--async", "--set", "state.url=memory://"), 2, "--async needs a persistent"),
    (("status", "wf_nope"), 1, "'wf_nope' not found"),
    (("cancel", "wf_nope"), 1, "'wf_nope' not found"),
]


def test_bad_input_is_one_clear_line(cli: Cli) -> None:
    procs = [cli("workflow", *case[0]) for case in BAD_INPUT]
    for (_, code, message), proc in zip(BAD_INPUT, procs, strict=True):
        assert_one_line_error(proc, code, message)
