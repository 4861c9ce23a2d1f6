"""Chart data for ``res.plot()`` and ``res.report(path)``: values built here, HTML drawn elsewhere.

The core only builds what a chart shows (``BacktestChart``, ``HeatmapChart``: plain numbers and labels).
Drawing it is a driver's job: a ``ChartRenderer`` registered under the ``gpt_trader.chart_renderers``
entry-point group (gpt-trader registers ``html``, which inlines the dashboard's vendored chart code).
The core names no renderer module — it asks the installed packages, as pandas finds its plotting
backends — so the dependency still points inward.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np

from gpt_trader_core.errors import ConfigurationError, InvalidParameterError

#: Entry-point group a renderer registers under (``name = "module:Class"``; the class takes no arguments).
RENDERER_GROUP = "gpt_trader.chart_renderers"
DEFAULT_RENDERER = "html"
#: Curves longer than this are thinned to the extremes of each bucket (a screen has fewer pixels).
MAX_POINTS = 4000


@attrs.frozen
class ChartTrade:
    """One closed trade as a chart draws it: times in Unix seconds, the equity at entry and exit
    (where its markers sit), ``return_pct`` in percent."""

    entry_time: float
    exit_time: float
    entry_equity: float
    exit_equity: float
    size: float
    entry_price: float
    exit_price: float
    pnl: float
    return_pct: float
    exit_reason: str


@attrs.frozen(eq=False)
class BacktestChart:
    """Equity and drawdown curves with trade markers, the statistics table and the trade list.

    ``time`` (Unix seconds), ``equity`` and ``drawdown_pct`` (≤ 0) have one value per drawn point;
    ``stats`` are (label, formatted value) rows; ``synthetic`` marks generated data; ``source`` says what
    produced the curve (``backtest`` or ``session``: a paper session's report)."""

    title: str
    synthetic: bool
    time: np.ndarray
    equity: np.ndarray
    drawdown_pct: np.ndarray
    trades: tuple[ChartTrade, ...]
    stats: tuple[tuple[str, str], ...]
    source: str = "backtest"


@attrs.frozen(eq=False)
class HeatmapChart:
    """Best objective value per pair of two parameters (``values[i, j]`` for ``y_labels[i]``,
    ``x_labels[j]``; NaN where nothing was evaluated), with the ranked trials as a table."""

    title: str
    synthetic: bool
    metric: str
    maximize: bool
    x_name: str
    y_name: str
    x_labels: tuple[str, ...]
    y_labels: tuple[str, ...]
    values: np.ndarray
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    stats: tuple[tuple[str, str], ...]


Chart = BacktestChart | HeatmapChart


@attrs.frozen
class HtmlChart:
    """A rendered chart; Jupyter shows it (``_repr_html_``), ``html`` is the markup itself."""

    html: str

    def _repr_html_(self) -> str:
        return self.html


class ChartRenderer(Protocol):
    """Draws chart values. Both outputs must work offline: no network request of any kind."""

    def fragment(self, chart: Chart) -> str:
        """HTML for a notebook cell, scripts and styles included, safe to show several times on one page."""

    def write(self, chart: Chart, path: Path) -> Path:
        """Write one self-contained HTML document to ``path``; return the path written."""


def load_renderer(name: str = DEFAULT_RENDERER) -> ChartRenderer:
    """The renderer registered as ``name`` in the ``gpt_trader.chart_renderers`` entry-point group."""
    from importlib.metadata import entry_points  # ~20 ms (email, zipfile): only when a chart is drawn

    found = {ep.name: ep for ep in entry_points(group=RENDERER_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigurationError(
            f"no chart renderer {name!r} is installed (registered: {known}); reinstall gpt-trader "
            f"(`pip install -e .`) so that its {RENDERER_GROUP!r} entry points are registered"
        )
    renderer: ChartRenderer = found[name].load()()
    return renderer


def show(chart: Chart, renderer: ChartRenderer | None = None) -> HtmlChart:
    """The chart as notebook HTML."""
    return HtmlChart((renderer or load_renderer()).fragment(chart))


def report_path(path: str | Path) -> Path:
    """``path`` checked as a place for a report (drivers check it before long work)."""
    target = Path(path).expanduser()
    if target.suffix.lower() not in (".html", ".htm"):
        raise InvalidParameterError(f"a report is an HTML file: name it *.html, got {str(path)!r}")
    if not target.parent.is_dir():
        raise InvalidParameterError(
            f"cannot write the report {str(path)!r}: directory {str(target.parent)!r} does not exist"
        )
    return target


def write_report(chart: Chart, path: str | Path, renderer: ChartRenderer | None = None) -> Path:
    """The chart as one self-contained HTML file at ``path`` (its directory must exist)."""
    return (renderer or load_renderer()).write(chart, report_path(path))


def unix_seconds(timestamps: np.ndarray) -> np.ndarray:
    """datetime64 values → float Unix seconds (what browser chart libraries expect)."""
    return np.asarray(timestamps).astype("datetime64[ms]").astype(np.int64) / 1000.0


def thin(series: Sequence[np.ndarray], max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices keeping every series' shape: the first, last, lowest and highest point of each bucket
    (sorted, unique). All of them when there are at most ``max_points``."""
    n = len(series[0])
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, max_points // (2 * len(series) + 2))
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = [np.array([0, n - 1])]
    for start, stop in itertools.pairwise(edges):
        if stop <= start:
            continue
        keep.append(np.array([start, stop - 1]))
        for values in series:
            chunk = np.nan_to_num(values[start:stop], nan=0.0)
            keep.append(np.array([start + int(np.argmin(chunk)), start + int(np.argmax(chunk))]))
    return np.unique(np.concatenate(keep))


def backtest_chart(
    *,
    title: str,
    synthetic: bool,
    timestamps: np.ndarray,
    equity: np.ndarray,
    drawdown: np.ndarray,
    trades: Iterable[Any],
    stats: Iterable[tuple[str, str]],
    max_points: int = MAX_POINTS,
    source: str = "backtest",
) -> BacktestChart:
    """Chart data of a backtest: ``drawdown`` is the fraction below the last peak (≥ 0) per bar;
    ``trades`` are ``Trade`` values (their ``entry_bar``/``exit_bar`` index ``equity``); ``stats`` are
    (label, formatted value) rows."""
    equity = np.asarray(equity, dtype=np.float64)
    drawdown_pct = -np.abs(np.asarray(drawdown, dtype=np.float64)) * 100.0
    times = unix_seconds(timestamps)
    last = len(equity) - 1
    marks = tuple(
        ChartTrade(
            entry_time=float(times[min(t.entry_bar, last)]),
            exit_time=float(times[min(t.exit_bar, last)]),
            entry_equity=float(equity[min(t.entry_bar, last)]),
            exit_equity=float(equity[min(t.exit_bar, last)]),
            size=float(t.size),
            entry_price=float(t.entry_price),
            exit_price=float(t.exit_price),
            pnl=float(t.pnl),
            return_pct=float(t.return_pct),  # already in percent
            exit_reason=str(getattr(t.exit_reason, "value", t.exit_reason)),
        )
        for t in trades
    )
    keep = thin([equity, drawdown_pct], max_points)
    return BacktestChart(
        title=title,
        synthetic=synthetic,
        time=times[keep],
        equity=equity[keep],
        drawdown_pct=drawdown_pct[keep],
        trades=marks,
        stats=tuple(stats),
        source=source,
    )


def heatmap_chart(
    *,
    title: str,
    synthetic: bool,
    metric: str,
    maximize: bool,
    x_name: str,
    y_name: str,
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    values: np.ndarray,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    stats: Iterable[tuple[str, str]],
) -> HeatmapChart:
    """Chart data of a two-parameter search: ``values`` has shape (len(y_values), len(x_values));
    ``columns``/``rows`` are the ranked trials, ``stats`` (label, value) rows, all formatted."""
    grid = np.asarray(values, dtype=np.float64)
    if grid.shape != (len(y_values), len(x_values)):
        raise InvalidParameterError(
            f"heatmap values have shape {grid.shape}, expected ({len(y_values)}, {len(x_values)}) "
            f"for {y_name} × {x_name}"
        )
    return HeatmapChart(
        title=title,
        synthetic=synthetic,
        metric=metric,
        maximize=maximize,
        x_name=x_name,
        y_name=y_name,
        x_labels=tuple(str(v) for v in x_values),
        y_labels=tuple(str(v) for v in y_values),
        values=grid,
        columns=tuple(columns),
        rows=tuple(tuple(row) for row in rows),
        stats=tuple(stats),
    )
