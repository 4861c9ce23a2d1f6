"""HTML for the core's chart values: notebook fragments and self-contained report files.

Both inline the dashboard's vendored uPlot and its ``charts.js``, so what a notebook or a report shows is
drawn by the same code as the dashboard, and nothing is fetched from a network. A report carries a
Content-Security-Policy that allows only its own inline scripts and style (by hash) and no connection.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import secrets
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from entrypoints.presenters.labels import human_label
from gpt_trader_core.domain.charts import BacktestChart, Chart, ChartTrade, HeatmapChart

_TRADE_COLUMNS = (
    "#",
    "Side",
    "Size",
    "Entry time",
    "Exit time",
    "Entry price",
    "Exit price",
    "P&L",
    "Return [%]",
    "Exit reason",
)


def asset(name: str) -> str:
    """A file of the dashboard (``charts.js``, ``vendor/uPlot.iife.min.js``, …) as text."""
    return resources.files("entrypoints").joinpath("dashboard", *name.split("/")).read_text(encoding="utf-8")


def _numbers(values: np.ndarray, digits: int) -> list[float | None]:
    return [None if not math.isfinite(v) else round(v, digits) for v in np.asarray(values, dtype=float).tolist()]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _trade(t: ChartTrade) -> dict[str, Any]:
    return {
        "entry_time": t.entry_time,
        "exit_time": t.exit_time,
        "entry_equity": _finite(t.entry_equity),
        "exit_equity": _finite(t.exit_equity),
        "size": t.size,
        "pnl": _finite(t.pnl),
        "return_pct": _finite(t.return_pct),
    }


def chart_data(chart: Chart) -> dict[str, Any]:
    """What ``GptCharts.render`` draws (JSON-ready; NaN and infinities become null)."""
    if isinstance(chart, BacktestChart):
        return {
            "kind": "backtest",
            "time": _numbers(chart.time, 3),
            "equity": _numbers(chart.equity, 4),
            "drawdown_pct": _numbers(chart.drawdown_pct, 4),
            "trades": [_trade(t) for t in chart.trades],
        }
    return {
        "kind": "heatmap",
        "metric": chart.metric,
        "maximize": chart.maximize,
        "x_name": chart.x_name,
        "y_name": chart.y_name,
        "x_labels": list(chart.x_labels),
        "y_labels": list(chart.y_labels),
        "values": [_numbers(row, 6) for row in chart.values],
    }


def _json_script(element_id: str, data: dict[str, Any]) -> str:
    # "</" would end the script element early; JSON allows "<\/" for it.
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _table(columns: tuple[str, ...], rows: list[tuple[str, ...]] | tuple[tuple[str, ...], ...], cls: str) -> str:
    head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _label(key: str) -> str:
    """A statistic's key as the CLI and the dashboard label it (``sharpe_ratio`` → ``Sharpe ratio``)."""
    if key.startswith("best ") and " " not in key[5:]:
        return "Best " + human_label(key[5:])
    return human_label(key)


def _stats_table(stats: tuple[tuple[str, str], ...]) -> str:
    body = "".join(f"<tr><th scope='row'>{html.escape(_label(k))}</th><td>{html.escape(v)}</td></tr>" for k, v in stats)
    return f"<table class='gt-stats'><tbody>{body}</tbody></table>"


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _trade_rows(chart: BacktestChart) -> list[tuple[str, ...]]:
    return [
        (
            str(n),
            "long" if t.size > 0 else "short",
            f"{abs(t.size):g}",
            _when(t.entry_time),
            _when(t.exit_time),
            f"{t.entry_price:,.4f}",
            f"{t.exit_price:,.4f}",
            f"{t.pnl:,.2f}",
            f"{t.return_pct:,.2f}",
            t.exit_reason,
        )
        for n, t in enumerate(chart.trades, start=1)
    ]


def _banner(chart: Chart) -> str:
    if not chart.synthetic:
        return ""
    return "<p class='gt-synthetic'><strong>SYNTHETIC DATA</strong> — generated, not observed prices.</p>"


def _sections(chart: Chart) -> tuple[str, str]:
    """(the statistics table, the sections after the charts) of a chart."""
    if isinstance(chart, BacktestChart):
        trades = f"<h2>Trades ({len(chart.trades)})</h2>" + (
            _table(_TRADE_COLUMNS, _trade_rows(chart), "gt-trades") if chart.trades else "<p>No closed trades.</p>"
        )
        return _stats_table(chart.stats), trades
    assert isinstance(chart, HeatmapChart)
    columns = tuple("#" if c == "rank" else human_label(c) for c in chart.columns)
    ranked = f"<h2>Ranked trials (best {len(chart.rows)})</h2>" + _table(columns, chart.rows, "gt-trades")
    return _stats_table(chart.stats), ranked


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _version() -> str:
    try:
        return metadata.version("gpt-trader")
    except metadata.PackageNotFoundError:
        return "unknown"


