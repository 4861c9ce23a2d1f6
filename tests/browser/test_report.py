"""Report files and notebook plots drawn by a real browser with no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gpt_trader_core as gt
from gpt_trader_core.domain.bars import Bars
from tests.browser.conftest import Watched


@pytest.fixture(scope="module")
def backtest(goog: Bars) -> gt.BacktestResult:
    return gt.backtest(goog, "sma_cross", fast=10, slow=20)


def test_a_backtest_report_draws_its_charts_offline(page: Watched, backtest: gt.BacktestResult, tmp_path: Path):
    path = backtest.report(tmp_path / "report.html")
    page.page.goto(path.as_uri())
    page.page.wait_for_selector("#gt-chart .uplot canvas")
    shot = page.screenshot("report-backtest")

    drawn = page.drawn_canvases("#gt-chart canvas")
    assert len(drawn) == 3  # equity (with trade markers), drawdown, per-trade returns
    assert all(n > 2000 for n in drawn), drawn
    assert page.errors == [] and page.blocked == []
    assert shot.stat().st_size > 20_000
    assert page.page.locator("table.gt-trades tbody tr").count() == len(backtest.trades)
    assert "Sharpe ratio" in page.page.locator("table.gt-stats").inner_text()


def test_trade_markers_are_drawn_on_the_equity_curve(page: Watched, backtest: gt.BacktestResult, tmp_path: Path):
    path = backtest.report(tmp_path / "report.html")
    page.page.goto(path.as_uri())
    page.page.wait_for_selector("#gt-chart .uplot canvas")
    # Winning markers are green (#16a34a), losing ones red (#dc2626): both colours must be on the canvas.
    colours = page.page.eval_on_selector(
        "#gt-chart canvas",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let g = 0, r = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i] === 22 && d[i+1] === 163 && d[i+2] === 74) g++;
              if (d[i] === 220 && d[i+1] === 38 && d[i+2] === 38) r++; }
            return [g, r]; }""",
    )
    assert colours[0] > 50 and colours[1] > 50, colours


def test_an_optimisation_report_draws_its_heatmap(page: Watched, goog: Bars, tmp_path: Path):
    opt = gt.optimize(goog, "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5), maximize="sharpe_ratio")
    path = opt.report(tmp_path / "opt.html")
    page.page.goto(path.as_uri())
    page.page.wait_for_selector("canvas.gt-heatmap")
    page.screenshot("report-optimisation")

    assert page.drawn_canvases("canvas.gt-heatmap")[0] > 50_000
    page.page.hover("canvas.gt-heatmap", position={"x": 150, "y": 20})
    assert "Sharpe ratio" in page.page.locator(".gt-heatmap-tip").inner_text()
    assert page.errors == [] and page.blocked == []
    best = ", ".join(f"{k}={v}" for k, v in opt.best_params.items())
    assert best in page.page.locator("table.gt-stats").inner_text()


def test_the_report_refuses_anything_its_policy_does_not_name(page: Watched, backtest: gt.BacktestResult, tmp_path):
    # The Content-Security-Policy allows the report's own scripts by hash: one more script is refused.
    path = backtest.report(tmp_path / "report.html")
    text = path.read_text().replace("</body>", "<script>document.title = 'injected'</script></body>")
    path.write_text(text)
    page.page.goto(path.as_uri())
    page.page.wait_for_selector("#gt-chart .uplot canvas")
    assert page.page.title() != "injected"
    assert any("Content Security Policy" in e for e in page.errors), page.errors


def test_a_notebook_plot_renders_after_nbclient_runs_the_notebook(page: Watched, tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import gpt_trader_core as gt\n"
            "bars = gt.synthetic('AAPL', '2020-01-01', '2023-12-31', seed=1)\n"
            "res = gt.backtest(bars, 'sma_cross', fast=10, slow=30)\n"
            "res.plot()"
        ),
        nbformat.v4.new_code_cell(
            "opt = gt.optimize(bars, 'sma_cross', fast=range(5, 20, 5), slow=range(20, 50, 10))\nopt.plot()"
        ),
    ]
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    html = [cell.outputs[-1]["data"]["text/html"] for cell in notebook.cells]
    (tmp_path / "executed.ipynb").write_text(json.dumps(notebook))

    # Both outputs on one page, as a notebook shows them: the library loads once, each plot draws.
    page_path = tmp_path / "notebook.html"
    page_path.write_text("<!doctype html><html><body>" + "".join(html) + "</body></html>")
    page.page.goto(page_path.as_uri())
    page.page.wait_for_selector("canvas.gt-heatmap")
    page.screenshot("notebook-plots")

    assert "SYNTHETIC DATA" in html[0]
    drawn = page.drawn_canvases(".gt-nb canvas")
    assert len(drawn) == 4 and all(n > 2000 for n in drawn), drawn
    assert page.errors == [] and page.blocked == []


SESSION_NOTEBOOK = """\
import time
from entrypoints.notebook import open_app
app = open_app(state__url="sqlite:///session.db")
record = app.start_session("sma_cross", "AAPL", fast=5, slow=20,
    feed={"kind": "replay", "start": "2023-01-01", "end": "2023-12-31", "speed": 0})
for _ in range(600):
    res = app.session(record.id)
    if not res.running and res.equity:
        break
    time.sleep(0.1)
res.report("session.html")
res.plot()"""


def test_a_paper_session_plots_in_a_notebook_and_writes_its_report(page: Watched, tmp_path: Path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SESSION_NOTEBOOK), nbformat.v4.new_code_cell("app.close()")]
    nbclient.NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    fragment = notebook.cells[0].outputs[-1]["data"]["text/html"]
    assert "paper session ses_" in fragment and "SYNTHETIC DATA" in fragment

    # The notebook output: equity (with trade markers), drawdown and per-trade returns drawn.
    (tmp_path / "notebook.html").write_text("<!doctype html><html><body>" + fragment + "</body></html>")
    page.page.goto((tmp_path / "notebook.html").as_uri())
    page.page.wait_for_selector(".gt-nb .uplot canvas")
    page.screenshot("notebook-session-plot")
    drawn = page.drawn_canvases(".gt-nb canvas")
    assert len(drawn) == 3 and all(n > 2000 for n in drawn), drawn

    # The report file: self-contained, offline, the same charts and the session's round trips.
    page.page.goto((tmp_path / "session.html").as_uri())
    page.page.wait_for_selector("#gt-chart .uplot canvas")
    page.screenshot("report-session")
    assert page.page.locator("h1").inner_text() == "Paper session report"
    drawn = page.drawn_canvases("#gt-chart canvas")
    assert len(drawn) == 3 and all(n > 2000 for n in drawn), drawn
    assert page.page.locator("table.gt-trades tbody tr").count() > 0
    assert "Sharpe ratio" in page.page.locator("table.gt-stats").inner_text()
    assert page.errors == [] and page.blocked == []
