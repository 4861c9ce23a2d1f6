"""Benchmark: the SmaCross grid on GOOG — gpt-trader vs backtesting.py's Backtest.optimize vs vectorbt.

Grid: n1 in range(5, 30, 5), n2 in range(10, 70, 5), n1 < n2 (50 combinations), commission 0.002,
long_short. Also: a 1,000-combination grid and a walk-forward analysis.

Run on demand:  python tests/benchmarks/bench_optimize.py [--runs 5]
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = fn()  # warm (imports, JIT for vectorbt)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def main(runs: int = 5) -> None:
    warnings.simplefilter("ignore")
    import os

    os.environ.setdefault("TQDM_DISABLE", "1")
    from backtesting import Backtest
    from backtesting.test import GOOG

    import gpt_trader_core as gt
    from tests.parity.test_backtesting_py_parity import SmaCross

    peer = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)

    def theirs() -> Any:
        return peer.optimize(n1=range(5, 30, 5), n2=range(10, 70, 5), constraint=lambda p: p.n1 < p.n2,
                             maximize="Sharpe Ratio")  # fmt: skip

    def ours() -> Any:
        return gt.optimize(GOOG, "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5), commission=0.002,
                           maximize="sharpe_ratio", constraint=lambda p: p["fast"] < p["slow"])  # fmt: skip

    t_ours, res = median_time(ours, runs * 4)
    t_peer, peer_best = median_time(theirs, runs)
    print(f"SmaCross grid on GOOG (50 combinations), median of {runs}+ runs")
    print(f"  backtesting.py Backtest.optimize  {t_peer * 1e3:9.1f} ms   best {peer_best._strategy}")
    print(f"  gpt-trader gt.optimize            {t_ours * 1e3:9.1f} ms   best {res.best_params}"
          f"   {t_peer / t_ours:5.1f}x faster")  # fmt: skip
    try:
        import numpy as np
        import vectorbt as vbt

        close = GOOG["Close"]
        opens = GOOG["Open"]

        import pandas as pd

        pairs = [(f, s) for f in range(5, 30, 5) for s in range(10, 70, 5) if f < s]
        columns = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])

        def vectorbt_grid() -> Any:
            fast = vbt.MA.run(close, window=[f for f, _ in pairs]).ma.to_numpy()
            slow = vbt.MA.run(close, window=[s for _, s in pairs]).ma.to_numpy()
            prev_fast, prev_slow = np.roll(fast, 1, axis=0), np.roll(slow, 1, axis=0)
            up = (prev_fast < prev_slow) & (fast > slow)
            down = (prev_fast > prev_slow) & (fast < slow)
            up[0] = down[0] = False
            entries = pd.DataFrame(up, index=close.index, columns=columns)
            exits = pd.DataFrame(down, index=close.index, columns=columns)
            pf = vbt.Portfolio.from_signals(
                close,
                entries,
                exits,
                short_entries=exits,
                short_exits=entries,
                price=opens.shift(-1).ffill(),
                fees=0.002,
                init_cash=10_000,
                freq="1D",
            )
            return pf.sharpe_ratio()

        t_vbt, sharpe = median_time(vectorbt_grid, runs)
        print(f"  vectorbt (warm, {len(sharpe)} pairs)         {t_vbt * 1e3:9.1f} ms"
              f"   gpt-trader is {t_vbt / t_ours:5.1f}x faster (vectorbt's fill model differs)")  # fmt: skip
    except ImportError:
        print("  vectorbt not installed: pip install vectorbt")

    def big() -> Any:
        return gt.optimize(GOOG, "sma_cross", fast=range(2, 52), slow=range(10, 210, 5), commission=0.002,
                           constraint=lambda p: p["fast"] < p["slow"])  # fmt: skip

    t_big, big_res = median_time(big, max(1, runs // 2))
    print(f"  gpt-trader {len(big_res.trials):,}-combination grid    {t_big * 1e3:9.1f} ms"
          f"   ({t_big / len(big_res.trials) * 1e6:.0f} µs per combination)")  # fmt: skip

    def wf() -> Any:
        return gt.walk_forward(GOOG, "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5), commission=0.002,
                               constraint=lambda p: p["fast"] < p["slow"], n_windows=5)  # fmt: skip

    t_wf, wf_res = median_time(wf, runs)
    print(f"  gpt-trader walk-forward, 5 windows × 50 combinations  {t_wf * 1e3:7.1f} ms")
    print(wf_res)


if __name__ == "__main__":
    sys.path.insert(0, ".")
    main(int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5)
