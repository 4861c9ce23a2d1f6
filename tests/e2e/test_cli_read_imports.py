"""Issue 15's start-up goal: the commands that only read state (``status``, ``monitor --once``, ``workflow
status``) import neither the trading engine nor the sessions use case, and ``status`` and ``monitor``
neither numpy nor the charts (each import costs them start-up time). Checked in a fresh process, as the
console script runs them, on a store that holds a traded session and a workflow execution. ``workflow
status`` imports no numpy either: reading executions needs neither the strategies nor the optimiser."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]

#: What running sessions needs and reading them does not.
TRADING = ("gpt_trader_core.services.sessions", "gpt_trader_core.trading.engine", "gpt_trader_core.domain.charts")

#: Runs the application as the console script does, then writes the imported modules' names to argv[1].
SCRIPT = """
import json, sys
from entrypoints.cli.application import GptTraderApplication
out, sys.argv = sys.argv[1], ["gpt-trader", *sys.argv[2:]]
app = GptTraderApplication()
app.auto_exits(False)
code = app.run()
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home whose state holds a replayed session (with fills) and a finished workflow execution."""
    home = tmp_path_factory.mktemp("home")
    db = f"state.url=sqlite:///{home / 'state.db'}"
    env = {"HOME": str(home), "PATH": str(Path(sys.executable).parent)}
    replay = ["--feed", "replay", "--speed", "0", "--from", "2023-01-01", "--to", "2023-12-31", "--bars", "120"]
    for args in (
        ["run", "-s", "momentum", "--symbol", "AAPL", *replay],
        ["workflow", "execute", "simple_backtest", "-p", "symbol=AAPL"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "entrypoints", *args, "--set", db],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return home, db


def _imported(home: Path, db: str, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = home / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out), *args, "--set", db],
        cwd=home,
        env={"HOME": str(home), "PATH": str(Path(sys.executable).parent), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, set(json.loads(out.read_text()))


@pytest.mark.parametrize("args", [("status", "--format", "json"), ("monitor", "--once", "--format", "json")])
def test_status_and_monitor_import_no_numpy_and_no_trading_engine(store: tuple[Path, str], args: tuple[str]) -> None:
    proc, modules = _imported(*store, *args)
    data = json.loads(proc.stdout)
    assert len(data["sessions"]) == 1 and data["executions"], data  # they did read the session and execution
    if args[0] == "monitor":
        (session,) = data["sessions"]
        assert session["fills"] and session["return_pct"] is not None
    assert not {"numpy", *TRADING} & modules, sorted({"numpy", *TRADING} & modules)


def test_workflow_status_imports_no_trading_engine_and_no_workflow_definitions(store: tuple[Path, str]) -> None:
    proc, modules = _imported(*store, "workflow", "status", "--format", "json")
    (execution,) = json.loads(proc.stdout)
    assert execution["name"] == "simple_backtest" and execution["status"] == "succeeded"
    # nor numpy: the engine imports the optimisation slice's cancel token and the strategies' Param on use
    heavy = {"numpy", *TRADING, "gpt_trader_core.workflows.use_case", "gpt_trader_core.workflows.ensemble"}
    assert not heavy & modules, sorted(heavy & modules)
    proc, modules = _imported(*store, "workflow", "status", execution["id"], "--format", "json")
    assert json.loads(proc.stdout)["id"] == execution["id"]
    assert not heavy & modules, sorted(heavy & modules)
