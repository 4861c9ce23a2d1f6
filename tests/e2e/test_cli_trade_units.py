"""One unit per field: a trade's ``return_pct`` is in percent in the Python API, the JSON, the CSV,
and the table alike (issue 11.7; stored records: tests/adapters/test_engine_storage.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable

import pytest

import gpt_trader_core as gt

Cli = Callable[..., subprocess.CompletedProcess[str]]
ARGS = ("backtest", "-s", "sma_cross", "--symbol", "AAPL", "--from", "2019-01-01", "--to", "2021-12-31")


def _expected() -> list[float]:
    bars = gt.synthetic("AAPL", "2019-01-01", "2021-12-31")
    result = gt.backtest(bars, "sma_cross")
    return [t.return_pct for t in result.trades]


def test_trade_return_pct_is_percent_everywhere(cli: Cli) -> None:
    expected = _expected()
    assert len(expected) > 3
    for t in gt.backtest(gt.synthetic("AAPL", "2019-01-01", "2021-12-31"), "sma_cross").trades:
        side = 1 if t.size > 0 else -1
        fraction = side * (t.exit_price / t.entry_price - 1) - t.commission / (abs(t.size) * t.entry_price)
        assert t.return_pct == pytest.approx(fraction * 100, rel=1e-12)

    as_json = cli(*ARGS, "--format", "json", "--no-save")
    assert as_json.returncode == 0, as_json.stderr
    assert [t["return_pct"] for t in json.loads(as_json.stdout)["trades"]] == pytest.approx(expected, rel=1e-15)

    as_csv = cli(*ARGS, "--format", "csv", "--trades", "--no-save")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [float(r["return_pct"]) for r in rows] == pytest.approx(expected, rel=1e-15)

    table = cli(*ARGS, "--trades", "--no-save")
    assert table.returncode == 0, table.stderr
    shown = f"{expected[0]:,.2f}"  # percentages print with 2 decimals (issue 15: report-style tables)
    assert shown in table.stdout  # the table prints the same number, not 100× it


def test_backtest_spread_option_costs_entries_only(cli: Cli) -> None:
    proc = cli(*ARGS, "--spread", "0.001", "--format", "json", "--no-save")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["config"]["spread"] == 0.001 and data["config"]["slippage"] == 0.0
    ours = gt.backtest(gt.synthetic("AAPL", "2019-01-01", "2021-12-31"), "sma_cross", spread=0.001)
    assert [t["entry_price"] for t in data["trades"]] == [t.entry_price for t in ours.trades]
    assert [t["exit_price"] for t in data["trades"]] == [t.exit_price for t in ours.trades]
