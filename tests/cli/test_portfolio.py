"""`portfolio positions|performance|risk` in-process over a replayed paper session."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.cli.support import Cli, assert_one_line_error


@pytest.fixture
def session_id(cli: Cli) -> str:
    replay = "run -s sma_cross --symbol AAPL --feed replay --speed 0 --from 2024-01-01 --to 2024-06-30"
    run = cli(*replay.split(), "--max-drawdown", "10")
    assert run.returncode == 0, run.stderr
    (session,) = json.loads(cli("sessions", "list", "--format", "json").stdout)
    return str(session["id"])


def test_positions(cli: Cli, session_id: str) -> None:
    data = json.loads(cli("portfolio", "positions", "--session", session_id, "-f", "json").stdout)
    (position,) = data["items"]
    assert position["session_id"] == session_id and position["symbol"] == "AAPL" and position["size"] != 0
    assert json.loads(cli("portfolio", "positions", "-f", "json").stdout) == {"items": []}  # none running
    table = cli("portfolio", "positions", "--session", session_id)
    assert "Entry price" in table.stdout and f"{position['size']:g}" in table.stdout


def test_performance(cli: Cli, session_id: str) -> None:
    data = json.loads(cli("portfolio", "performance", session_id, "-f", "json").stdout)
    stats = data["statistics"]
    assert data["session_id"] == session_id and len(data["equity"]) == len(data["equity_times"]) == 130
    assert stats["equity"] == pytest.approx(data["equity"][-1])
    table = cli("portfolio", "performance", session_id).stdout
    lines = table.splitlines()
    assert lines[0].startswith(f"{session_id} · Return ") and "Sharpe" in lines[0] and "trades" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["Return", "Sharpe", "Max."]  # the headline first
    curve = list(csv.DictReader(io.StringIO(cli("portfolio", "performance", session_id, "-f", "csv").stdout)))
    assert float(curve[-1]["equity"]) == pytest.approx(data["equity"][-1])


def test_risk(cli: Cli, session_id: str) -> None:
    data = json.loads(cli("portfolio", "risk", session_id, "--format", "json").stdout)
    assert data["bars"] == 130 and data["var_99_pct"] >= data["var_95_pct"] > 0
    assert data["cvar_95_pct"] >= data["var_95_pct"] and data["max_drawdown_pct"] >= data["current_drawdown_pct"]
    limit = data["limits"]["max_drawdown_pct"]
    assert (
        limit["limit"] == 10 and limit["current"] == pytest.approx(data["max_drawdown_pct"]) and not limit["breached"]
    )
    table = cli("portfolio", "risk", session_id).stdout
    assert "VaR 95% [%]" in table and "Risk limits" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("portfolio", "performance"), "SESSION is required (see `gpt-trader sessions list`)"),
        (("portfolio", "risk", "ses_nope"), "session 'ses_nope' not found"),
        (("portfolio", "positions", "--session", "ses_nope"), "session 'ses_nope' not found"),
        (("portfolio", "risk", "ses_nope", "-f", "yaml"), "--format must be table, json or csv"),
    ],
)
def test_bad_input(cli: Cli, args: tuple[str, ...], message: str) -> None:
    assert_one_line_error(cli(*args), 1, message)


def test_sessions_list_csv(cli: Cli, session_id: str) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("sessions", "list", "--format", "csv").stdout)))
    assert [(r["id"], r["status"], r["bars"]) for r in rows] == [(session_id, "finished", "130")]
    assert "Equity [$]" in cli("sessions", "list").stdout
