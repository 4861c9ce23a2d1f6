"""Benchmark: one SmaCross(10, 20) backtest on GOOG — gpt-trader against backtesting.py, same run.

Run on demand:  python tests/benchmarks/bench_backtest.py [--runs 30]

The contenders take turns (one backtesting.py run, then five of each of ours, per round). The issue's
figure is the "DataFrame in" row (``gt.backtest(df, ...)``, as a user calls it). A result builds its
Trade objects, calendar tables, exit-reason table and data fingerprint on first read; the last row
reads them all, to show what that deferral saves and what it would cost a caller who reads everything.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, repeat: dict[str, int]) -> dict[str, list[float]]:
    """Seconds of each call, the contenders taking turns round after round (``repeat[name]`` calls of
    ``name`` per round): on a shared machine a busy spell then slows every contender alike, where timing
    one after the other would charge it to whoever ran then."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(repeat.get(name, 1)):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    return samples


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

    def read_everything() -> tuple[object, ...]:
        res = gt.backtest(GOOG, "sma_cross", fast=10, slow=20, commission=0.002)
        return res.trades, res.monthly_returns, res.yearly_returns, res.exit_reasons, res.data_fingerprint

    peer = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
    bars = gt.as_bars(GOOG, "GOOG")
    samples = interleaved(
        {
            "peer": peer.run,
            "bars": lambda: gt.backtest(bars, "sma_cross", fast=10, slow=20, commission=0.002),
            "frame": lambda: gt.backtest(GOOG, "sma_cross", fast=10, slow=20, commission=0.002),
            "frame_all": read_everything,
        },
        runs,
        {"bars": 5, "frame": 5, "frame_all": 5},
    )
    t_peer = statistics.median(samples["peer"]), min(samples["peer"])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"SmaCross(10,20) on GOOG ({len(GOOG)} bars), {runs} interleaved rounds: median (best); load average {load}")
    print(f"  backtesting.py            {t_peer[0] * 1e3:8.2f} ms ({t_peer[1] * 1e3:.2f})")
    for label, name in (
        ("gpt-trader (gt.Bars)     ", "bars"),
        ("gpt-trader (DataFrame in)", "frame"),
        ("  + every deferred field ", "frame_all"),
    ):
        median, best = statistics.median(samples[name]), min(samples[name])
        print(
            f"  {label} {median * 1e3:8.2f} ms ({best * 1e3:.2f})   {t_peer[0] / median:6.1f}x faster "
            f"({t_peer[1] / best:.1f}x)"
        )


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 30)
