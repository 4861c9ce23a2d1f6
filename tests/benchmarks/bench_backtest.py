"""Benchmark: one SmaCross(10, 20) backtest on GOOG — gpt-trader against backtesting.py, same run.

Run on demand:  python tests/benchmarks/bench_backtest.py [--runs 30]
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from collections.abc import Callable


def timings(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, best) seconds of ``runs`` calls; the best is the steadier figure on a busy machine."""
    fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), min(samples)


def main(runs: int = 30) -> None:
    warnings.simplefilter("ignore")
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import GOOG, SMA

    import gpt_trader_core as gt

    class SmaCross(Strategy):
        n1, n2 = 10, 20

        def init(self) -> None:
            self.sma1 = self.I(SMA, self.data.Close, self.n1)
            self.sma2 = self.I(SMA, self.data.Close, self.n2)

        def next(self) -> None:
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()
                self.sell()

    peer = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
    bars = gt.as_bars(GOOG, "GOOG")
    t_peer = timings(peer.run, runs)
    t_bars = timings(lambda: gt.backtest(bars, "sma_cross", fast=10, slow=20, commission=0.002), runs * 5)
    t_frame = timings(lambda: gt.backtest(GOOG, "sma_cross", fast=10, slow=20, commission=0.002), runs * 5)
    print(f"SmaCross(10,20) on GOOG ({len(GOOG)} bars), {runs}+ runs: median (best)")
    print(f"  backtesting.py            {t_peer[0] * 1e3:8.2f} ms ({t_peer[1] * 1e3:.2f})")
    for label, (median, best) in (("gpt-trader (gt.Bars)     ", t_bars), ("gpt-trader (DataFrame in)", t_frame)):
        print(
            f"  {label} {median * 1e3:8.2f} ms ({best * 1e3:.2f})   {t_peer[0] / median:6.1f}x faster "
            f"({t_peer[1] / best:.1f}x)"
        )


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 30)
