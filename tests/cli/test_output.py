"""Output rules shared by the new commands: cli.default_format, colours for gains and losses (only
when decorated), bad configuration exits 2."""

from __future__ import annotations

import json

from tests.cli.support import Cli, assert_one_line_error

GREEN, RED = "\x1b[32m", "\x1b[31m"


def test_default_format_comes_from_the_settings(cli: Cli) -> None:
    proc = cli("market", "regime", "AAPL", env={"GPT_TRADER__CLI__DEFAULT_FORMAT": "json"})
    assert json.loads(proc.stdout)["symbol"] == "AAPL"
    proc = cli("strategies", "compare", "AAPL", "--to", "2016-12-31", "--set", "cli.default_format=csv")
    assert (
        proc.stdout.splitlines()[0] == "rank,strategy,return_pct,sharpe_ratio,max_drawdown_pct,num_trades,win_rate_pct"
    )
    assert cli("market", "regime", "AAPL", "--set", "cli.default_format=json", "-f", "table").stdout.startswith(
        "SYNTHETIC"
    )


def test_gains_green_losses_red_only_when_decorated(cli: Cli) -> None:
    args = ("strategies", "compare", "AAPL", "--from", "2024-01-01", "--to", "2024-12-31")
    coloured = cli(*args, decorated=True).stdout
    compared = json.loads(cli(*args, "-f", "json").stdout)["result"]["rows"]
    returns = [r["stats"]["return_pct"] for r in compared]
    assert any(r > 0 for r in returns) and any(r < 0 for r in returns)
    for row in compared:
        value = f"{row['stats']['return_pct']:,.2f}"
        colour = GREEN if row["stats"]["return_pct"] > 0 else RED
        assert f"{colour}{value}\x1b[39m" in coloured, value
    plain = cli(*args).stdout
    assert "\x1b[" not in plain
    assert "\x1b[" not in cli(*args, decorated=True, env={"NO_COLOR": "1"}).stdout


def test_bad_configuration_exits_2(cli: Cli) -> None:
    proc = cli("market", "data", "AAPL", "--set", "cli.default_format=xml")
    assert_one_line_error(proc, 2, "cli.default_format: expected one of 'table', 'json', 'csv', got 'xml'")


def test_csv_refused_where_a_command_has_sections(cli: Cli) -> None:
    assert_one_line_error(cli("cache", "stats", "-f", "csv"), 1, "--format must be table or json for cache stats")
    assert_one_line_error(cli("sessions", "show", "ses_x", "-f", "csv"), 1, "--format must be table or json")
    assert cli("cache", "stats", "--set", "cli.default_format=csv").stdout.startswith("backend memory")  # a table
