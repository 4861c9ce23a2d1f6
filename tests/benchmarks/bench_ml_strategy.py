"""Benchmark: does the learned strategy selector beat the naive baselines out of sample?

Trains ``train_selector`` on SYNTHETIC markets (``market_sim.generate``, fixed seeds: 8 symbols × 15 years of
daily bars by default) with walk-forward, purged splits, and prints the out-of-sample result of "pick the
strategy with the best predicted Sharpe" against "always the strategy best in-sample" (naive), "equal weight
of all strategies", the regime heuristic (``predict(None, ...)``) and the oracle (realised best, an upper
bound), then timings. Whatever the numbers say is what it reports.

Run on demand:  python tests/benchmarks/bench_ml_strategy.py [--symbols 8] [--years 15] [--alpha A]
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def _timed(fn: Callable[[], object], runs: int = 1) -> tuple[object, float]:
    samples, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return result, statistics.median(samples)


def main() -> None:
    from gpt_trader_core.market_sim import generate
    from gpt_trader_core.ml import (
        TrainedSelector,
        compute_features,
        compute_targets,
        heuristic_order,
        predict,
        train_selector,
    )
    from gpt_trader_core.ml.features import FEATURE_NAMES, periods_per_year
    from gpt_trader_core.strategy import REGISTRY

    n_symbols = int(_arg("--symbols", "8"))
    years = int(_arg("--years", "15"))
    alpha = None if "--alpha" not in sys.argv else float(_arg("--alpha", "1"))
    horizon, n_splits, first_year = 20, 5, 2005
    start, end = f"{first_year}-01-01", f"{first_year + years - 1}-12-31"

    markets, t_gen = _timed(
        lambda: [generate(f"SYN{i:02d}", start, end, "1d", seed=100 + i).bars for i in range(n_symbols)]
    )
    assert isinstance(markets, list)
    print(f"SYNTHETIC data: {n_symbols} symbols × {start}..{end} daily ({sum(map(len, markets)):,} bars), seeds 100+")
    _, t_feat = _timed(lambda: [compute_features(b, ("sma_cross", "momentum"), REGISTRY) for b in markets])

    selector, t_train = _timed(
        lambda: train_selector(markets, registry=REGISTRY, horizon=horizon, n_splits=n_splits, alpha=alpha)
    )
    assert isinstance(selector, TrainedSelector)
    report = selector.report
    print(f"horizon {horizon} bars, {n_splits} walk-forward splits (expanding, purged {horizon} bars)")
    print(
        f"ridge alpha: {'chosen per split' if alpha is None else 'fixed'}; shipped model alpha {selector.model.alpha}"
    )
    print()
    print("Out of sample, per split (mean forward return per decision):")
    print(f"  {'split':<5} {'test period':<23} {'rows':>6} {'alpha':>6} {'naive pick':<15} "
          f"{'model':>8} {'naive':>8} {'eq.wt':>8} {'oracle':>8} {'beat%':>6}")  # fmt: skip
    for split in report.splits:
        sc = split.scores
        print(
            f"  {split.index + 1:<5} {split.test_start:%Y-%m-%d}..{split.test_end:%Y-%m-%d} {split.test_rows:>6} "
            f"{split.alpha:>6g} {split.naive_strategy:<15} {sc['model'].mean_return:>+8.3%} "
            f"{sc['naive'].mean_return:>+8.3%} {sc['equal_weight'].mean_return:>+8.3%} "
            f"{sc['oracle'].mean_return:>+8.3%} {_pct(split.beat_naive_rate):>6}"
        )

    # The regime heuristic on the same out-of-sample period (every eligible row from the first test bar on).
    first_test = np.datetime64(report.splits[0].test_start)
    strategies = selector.strategies
    heur_returns, heur_spaced, heur_hits = [], [], []
    for bars in markets:
        feats = compute_features(bars)
        targets = compute_targets(bars, strategies, horizon, selector.cost, REGISTRY)
        rows = np.flatnonzero(feats.valid & np.isfinite(targets.returns).all(axis=1) & (bars.timestamps >= first_test))
        trend = feats.values[:, FEATURE_NAMES.index("trend_t_60")]
        picks = np.array([strategies.index(heuristic_order(feats.regimes[t], trend[t])[0][0]) for t in rows])
        realised = targets.returns[rows]
        heur_returns.append(realised[np.arange(len(rows)), picks])
        heur_hits.append(picks == realised.argmax(axis=1))
        heur_spaced.append((rows - rows[0]) % horizon == 0)
    h_ret, h_spaced = np.concatenate(heur_returns), np.concatenate(heur_spaced)
    scale = math.sqrt(periods_per_year("1d") / horizon)
    h_sharpe = float(h_ret[h_spaced].mean() / h_ret[h_spaced].std() * scale)

    print()
    print("Out of sample, all splits pooled:")
    print(f"  {'approach':<22} {'mean fwd return':>16} {'Sharpe':>8} {'hit rate':>9} {'decisions':>10}")
    rows_out = [(name, report.overall[name]) for name in ("model", "naive", "equal_weight", "oracle")]
    for name, s in rows_out:
        hit = "" if s.hit_rate is None else f"{s.hit_rate:.1%}"
        print(f"  {name:<22} {s.mean_return:>+16.3%} {s.sharpe:>+8.2f} {hit:>9} {s.decisions:>10,}")
    print(f"  {'heuristic (regime)':<22} {h_ret.mean():>+16.3%} {h_sharpe:>+8.2f} "
          f"{np.concatenate(heur_hits).mean():>9.1%} {len(h_ret):>10,}")  # fmt: skip
    print(
        f"  model beat naive in {_pct(report.overall_beat_naive_rate)} of the decisions where they picked differently"
    )
    print(f"  (hit rate = pick was the realised best of {len(strategies)}; chance {1 / len(strategies):.0%}. "
          f"Sharpe: decisions every {horizon} bars, annualised)")  # fmt: skip
    print()
    print("Per strategy, out of sample:")
    print(f"  {'strategy':<15} {'R² return':>10} {'R² Sharpe':>10} {'dir. hit':>9} {'skill':>6}")
    for i, (name, skill) in enumerate(report.per_strategy.items()):
        print(f"  {name:<15} {skill.r2_return:>+10.4f} {skill.r2_sharpe:>+10.4f} {skill.direction_hit:>9.1%} "
              f"{selector.skill[i]:>6.3f}")  # fmt: skip

    rec, t_predict = _timed(lambda: predict(selector, markets[0]), runs=20)
    _, t_heuristic = _timed(lambda: predict(None, markets[0]), runs=20)
    record = selector.to_record("bench")
    payload_bytes = len(json.dumps(record.payload))
    _, t_load = _timed(lambda: TrainedSelector.from_record(record, REGISTRY), runs=20)
    print()
    print(f"Example recommendation: {getattr(rec, 'reason', rec)}")
    print()
    print("Timings:")
    print(f"  generate data                 {t_gen * 1e3:9.1f} ms")
    print(f"  features (one pass, all)      {t_feat * 1e3:9.1f} ms")
    print(f"  train_selector (all splits)   {t_train * 1e3:9.1f} ms   ({report.rows:,} rows, {len(FEATURE_NAMES)}+"
          f"{3 * len(strategies)} features, {2 * len(strategies)} targets)")  # fmt: skip
    print(f"  predict (model, {len(markets[0])} bars)    {t_predict * 1e3:9.1f} ms   (median of 20)")
    print(f"  predict (heuristic)           {t_heuristic * 1e3:9.1f} ms")
    print(f"  from_record                   {t_load * 1e3:9.3f} ms   (payload {payload_bytes:,} bytes of JSON)")


if __name__ == "__main__":
    main()
