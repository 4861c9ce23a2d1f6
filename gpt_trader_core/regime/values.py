"""Regime names, detector settings and results, and the scoring of labels against a ground truth.

* ``REGIMES``: the seven regime names, in the order the synthetic market generator uses, so a regime
  *index* means the same thing everywhere. Each name is ``<direction>_<volatility>`` (direction ``bull`` /
  ``bear`` / ``sideways``, volatility ``quiet`` / ``volatile``) except ``crisis``, which counts as ``bear``
  and ``volatile`` in the coarse splits (:func:`direction_of`, :func:`volatility_of`).
* ``RegimeThresholds``: every number the detectors use (formulas in ``gpt_trader_core.regime.rules``).
* ``RegimeAnalysis``: what ``detect_regime`` returns. Summary statistics are computed from ``series``:

  - ``transition_matrix[i][j]`` = (number of bars ``t`` with ``series[t] = REGIMES[i]`` and
    ``series[t+1] = REGIMES[j]``) / (number of bars ``t < n-1`` with ``series[t] = REGIMES[i]``): the
    bar-to-bar Markov chain, self-transitions included. A row whose regime never occurs before the last
    bar is all zeros; every other row sums to 1.
  - ``average_durations[r]`` = mean length in bars of the maximal runs of ``r`` in ``series`` (the first
    and last run count as they are, truncated by the data); only regimes that occur are listed.
  - ``changes``: one ``RegimeChange`` per bar whose label differs from the previous bar's.

* ``regime_accuracy`` / ``accuracy_report``: share of bars labelled like the truth, per-regime
  precision (of the bars labelled ``r``, the share truly ``r``) and recall (of the bars truly ``r``, the
  share labelled ``r``), and accuracy on the coarse 3-way direction and 2-way volatility splits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.domain.bars import TIMEFRAMES, Bars, to_datetime
from gpt_trader_core.domain.readonly import read_only_fields, rebuild
from gpt_trader_core.domain.regimes import REGIMES as REGIMES
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError

#: The coarse direction of each regime (crisis counts as bear).
DIRECTIONS: tuple[str, ...] = ("bull", "bear", "sideways")
#: The coarse volatility of each regime (crisis counts as volatile).
VOLATILITIES: tuple[str, ...] = ("quiet", "volatile")
#: Detection methods ``detect_regime`` knows.
METHODS: tuple[str, ...] = ("rules", "hmm")

_INDEX = {name: i for i, name in enumerate(REGIMES)}
_DIRECTION_OF_INDEX = np.array([0, 0, 1, 1, 2, 2, 1], dtype=np.int8)
_VOLATILITY_OF_INDEX = np.array([0, 1, 0, 1, 0, 1, 1], dtype=np.int8)
_NS_PER_DAY = 86_400 * 10**9

IntArray = NDArray[np.int8]


def regime_index(name: str) -> int:
    """Index of regime ``name`` in ``REGIMES``; ``InvalidParameterError`` for an unknown name."""
    try:
        return _INDEX[name]
    except (KeyError, TypeError):
        raise InvalidParameterError(f"unknown regime {name!r}; use one of {', '.join(REGIMES)}") from None


def direction_of(regime: str) -> str:
    """``bull``, ``bear`` or ``sideways`` (``crisis`` → ``bear``)."""
    return DIRECTIONS[int(_DIRECTION_OF_INDEX[regime_index(regime)])]


def volatility_of(regime: str) -> str:
    """``quiet`` or ``volatile`` (``crisis`` → ``volatile``)."""
    return VOLATILITIES[int(_VOLATILITY_OF_INDEX[regime_index(regime)])]


def default_periods_per_year(timeframe: str) -> float:
    """Bars per year for a timeframe: 252 trading days; ``1w`` 52, ``1mo`` 12; intraday ``252 * bars/day``.

    Intraday bars are assumed to cover whole 24-hour days (as the synthetic market does); for data
    with exchange hours only (e.g. 6.5 h a day) pass ``periods_per_year`` explicitly.
    """
    if timeframe == "1w":
        return 52.0
    if timeframe == "1mo":
        return 12.0
    length = TIMEFRAMES.get(timeframe)
    if length is None:
        raise InvalidParameterError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    per_day = _NS_PER_DAY / float(length.astype("timedelta64[ns]").astype(np.int64))
    return 252.0 * max(per_day, 1.0)


# -- settings ------------------------------------------------------------------------------------------


def _positive_int(minimum: int) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
            raise InvalidParameterError(
                f"RegimeThresholds.{attribute.name} must be an integer >= {minimum}, got {value!r}"
            )

    return check


def _finite(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameterError(f"RegimeThresholds.{attribute.name} must be a finite number, got {value!r}")


@attrs.frozen
class RegimeThresholds:
    """The numbers behind regime detection (formulas in ``gpt_trader_core.regime.rules``).

    The defaults were tuned by grid search for accuracy against the synthetic market's ground truth
    (daily bars, 30 paths of 20 years, seeds disjoint from the accuracy benchmark's); the first spec's
    values were ``trend_window=60, vol_window=30, bull_trend=0.10, bear_trend=-0.10, high_vol=0.20,
    crisis_drawdown=0.20, min_duration=5``. The bear threshold is deliberately further from 0 than the
    bull one: a trailing log-return trend is biased down by volatility drag and sideways-volatile paths
    often show transient declines.

    - ``trend_window``: span (bars) of the exponentially weighted mean log return that measures trend;
      detection needs at least ``trend_window + 1`` bars.
    - ``vol_window``: bars averaged by the Garman-Klass volatility estimate.
    - ``bull_trend`` / ``bear_trend``: annualised trend above ``bull_trend`` → bull, below ``bear_trend``
      → bear, in between → sideways (``bear_trend < bull_trend``).
    - ``high_vol``: annualised volatility above it → volatile, else quiet.
    - ``crisis_vol`` / ``crisis_drawdown``: crisis when volatility is above ``crisis_vol`` *and* the close
      is more than ``crisis_drawdown`` (a fraction) below its highest close of the last ``drawdown_window``
      bars.
    - ``periods_per_year``: bars per year for annualising; ``None`` derives it from the bars' timeframe
      (``default_periods_per_year``: 252 for daily).
    - ``min_duration``: smoothing - a new regime must be the raw label for ``min_duration`` consecutive bars
      before the output switches to it (1 = no smoothing). Delays every switch by ``min_duration - 1``
      bars; causal.
    - ``hysteresis``: the trend must cross a direction threshold by this much (annualised) to change
      direction (0 = none); stops the direction from flickering when the trend hovers at a threshold.
    """

    trend_window: int = attrs.field(default=80, validator=_positive_int(2))
    vol_window: int = attrs.field(default=5, validator=_positive_int(1))
    bull_trend: float = attrs.field(default=0.12, validator=_finite)
    bear_trend: float = attrs.field(default=-0.24, validator=_finite)
    high_vol: float = attrs.field(default=0.15, validator=_finite)
    crisis_vol: float = attrs.field(default=0.45, validator=_finite)
    crisis_drawdown: float = attrs.field(default=0.10, validator=_finite)
    drawdown_window: int = attrs.field(default=252, validator=_positive_int(2))
    periods_per_year: float | None = None
    min_duration: int = attrs.field(default=3, validator=_positive_int(1))
    hysteresis: float = attrs.field(default=0.0, validator=_finite)

    def __attrs_post_init__(self) -> None:
        if not self.bear_trend < self.bull_trend:
            raise InvalidParameterError(
                f"RegimeThresholds: bear_trend ({self.bear_trend}) must be below bull_trend ({self.bull_trend})"
            )
        if not self.high_vol > 0:
            raise InvalidParameterError(f"RegimeThresholds.high_vol must be > 0, got {self.high_vol}")
        if not self.crisis_vol > self.high_vol:
            raise InvalidParameterError(
                f"RegimeThresholds: crisis_vol ({self.crisis_vol}) must exceed high_vol ({self.high_vol})"
            )
        if not 0 < self.crisis_drawdown < 1:
            raise InvalidParameterError(
                f"RegimeThresholds.crisis_drawdown must be a fraction in (0, 1) such as 0.2, got {self.crisis_drawdown}"
            )
        if not 0 <= self.hysteresis < (self.bull_trend - self.bear_trend) / 2:
            raise InvalidParameterError(
                f"RegimeThresholds.hysteresis must be in [0, (bull_trend - bear_trend) / 2) = "
                f"[0, {(self.bull_trend - self.bear_trend) / 2:g}), got {self.hysteresis}"
            )
        ppy = self.periods_per_year
        if ppy is not None and (
            isinstance(ppy, bool) or not isinstance(ppy, int | float) or not math.isfinite(ppy) or ppy <= 0
        ):
            raise InvalidParameterError(
                f"RegimeThresholds.periods_per_year must be a positive number (252 for daily bars) or None, got {ppy!r}"
            )

    def annualisation(self, timeframe: str) -> float:
        """``periods_per_year``, or the default for ``timeframe`` when it is ``None``."""
        if self.periods_per_year is not None:
            return float(self.periods_per_year)
        return default_periods_per_year(timeframe)


# -- results -------------------------------------------------------------------------------------------


@attrs.frozen
class RegimeChange:
    """The regime switched at ``bar`` (its ``time``) from ``from_regime`` to ``to_regime``."""

    bar: int
    time: dt.datetime
    from_regime: str
    to_regime: str


@attrs.frozen(eq=False)
class RegimeAnalysis:
    """Regimes detected on a history of bars (see the module docstring for the summary statistics).

    - ``current``: the regime of the last bar; ``confidence`` in [0, 1] (how it is computed depends on
      the method: see ``rules`` and ``hmm``).
    - ``series``: the regime name of every bar (same length as the bars; warm-up bars carry the best
      estimate available from the bars so far).
    - ``transition_matrix``: 7 x 7 nested tuples, rows and columns in ``labels`` (= ``REGIMES``) order.
    - ``average_durations``: regime → mean run length in bars (regimes that occur).
    - ``changes``: every switch, oldest first. ``method``: ``rules`` or ``hmm``.
    """

    current: str
    confidence: float
    series: tuple[str, ...]
    transition_matrix: tuple[tuple[float, ...], ...]
    average_durations: Mapping[str, float]
    changes: tuple[RegimeChange, ...]
    method: str
    thresholds: RegimeThresholds
    symbol: str = "UNKNOWN"
    timeframe: str = "1d"
    labels: tuple[str, ...] = REGIMES

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this the value cannot leave a worker process.
        return (rebuild, read_only_fields(self))

    def __len__(self) -> int:
        return len(self.series)

    def indices(self) -> IntArray:
        """The series as regime indices into ``REGIMES`` (int8 array)."""
        return np.array([_INDEX[name] for name in self.series], dtype=np.int8)

    def transition_probability(self, from_regime: str, to_regime: str) -> float:
        """Observed probability that a bar in ``from_regime`` is followed by one in ``to_regime``."""
        return self.transition_matrix[regime_index(from_regime)][regime_index(to_regime)]

    def share(self, regime: str) -> float:
        """Fraction of bars labelled ``regime``."""
        regime_index(regime)
        return self.series.count(regime) / len(self.series)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the per-bar series)."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "method": self.method,
            "current": self.current,
            "confidence": self.confidence,
            "bars": len(self.series),
            "labels": list(self.labels),
            "transition_matrix": [list(row) for row in self.transition_matrix],
            "average_durations": dict(self.average_durations),
            "changes": [
                {
                    "bar": c.bar,
                    "time": c.time.isoformat(),
                    "from_regime": c.from_regime,
                    "to_regime": c.to_regime,
                }
                for c in self.changes
            ],
            "thresholds": attrs.asdict(self.thresholds),
        }

    def __repr__(self) -> str:
        return (
            f"RegimeAnalysis({self.symbol} {self.timeframe}, {self.method}: current={self.current} "
            f"(confidence {self.confidence:.2f}), {len(self.series)} bars, {len(self.changes)} changes)"
        )


def transition_matrix(indices: IntArray) -> tuple[tuple[float, ...], ...]:
    """Row-stochastic bar-to-bar transition matrix of a regime-index series (zero rows for unseen)."""
    k = len(REGIMES)
    counts = np.zeros((k, k))
    if len(indices) > 1:
        np.add.at(counts, (indices[:-1].astype(np.intp), indices[1:].astype(np.intp)), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return tuple(tuple(float(p) for p in row) for row in probs)


def run_lengths(indices: IntArray) -> tuple[IntArray, NDArray[np.intp]]:
    """The regime and the length of each maximal run of equal values."""
    if len(indices) == 0:
        return np.empty(0, dtype=np.int8), np.empty(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], indices[1:] != indices[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(indices)])))
    return indices[starts], lengths


def average_durations(indices: IntArray) -> Mapping[str, float]:
    """Regime name → mean run length in bars, for the regimes that occur (in ``REGIMES`` order)."""
    regimes, lengths = run_lengths(indices)
    out: dict[str, float] = {}
    for i, name in enumerate(REGIMES):
        mask = regimes == i
        if mask.any():
            out[name] = float(lengths[mask].mean())
    return MappingProxyType(out)


def build_analysis(
    bars: Bars,
    indices: IntArray,
    confidence: float,
    method: str,
    thresholds: RegimeThresholds,
) -> RegimeAnalysis:
    """Assemble a ``RegimeAnalysis`` from per-bar regime indices."""
    series = tuple(REGIMES[i] for i in indices.tolist())
    changed = np.flatnonzero(indices[1:] != indices[:-1]) + 1
    changes = tuple(
        RegimeChange(
            bar=int(bar),
            time=to_datetime(bars.timestamps[bar]),
            from_regime=REGIMES[int(indices[bar - 1])],
            to_regime=REGIMES[int(indices[bar])],
        )
        for bar in changed.tolist()
    )
    return RegimeAnalysis(
        current=series[-1],
        confidence=float(min(1.0, max(0.0, confidence))),
        series=series,
        transition_matrix=transition_matrix(indices),
        average_durations=average_durations(indices),
        changes=changes,
        method=method,
        thresholds=thresholds,
        symbol=bars.symbol,
        timeframe=bars.timeframe,
    )


# -- accuracy ------------------------------------------------------------------------------------------


def as_regime_indices(labels: RegimeAnalysis | Sequence[str] | Sequence[int] | np.ndarray, what: str) -> IntArray:
    """Regime labels (a ``RegimeAnalysis``, names or indices into ``REGIMES``) as an int8 index array."""
    if isinstance(labels, RegimeAnalysis):
        return labels.indices()
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InvalidDataError(f"{what} must be a 1-D sequence of regime names or indices, got shape {array.shape}")
    if array.dtype.kind in "iu":
        bad = np.flatnonzero((array < 0) | (array >= len(REGIMES)))
        if bad.size:
            raise InvalidParameterError(
                f"{what}[{int(bad[0])}] = {int(array[bad[0]])} is not a regime index; use 0..{len(REGIMES) - 1}"
            )
        return array.astype(np.int8)
    if array.size and array.dtype.kind not in "UO":
        raise InvalidDataError(f"{what} must hold regime names or integer indices, got dtype {array.dtype}")
    out = np.empty(array.size, dtype=np.int8)
    for i, name in enumerate(array.tolist()):
        index = _INDEX.get(name) if isinstance(name, str) else None
        if index is None:
            raise InvalidParameterError(f"{what}[{i}] is {name!r}, not a regime; use one of {', '.join(REGIMES)}")
        out[i] = index
    return out


def _pair(predicted: Any, truth: Any) -> tuple[IntArray, IntArray]:
    p = as_regime_indices(predicted, "predicted")
    t = as_regime_indices(truth, "truth")
    if len(p) != len(t):
        raise InvalidDataError(f"predicted has {len(p)} labels but truth has {len(t)}; give one per bar to both")
    if len(p) == 0:
        raise InvalidDataError("no labels to score; give at least one bar")
    return p, t


def regime_accuracy(
    predicted: RegimeAnalysis | Sequence[str] | Sequence[int] | np.ndarray,
    truth: Sequence[str] | Sequence[int] | np.ndarray,
) -> float:
    """Share of bars whose predicted regime equals the true one (names or indices into ``REGIMES``)."""
    p, t = _pair(predicted, truth)
    return float(np.mean(p == t))


@attrs.frozen
class RegimeAccuracy:
    """Scores of predicted regimes against the truth (NaN where a regime is never predicted / true).

    ``confusion[i][j]``: bars truly ``REGIMES[i]`` labelled ``REGIMES[j]``.
    """

    accuracy: float
    direction_accuracy: float
    volatility_accuracy: float
    precision: Mapping[str, float] = attrs.field(hash=False)
    recall: Mapping[str, float] = attrs.field(hash=False)
    support: Mapping[str, int] = attrs.field(hash=False)
    confusion: tuple[tuple[int, ...], ...]
    bars: int

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; without this the value cannot leave a worker process.
        return (rebuild, read_only_fields(self))


def accuracy_report(
    predicted: RegimeAnalysis | Sequence[str] | Sequence[int] | np.ndarray,
    truth: Sequence[str] | Sequence[int] | np.ndarray,
) -> RegimeAccuracy:
    """Overall, per-regime and coarse-split accuracy of ``predicted`` against ``truth``."""
    p, t = _pair(predicted, truth)
    k = len(REGIMES)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (t.astype(np.intp), p.astype(np.intp)), 1)
    predicted_count = confusion.sum(axis=0)
    true_count = confusion.sum(axis=1)
    hits = np.diag(confusion)
    precision = {
        name: float(hits[i] / predicted_count[i]) if predicted_count[i] else math.nan for i, name in enumerate(REGIMES)
    }
    recall = {name: float(hits[i] / true_count[i]) if true_count[i] else math.nan for i, name in enumerate(REGIMES)}
    return RegimeAccuracy(
        accuracy=float(np.mean(p == t)),
        direction_accuracy=float(np.mean(_DIRECTION_OF_INDEX[p] == _DIRECTION_OF_INDEX[t])),
        volatility_accuracy=float(np.mean(_VOLATILITY_OF_INDEX[p] == _VOLATILITY_OF_INDEX[t])),
        precision=MappingProxyType(precision),
        recall=MappingProxyType(recall),
        support=MappingProxyType({name: int(true_count[i]) for i, name in enumerate(REGIMES)}),
        confusion=tuple(tuple(int(c) for c in row) for row in confusion),
        bars=len(p),
    )
