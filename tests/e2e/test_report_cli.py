"""`gpt-trader backtest … --report FILE`: one self-contained HTML file next to the usual output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.cli.support import assert_one_line_error

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_backtest_writes_a_report_and_keeps_its_json_output_clean(cli: Cli, tmp_path: Path) -> None:
    proc = cli("backtest", "-s", "sma_cross", "--symbol", "MSFT", "--no-save", "--format", "json", "--report", "r.html")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    report = tmp_path / "r.html"
    assert f"report written to {report.name}" in proc.stderr
    text = report.read_text()
    assert "SYNTHETIC DATA" in text and "sma_cross(fast=10, slow=30) on MSFT" in text
    assert text.count("<tr>") >= len(result["trades"]) and "GptCharts.render" in text


def test_a_bad_report_path_is_refused_before_the_backtest_runs(cli: Cli) -> None:
    proc = cli("backtest", "-s", "sma_cross", "--report", "missing/r.html")
    assert_one_line_error(proc, 1, "cannot write the report 'missing/r.html': directory 'missing' does not exist")
    proc = cli("backtest", "-s", "sma_cross", "--report", "r.pdf")
    assert_one_line_error(proc, 1, "a report is an HTML file")
