"""``BacktestResult``: everything a backtest produced, ready for a notebook, a terminal or an API."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

import attrs
import numpy as np

from gpt_trader_core.domain.charts import BacktestChart, ChartRenderer, HtmlChart, backtest_chart, show, write_report
from gpt_trader_core.domain.formatting import format_value as format_value  # numpy-free, for the CLI
from gpt_trader_core.domain.trading import Position, Trade

_HEADLINE = (
    ("return_pct", "Return [%]"),
    ("buy_hold_return_pct", "Buy & Hold Return [%]"),
    ("return_ann_pct", "Return (Ann.) [%]"),
    ("volatility_ann_pct", "Volatility (Ann.) [%]"),
    ("sharpe_ratio", "Sharpe Ratio"),
    ("sortino_ratio", "Sortino Ratio"),
    ("calmar_ratio", "Calmar Ratio"),
    ("max_drawdown_pct", "Max. Drawdown [%]"),
    ("num_trades", "# Trades"),
    ("win_rate_pct", "Win Rate [%]"),
    ("profit_factor", "Profit Factor"),
    ("equity_final", "Equity Final [$]"),
    ("commissions", "Commissions [$]"),
    ("exposure_time_pct", "Exposure Time [%]"),
)


T = TypeVar("T")


class Deferred(Generic[T]):
    """A result field computed on first read: a backtest's per-trade objects, calendar tables and data
    fingerprint cost more to build than the simulation they describe, and a caller that only reads
    ``stats`` (an optimiser, a screen of many runs) never needs them. Build one with ``deferred``."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], T]) -> None:
        self.compute = compute


def deferred(compute: Callable[[], T]) -> T:
    """The value ``compute()`` returns, as a deferrable ``BacktestResult`` field takes it: computed when
    the field is first read. Typed as that value because no reader ever sees anything else."""
    return cast(T, Deferred(compute))


class _ResolvingSlot:
    """Wraps the slot of a deferrable field: the first read of a ``Deferred`` computes it and keeps the
    value in the slot. Every reader — attribute access, attrs.evolve/asdict, cattrs, pickling — goes
    through the slot, so none can see the ``Deferred`` itself."""

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = self._slot.__get__(obj, owner)
        if type(value) is Deferred:
            value = value.compute()
            self._slot.__set__(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        self._slot.__set__(obj, value)  # attrs' __init__ (frozen classes set through object.__setattr__)


@attrs.frozen(eq=False, repr=False)
class BacktestResult:
    """The outcome of one backtest.

    ``stats`` maps the statistic names (see ``gpt_trader_core.backtesting.stats``) to values;
    ``trades`` lists closed trades; ``equity``, ``drawdown`` (fraction) and ``position`` (units held)
    have one value per bar at ``timestamps``. ``open_position`` is a position still open at the end
    (marked to market in the equity, not a trade). ``synthetic`` is True when the data were generated.

    ``trades``, ``data_fingerprint``, ``monthly_returns``, ``yearly_returns`` and ``exit_reasons``
    may be given as ``deferred(function)``: they are then computed on first read (and kept).
    """

    strategy: str
    params: Mapping[str, Any]
    symbol: str
    timeframe: str
    source: str
    synthetic: bool
    data_fingerprint: str  # deferrable (see _DEFERRABLE)
    config: Any  # gpt_trader_core.backtesting.config.BacktestConfig
    stats: Mapping[str, Any]
    trades: tuple[Trade, ...]  # deferrable
    timestamps: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray
    position: np.ndarray
    open_position: Position | None
    monthly_returns: tuple[tuple[str, float], ...]  # deferrable
    yearly_returns: tuple[tuple[str, float], ...]  # deferrable
    exit_reasons: Mapping[str, Mapping[str, float]]  # deferrable
    rejected_orders: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views cannot be pickled; ship plain dicts and wrap them again. Deferred
        # fields are computed first (their functions close over the bars, which need not travel).
        values = {a.name: getattr(self, a.name) for a in attrs.fields(BacktestResult)}
        for name in ("params", "stats", "exit_reasons"):
            values[name] = dict(values[name])
        return (_rebuild_result, (values,))

    @property
    def label(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        tag = " — SYNTHETIC DATA" if self.synthetic else ""
        return f"{self.strategy}({args}) on {self.symbol} {self.timeframe}{tag}"

    def to_frame(self) -> Any:
        """Per-bar pandas DataFrame: Equity, DrawdownPct, Position (needs pandas)."""
        from gpt_trader_core.domain.dataframes import result_to_frame

        return result_to_frame(self)

    def trades_frame(self) -> Any:
        """One row per closed trade as a pandas DataFrame (needs pandas)."""
        from gpt_trader_core.domain.dataframes import trades_to_frame

        return trades_to_frame(self.trades)

    # Charts: the data are built here, drawn by the installed renderer (gpt_trader_core/domain/charts.py).
    def chart(self) -> BacktestChart:
        """Equity, drawdown and trade markers, statistics and trades, as chart data."""
        return backtest_chart(
            title=self.label,
            synthetic=self.synthetic,
            timestamps=self.timestamps,
            equity=self.equity,
            drawdown=self.drawdown,
            trades=self.trades,
            stats=[(key, format_value(value)) for key, value in self.stats.items()],
        )

    def plot(self, renderer: ChartRenderer | None = None) -> HtmlChart:
        """Interactive equity/drawdown/trades chart for a notebook (works offline)."""
        return show(self.chart(), renderer)

    def report(self, path: str | Path, renderer: ChartRenderer | None = None) -> Path:
        """Write one self-contained HTML report (statistics, charts, trade list) to ``path``."""
        return write_report(self.chart(), path, renderer)

    def __repr__(self) -> str:
        width = max(len(name) for _, name in _HEADLINE)
        lines = [f"BacktestResult: {self.label}", f"  {self.stats['start']} → {self.stats['end']}"]
        lines += [f"  {name:<{width}}  {format_value(self.stats[key]):>16}" for key, name in _HEADLINE]
        if self.open_position is not None:
            lines.append(f"  open position: {self.open_position.size:g} @ {self.open_position.entry_price:.4f}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
            f"<td style='text-align:right'>{html.escape(format_value(value))}</td></tr>"
            for key, value in self.stats.items()
        )
        warn = (
            "<p style='color:#b45309'><b>SYNTHETIC DATA</b> — generated, not observed prices.</p>"
            if self.synthetic
            else ""
        )
        return f"<div><b>{html.escape(self.label)}</b>{warn}<table>{rows}</table><p>{len(self.trades)} trades</p></div>"


_DEFERRABLE = ("data_fingerprint", "trades", "monthly_returns", "yearly_returns", "exit_reasons")
for _name in _DEFERRABLE:
    setattr(BacktestResult, _name, _ResolvingSlot(BacktestResult.__dict__[_name]))


def _rebuild_result(values: dict[str, Any]) -> BacktestResult:
    for name in ("params", "stats", "exit_reasons"):
        values[name] = MappingProxyType(values[name])
    return BacktestResult(**values)
