"""`market`, `strategies recommend|compare`, `portfolio size` and `backtest --strategy all` in-process on
in-memory adapters (synthetic market data)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gpt_trader_core.strategy import REGISTRY
from tests.cli.support import Cli, assert_one_line_error


def test_market_data_table_json_csv(cli: Cli) -> None:
    table = cli("market", "data", "aapl", "--from", "2024-01-01", "--to", "2024-03-31", "--last", "3")
    assert table.returncode == 0, table.stderr
    assert "SYNTHETIC DATA" in table.stdout and "Change [%]" in table.stdout
    assert "2024-03-29" in table.stdout and "2024-03-26" not in table.stdout  # the last 3 bars only
    data = json.loads(cli("market", "data", "AAPL", "--from", "2024-01-01", "--to", "2024-03-31", "-f", "json").stdout)
    assert data["symbol"] == "AAPL" and data["synthetic"] is True
    assert data["count"] == len(data["close"]) == len(data["timestamps"]) == 65
    rows = list(csv.DictReader(io.StringIO(cli("market", "data", "AAPL", "--to", "2015-01-09", "-f", "csv").stdout)))
    assert list(rows[0]) == ["time", "open", "high", "low", "close", "volume"]
    assert all(float(r["low"]) <= float(r["close"]) <= float(r["high"]) for r in rows)


def test_market_regime(cli: Cli) -> None:
    data = json.loads(cli("market", "regime", "AAPL", "--format", "json").stdout)
    assert data["current"] and 0 <= data["confidence"] <= 1 and data["method"] == "rules"
    assert len(data["transitions"]) == 10
    table = cli("market", "regime", "AAPL", "--recent", "3")
    assert f"AAPL: {data['current']}" in table.stdout and "Confidence [%]" in table.stdout


def test_market_analyze(cli: Cli) -> None:
    data = json.loads(cli("market", "analyze", "MSFT", "--format", "json").stdout)
    assert data["symbol"] == "MSFT" and "rsi_14" in data["indicators"]
    table = cli("market", "analyze", "MSFT")
    assert table.returncode == 0 and "Support and resistance" in table.stdout and "Trend · direction" in table.stdout
    rows = dict(csv.reader(io.StringIO(cli("market", "analyze", "MSFT", "-f", "csv").stdout)))
    assert float(rows["indicators.rsi_14"]) == pytest.approx(data["indicators"]["rsi_14"])


def test_strategies_recommend(cli: Cli) -> None:
    data = json.loads(cli("strategies", "recommend", "AAPL", "-f", "json").stdout)
    assert {s["strategy"] for s in data["result"]["ranking"]} == set(REGISTRY)
    assert data["explanation"] == data["result"]["reason"]
    table = cli("strategies", "recommend", "AAPL")
    assert "Confidence [%]" in table.stdout and data["result"]["regime"] in table.stdout


def test_strategies_compare_and_backtest_all_agree(cli: Cli) -> None:
    window = ("--from", "2024-01-01", "--to", "2024-12-31")
    compared = json.loads(cli("strategies", "compare", "AAPL", *window, "-f", "json").stdout)["result"]
    ranked = [r["strategy"] for r in compared["rows"]]
    assert sorted(ranked) == sorted(REGISTRY) and [r["rank"] for r in compared["rows"]] == [1, 2, 3, 4, 5]
    sharpes = [r["stats"]["sharpe_ratio"] for r in compared["rows"]]
    assert sharpes == sorted(sharpes, reverse=True)
    table = cli("backtest", *window, "--strategy", "all")  # the plan's example: symbol defaults to AAPL
    assert table.returncode == 0, table.stderr
    assert "Return [%]" in table.stdout and "Max. drawdown [%]" in table.stdout
    lines = [line for line in table.stdout.splitlines() if line.startswith("| ") and "Rank" not in line]
    assert [line.split("|")[2].strip() for line in lines] == ranked
    two = json.loads(cli("strategies", "compare", "AAPL", "--strategies", "sma_cross,momentum", "-f", "json").stdout)[
        "result"
    ]
    assert {r["strategy"] for r in two["rows"]} == {"sma_cross", "momentum"}


def test_portfolio_size(cli: Cli) -> None:
    data = json.loads(
        cli("portfolio", "size", "AAPL", "--capital", "10000", "-m", "fixed", "--amount", "2500", "-f", "json").stdout
    )
    result = data["result"]
    assert result["method"] == "fixed" and result["units"] == int(2500 // result["price"])
    table = cli(
        "portfolio",
        "size",
        "AAPL",
        "--capital",
        "25000",
        "--method",
        "kelly",
        "--win-rate",
        "0.55",
        "--payoff-ratio",
        "1.5",
    )
    assert table.returncode == 0 and "kelly_fraction" in table.stdout and "Fraction of capital [%]" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("market", "data", "AAPL", "--from", "yesterday"), "--from 'yesterday' is not a date"),
        (("market", "data", "AAPL", "--from", "2024-02-01", "--to", "2024-01-01"), "is before --from"),
        (("market", "data", "AAPL", "--last", "x"), "--last expects a whole number"),
        (("market", "data", "AAPL", "--format", "xml"), "--format must be table, json or csv"),
        (("market", "regime"), "SYMBOL is required"),
        (("market", "regime", "AAPL", "--method", "tea-leaves"), "tea-leaves"),
        (("market", "regime", "AAPL", "--recent", "0"), "--recent must be a whole number ≥ 1"),
        (("market", "analyze", "AAPL", "--to", "31/12/2024"), "use YYYY-MM-DD"),
        (("strategies", "recommend", "AAPL", "--model", "nope"), "nope"),
        (("strategies", "compare", "AAPL", "--strategies", "foo"), "unknown strategy foo"),
        (("strategies", "compare", "AAPL", "--rank-by", "luck"), "luck"),
        (("portfolio", "size", "AAPL"), "--capital is required"),
        (("portfolio", "size", "AAPL", "--capital", "-5"), "--capital must be positive"),
        (("portfolio", "size", "AAPL", "--capital", "100", "--method", "dice"), "--method must be one of"),
        (("portfolio", "size", "AAPL", "--capital", "100"), "needs stop="),
        (("backtest", "--strategy", "all", "-p", "fast=3"), "--param needs one strategy"),
        (("backtest",), "--strategy is required"),
    ],
)
def test_bad_input_is_one_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    assert_one_line_error(cli(*args), 1, message)
