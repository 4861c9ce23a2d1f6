"""Market shapes: bars, regimes, analyses, recommendations, sizing, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from entrypoints.serialization import to_plain
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.regime import RegimeAnalysis


@attrs.frozen
class BarsView:
    """OHLCV bars; ``synthetic`` is true when the source generated them (not market data)."""

    symbol: str
    timeframe: str
    source: str
    synthetic: bool
    count: int
    timestamps: tuple[str, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    volume: tuple[float, ...]


@attrs.frozen
class RegimeView:
    """The current regime, its confidence in [0, 1] and the most recent transitions."""

    symbol: str
    method: str
    current: str
    confidence: float
    synthetic: bool
    transitions: tuple[Mapping[str, Any], ...]
    average_durations: Mapping[str, float]


@attrs.frozen
class AnalysisView:
    """A market analysis: one symbol's snapshot (and strategy comparison), or a portfolio's risk;
    ``series``: per-bar indicators, one value per bar of the data (null while warming up), when asked."""

    symbols: tuple[str, ...]
    synthetic: bool
    analysis: Mapping[str, Any] | None
    comparison: Mapping[str, Any] | None
    portfolio: Mapping[str, Any] | None
    series: Mapping[str, Any] | None = None


@attrs.frozen
class Explained:
    """A domain answer (recommendation, sizing decision, comparison) as JSON, with its explanation."""

    result: Mapping[str, Any]
    explanation: str | None


def bars_view(bars: Bars) -> BarsView:
    return BarsView(
        bars.symbol,
        bars.timeframe,
        bars.source,
        bars.synthetic,
        len(bars),
        tuple(np.datetime_as_string(bars.timestamps, unit="s").tolist()),
        tuple(to_plain(bars.open)),
        tuple(to_plain(bars.high)),
        tuple(to_plain(bars.low)),
        tuple(to_plain(bars.close)),
        tuple(to_plain(bars.volume)),
    )


def bars_csv(bars: Bars) -> str:
    stamps = np.datetime_as_string(bars.timestamps, unit="s")
    lines = ["timestamp,open,high,low,close,volume"]
    for i in range(len(bars)):
        lines.append(
            f"{stamps[i]},{bars.open[i]:.6g},{bars.high[i]:.6g},{bars.low[i]:.6g},{bars.close[i]:.6g},{bars.volume[i]:.6g}"
        )
    return "\n".join(lines) + "\n"


def regime_view(symbol: str, synthetic: bool, analysis: RegimeAnalysis, recent: int = 10) -> RegimeView:
    return RegimeView(
        symbol.upper(),
        analysis.method,
        analysis.current,
        analysis.confidence,
        synthetic,
        tuple(to_plain(c) for c in analysis.changes[-recent:]),
        to_plain(dict(analysis.average_durations)),
    )