def _boot(chart_id: str) -> str:
    return (
        f'GptCharts.render(document.getElementById("{chart_id}"), '
        f'JSON.parse(document.getElementById("{chart_id}-data").textContent));'
    )


class HtmlChartRenderer:
    """The ``html`` chart renderer (entry point ``gpt_trader.chart_renderers``)."""

    def fragment(self, chart: Chart) -> str:
        chart_id = "gt-" + secrets.token_hex(6)
        stats, after = _sections(chart)
        style = asset("vendor/uPlot.min.css") + asset("charts.css") + _NOTEBOOK_CSS
        # The vendored bundle declares a global; load it once per page however many plots it shows.
        library = "if (!window.uPlot) {\n" + asset("vendor/uPlot.iife.min.js") + "\nwindow.uPlot = uPlot;\n}\n"
        return (
            f"<div class='gt-nb' id='{chart_id}-box'><style>{style}</style>"
            f"<p class='gt-title'>{html.escape(chart.title)}</p>{_banner(chart)}"
            f"<div class='gt-chart' id='{chart_id}'></div>"
            f"<details><summary>Statistics</summary>{stats}</details>"
            f"<details><summary>{'Trades' if isinstance(chart, BacktestChart) else 'Trials'}</summary>{after}</details>"
            f"{_json_script(chart_id + '-data', chart_data(chart))}"
            f"<script>{library}</script><script>{asset('charts.js')}</script><script>{_boot(chart_id)}</script></div>"
        )

    def document(self, chart: Chart) -> str:
        """One self-contained HTML page."""
        chart_id = "gt-chart"
        stats, after = _sections(chart)
        style = asset("vendor/uPlot.min.css") + asset("charts.css") + _REPORT_CSS
        scripts = [asset("vendor/uPlot.iife.min.js"), asset("charts.js"), _boot(chart_id)]
        policy = (
            "default-src 'none'; img-src data:; "
            f"style-src {_sha256(style)}; script-src {' '.join(_sha256(s) for s in scripts)}"
        )
        title = html.escape(chart.title)
        if isinstance(chart, BacktestChart):
            kind = "Paper session" if chart.source == "session" else "Backtest"
        else:
            kind = "Optimisation"
        return (
            "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
            f"<title>{kind}: {title}</title><style>{style}</style></head><body>"
            f"<header><h1>{kind} report</h1><p class='gt-title'>{title}</p>{_banner(chart)}</header>"
            f"<main><section><h2>Statistics</h2>{stats}</section>"
            f"<section class='gt-chart-section'><h2>Charts</h2><div class='gt-chart' id='{chart_id}'></div>"
            "<noscript><p>The charts need JavaScript; the tables work without it.</p></noscript></section>"
            f"<section>{after}</section></main>"
            f"<footer>Written by gpt-trader {html.escape(_version())}. Self-contained: works offline.</footer>"
            f"{_json_script(chart_id + '-data', chart_data(chart))}"
            + "".join(f"<script>{s}</script>" for s in scripts)
            + "</body></html>\n"
        )

    def write(self, chart: Chart, path: Path) -> Path:
        path.write_text(self.document(chart), encoding="utf-8")
        return path


_NOTEBOOK_CSS = """
.gt-nb { font: 13px/1.4 system-ui, sans-serif; max-width: 1100px; }
.gt-nb .gt-title { font-weight: 600; margin: 4px 0; }
.gt-nb .gt-synthetic { color: #b45309; margin: 2px 0 6px; }
.gt-nb table { border-collapse: collapse; font-size: 12px; }
.gt-nb th, .gt-nb td { padding: 2px 8px; text-align: right; border-bottom: 1px solid rgba(128,128,128,.2); }
.gt-nb .gt-stats th { text-align: left; font-weight: 500; }
.gt-nb details { margin: 4px 0; }
"""

_REPORT_CSS = """
:root { color-scheme: light dark; --fg: #111827; --bg: #ffffff; --muted: #6b7280; --line: rgba(128,128,128,.25); }
@media (prefers-color-scheme: dark) { :root { --fg: #e5e7eb; --bg: #111827; --muted: #9ca3af; } }
body { margin: 0 auto; padding: 16px 24px 32px; max-width: 1200px; font: 14px/1.45 system-ui, sans-serif;
       color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.gt-title { margin: 0 0 4px; color: var(--muted); }
.gt-synthetic { display: inline-block; margin: 6px 0; padding: 4px 10px; border-radius: 4px;
                background: #fef3c7; color: #92400e; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
thead th { position: sticky; top: 0; background: var(--bg); }
.gt-stats { display: block; }
.gt-stats tbody { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); column-gap: 24px; }
.gt-stats tr { display: flex; justify-content: space-between; border-bottom: 1px solid var(--line); }
.gt-stats th, .gt-stats td { border: 0; } .gt-stats th { text-align: left; font-weight: 500; color: var(--muted); }
section { overflow-x: auto; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""
