"""Chart data (core) and their HTML (the ``html`` renderer): what ``res.plot()``/``res.report()`` are made of."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gpt_trader_core as gt
from entrypoints.reports import HtmlChartRenderer
from entrypoints.reports.html import chart_data
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.charts import HtmlChart, load_renderer, thin
from gpt_trader_core.errors import ConfigurationError, InvalidParameterError

finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(arrays(np.float64, st.integers(1, 3000), elements=finite), st.integers(8, 500))
def test_thinning_keeps_the_ends_and_every_extreme(values: np.ndarray, max_points: int) -> None:
    keep = thin([values], max_points)
    assert keep[0] == 0 and keep[-1] == len(values) - 1
    assert np.all(np.diff(keep) > 0)
    assert values[keep].max() == values.max() and values[keep].min() == values.min()
    if len(values) <= max_points:
        assert len(keep) == len(values)
    else:
        assert len(keep) <= max_points + 2


def test_backtest_chart_matches_the_result(goog: Bars) -> None:
    res = gt.backtest(goog, "sma_cross", fast=10, slow=20)
    chart = res.chart()
    assert len(chart.time) == len(res.equity)  # 2,148 bars: under the thinning threshold
    np.testing.assert_array_equal(chart.equity, res.equity)
    assert chart.drawdown_pct.max() <= 0
    assert chart.drawdown_pct.min() == pytest.approx(res.stats["max_drawdown_pct"])
    assert len(chart.trades) == len(res.trades)
    first, trade = chart.trades[0], res.trades[0]
    assert first.entry_equity == res.equity[trade.entry_bar]
    assert first.return_pct == trade.return_pct  # percent, as every *_pct
    gross = (trade.exit_price / trade.entry_price - 1) * 100 * (1 if trade.size > 0 else -1)
    assert first.return_pct == pytest.approx(gross, abs=0.5)
    assert chart.time[trade.entry_bar] == first.entry_time
    assert dict(chart.stats)["num_trades"] == str(len(res.trades))


def test_long_curves_are_thinned_for_drawing() -> None:
    bars = gt.synthetic("AAPL", "2024-01-01", "2024-03-31", timeframe="15m", seed=3)
    res = gt.backtest(bars, "sma_cross", fast=10, slow=40)
    chart = res.chart()
    assert len(res.equity) > 6000 and len(chart.equity) <= 4002
    assert chart.equity.max() == res.equity.max()
    assert chart.drawdown_pct.min() == pytest.approx(-100 * res.drawdown.max())


def test_the_renderer_is_found_through_its_entry_point() -> None:
    assert isinstance(load_renderer(), HtmlChartRenderer)
    with pytest.raises(ConfigurationError, match="no chart renderer 'svg' is installed"):
        load_renderer("svg")


def test_report_paths_are_checked(goog: Bars, tmp_path: Path) -> None:
    res = gt.backtest(goog, "sma_cross")
    with pytest.raises(InvalidParameterError, match=r"name it \*\.html"):
        res.report(tmp_path / "report.pdf")
    with pytest.raises(InvalidParameterError, match="does not exist"):
        res.report(tmp_path / "missing" / "report.html")


def test_plot_is_notebook_html_with_everything_inline(goog: Bars) -> None:
    shown = gt.backtest(goog, "sma_cross").plot()
    assert isinstance(shown, HtmlChart) and shown._repr_html_() == shown.html
    assert "GptCharts.render" in shown.html and "uPlot" in shown.html
    assert not re.search(r"""(src|href)=["']?https?:""", shown.html)


def test_a_report_allows_exactly_its_own_inline_scripts_and_style(goog: Bars, tmp_path: Path) -> None:
    text = gt.backtest(goog, "sma_cross").report(tmp_path / "r.html").read_text()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)

    def digest(body: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"

    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(scripts) == 3 and len(styles) == 1
    assert policy.startswith("default-src 'none'")
    assert sorted(re.search(r"script-src ([^;]+)", policy).group(1).split()) == sorted(digest(s) for s in scripts)
    assert re.search(r"style-src ([^;]+)", policy).group(1) == digest(styles[0])
    assert "http://" not in policy and "https://" not in policy


def test_chart_data_is_strict_json_and_cannot_close_its_script(goog: Bars, tmp_path: Path) -> None:
    opt = gt.optimize(goog, "sma_cross", fast=[5, 10], slow=[5, 20, 40], constraint=lambda p: p["fast"] < p["slow"])
    data = chart_data(opt.chart())
    assert data["values"][0][0] is None  # fast=5, slow=5 was never evaluated (NaN → null)
    json.dumps(data, allow_nan=False)

    res = gt.backtest(goog, "sma_cross")
    evil = "</script><script>alert(1)</script>"
    chart = res.chart()
    page = HtmlChartRenderer().document(attrs.evolve(chart, title=evil))
    assert evil not in page and "&lt;/script&gt;" in page


def test_an_optimisation_needs_two_searched_parameters_for_its_heatmap(goog: Bars) -> None:
    opt = gt.optimize(goog, "sma_cross", fast=[5, 10, 15], slow=30)
    with pytest.raises(InvalidParameterError, match="two searched parameters"):
        opt.plot()
