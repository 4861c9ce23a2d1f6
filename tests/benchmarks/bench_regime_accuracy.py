"""Benchmark: regime-detection accuracy against the SYNTHETIC market's ground truth, and timings.

Generates daily bars for several symbols (default 10 symbols x 20 years, 2000-2019), runs both detectors
(``rules`` with the tuned defaults and with the original spec's thresholds, ``hmm`` walk-forward and
in-sample) and prints, pooled over all bars: overall accuracy, accuracy on the coarse 3-way direction
(bull / bear / sideways; crisis counts as bear) and 2-way volatility (quiet / volatile; crisis counts as
volatile) splits, per-regime precision / recall, the number of regime changes per year, and the median
time per symbol. Every bar is scored, warm-up included.

The default thresholds were tuned (grid search) on *other* synthetic paths - symbols TR0..TR29 with seeds
100..129, 1995-2014 - so these figures are out-of-sample with respect to the tuning (same generator, though).

Run on demand:  python tests/benchmarks/bench_regime_accuracy.py [symbols] [years]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.regime import (
    REGIMES,
    RegimeAnalysis,
    RegimeThresholds,
    accuracy_report,
    detect_regime,
)

try:  # the generator's package was renamed once; accept either name
    from gpt_trader_core.market_sim import generate
except ImportError:  # pragma: no cover
    from gpt_trader_core.synthetic import generate  # type: ignore[no-redef]

SYMBOLS = ("AAPL", "MSFT", "SPY", "QQQ", "BTC", "EUR", "GLD", "TSLA", "XOM", "JPM", "NVDA", "AMZN")

#: The thresholds first specified for the detector (before tuning on this benchmark).
SPEC_THRESHOLDS = RegimeThresholds(
    trend_window=60,
    vol_window=30,
    bull_trend=0.10,
    bear_trend=-0.10,
    high_vol=0.20,
    crisis_vol=0.45,
    crisis_drawdown=0.20,
    min_duration=5,
    hysteresis=0.0,
)

DETECTORS: dict[str, Callable[[Bars], RegimeAnalysis]] = {
    "rules (tuned defaults)": lambda bars: detect_regime(bars),
    "rules (spec thresholds)": lambda bars: detect_regime(bars, SPEC_THRESHOLDS),
    "hmm (walk-forward, default)": lambda bars: detect_regime(bars, method="hmm"),
    "hmm (in-sample fit)": lambda bars: detect_regime(bars, method="hmm", refit_every=None),
}


def markets(count: int, years: int) -> list[tuple[Bars, np.ndarray]]:
    out = []
    for i, symbol in enumerate(SYMBOLS[:count]):
        market = generate(symbol, "2000-01-01", f"{1999 + years}-12-31", "1d", seed=i)
        out.append((market.bars, np.asarray(market.regimes)))
    return out


def evaluate(name: str, detect: Callable[[Bars], RegimeAnalysis], data: list[tuple[Bars, np.ndarray]]) -> None:
    predicted: list[np.ndarray] = []
    truth: list[np.ndarray] = []
    seconds: list[float] = []
    changes = 0
    for bars, regimes in data:
        t0 = time.perf_counter()
        analysis = detect(bars)
        seconds.append(time.perf_counter() - t0)
        predicted.append(analysis.indices())
        truth.append(regimes)
        changes += len(analysis.changes)
    report = accuracy_report(np.concatenate(predicted), np.concatenate(truth))
    years = report.bars / 252
    true_changes = sum(int(np.count_nonzero(t[1:] != t[:-1])) for t in truth)
    print(f"\n== {name}")
    print(
        f"   overall {report.accuracy:6.1%}   direction (3-way) {report.direction_accuracy:6.1%}   "
        f"volatility (2-way) {report.volatility_accuracy:6.1%}"
    )
    print(
        f"   changes/year {changes / years:5.1f} (truth {true_changes / years:.1f})   "
        f"median time per symbol {statistics.median(seconds) * 1000:8.1f} ms ({len(data[0][0])} bars)"
    )
    print(f"   {'regime':<18} {'precision':>9} {'recall':>7} {'support':>8}")
    for regime in REGIMES:
        print(
            f"   {regime:<18} {_pct(report.precision[regime]):>9} {_pct(report.recall[regime]):>7} "
            f"{report.support[regime]:>8}"
        )


def _pct(value: float) -> str:
    return "   -" if value != value else f"{value:.1%}"


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 10
    years = int(argv[1]) if len(argv) > 1 else 20
    only: Any = argv[2] if len(argv) > 2 else None
    data = markets(count, years)
    bars = sum(len(b) for b, _ in data)
    print(f"SYNTHETIC daily data: {count} symbols x {years} years = {bars} bars")
    for name, detect in DETECTORS.items():
        if only is None or only in name:
            evaluate(name, detect, data)


if __name__ == "__main__":
    main(sys.argv[1:])
