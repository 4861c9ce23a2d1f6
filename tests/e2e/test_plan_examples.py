"""The plan's CLI examples, verbatim, through the installed console script in a fresh home
(`monitor --dashboard --port 8080` is run, with a browser, by tests/browser/test_dashboard_live_monitor.py)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import GPT_TRADER

Cli = Callable[..., subprocess.CompletedProcess[str]]


def _verbatim(example: str) -> list[str]:
    words = shlex.split(example)
    assert words[0] == "gpt-trader"
    return words[1:]


def test_backtest_all_strategies(cli: Cli) -> None:
    proc = cli(*_verbatim("gpt-trader backtest --from 2024-01-01 --to 2024-12-31 --strategy all"))
    assert proc.returncode == 0, proc.stderr
    assert "AAPL: 5 strategies ranked by sharpe_ratio" in proc.stdout
    for name in ("sma_cross", "breakout", "mean_reversion", "momentum", "volatility", "Max. drawdown [%]"):
        assert name in proc.stdout


def test_optimize_mean_reversion_by_sharpe(cli: Cli) -> None:
    proc = cli(*_verbatim("gpt-trader optimize --strategy mean_reversion --metric sharpe"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "mean_reversion" in proc.stdout and "Traceback" not in proc.stderr


def test_status_json(cli: Cli) -> None:
    proc = cli(*_verbatim("gpt-trader status --format json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"


def test_workflow_execute_async(cli: Cli) -> None:
    proc = cli(*_verbatim("gpt-trader workflow execute multi_strategy_ensemble --async"))
    assert proc.returncode == 0, proc.stderr
    execution_id = proc.stdout.split()[0]
    assert execution_id.startswith("wf_")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the background process finishes it; any process can see it
        status = json.loads(cli("workflow", "status", execution_id, "--format", "json").stdout)
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert status["status"] == "succeeded", status


def test_run_momentum_paper_until_ctrl_c(isolated_env: dict[str, str], tmp_path: Path) -> None:
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    args = _verbatim("gpt-trader run --strategy momentum --symbol AAPL --mode paper")
    proc = subprocess.Popen(
        [*command, *args],
        cwd=str(tmp_path),
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("bar 0 ") and "equity 10,000.00" in first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped (SYNTHETIC DATA)" in out and "resume with: gpt-trader run --resume ses_" in out
