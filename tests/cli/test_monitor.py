"""`gpt-trader monitor --once` in-process: a finished paper session and a workflow execution from
other commands, as the snapshot shows them."""

from __future__ import annotations

import json

import pytest

from tests.cli.support import Cli, assert_one_line_error


@pytest.fixture
def busy(cli: Cli) -> Cli:
    """A replayed paper session (with fills and an open position) and a finished workflow."""
    run = cli(
        "run",
        "-s",
        "sma_cross",
        "--symbol",
        "AAPL",
        "--feed",
        "replay",
        "--speed",
        "0",
        "--from",
        "2024-01-01",
        "--to",
        "2024-06-30",
    )
    assert run.returncode == 0, run.stderr
    flow = cli("workflow", "execute", "simple_backtest", "--param", "symbol=MSFT")
    assert flow.returncode == 0, flow.stderr
    return cli


def test_once_json(busy: Cli) -> None:
    data = json.loads(busy("monitor", "--once", "--format", "json").stdout)
    (session,) = data["sessions"]
    assert session["strategy"] == "sma_cross" and session["symbols"] == ["AAPL"] and session["status"] == "finished"
    assert session["pnl"] == pytest.approx(session["equity"] - session["capital"])
    assert session["fills"] and session["positions"][0]["symbol"] == "AAPL"
    fill_times = [f["time"] for f in session["fills"]]
    assert fill_times == sorted(fill_times, reverse=True)  # the last fill first
    (execution,) = data["executions"]
    assert (execution["name"], execution["status"], execution["progress"]) == ("simple_backtest", "succeeded", 1.0)
    assert isinstance(data["alerts"], list)


def test_once_table(busy: Cli) -> None:
    proc = busy("monitor", "--once")
    assert proc.returncode == 0, proc.stderr
    for text in ("Sessions (1)", "sma_cross", "Equity [$]", "P&L [$]", "Workflow executions (1)", "100%", "Alerts"):
        assert text in proc.stdout, text
    assert "\x1b[" not in proc.stdout  # --once prints a plain report, no cursor movement


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("monitor", "--once", "--format", "csv"), "--format must be table or json for monitor"),
        (("monitor", "--format", "json"), "--format json needs --once"),
        (("monitor", "--interval", "0"), "--interval must be between 0.1 and 3600"),
        (("monitor", "--interval", "soon"), "--interval expects a number"),
        (("monitor", "--sessions", "1.5"), "--sessions must be a whole number"),
    ],
)
def test_bad_input(cli: Cli, args: tuple[str, ...], message: str) -> None:
    assert_one_line_error(cli(*args), 1, message)
