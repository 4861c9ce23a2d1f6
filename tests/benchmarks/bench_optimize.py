"""Benchmark: SmaCross grids on GOOG — gpt-trader (batched) vs vectorbt vs backtesting.py, same run.

- 1,054 combinations: fast 2–60 step 2 × slow 10–205 step 5, fast < slow, commission 0.002, long_short.
  Goals: ≥ 5× faster than vectorbt (warm, its own vectorised grid), ≥ 100× faster than Backtest.optimize.
- 50 combinations: n1 5–25 step 5 × n2 10–65 step 5, n1 < n2. Goal: ≥ 3× vectorbt.
- 10,000 combinations on 10 years of daily bars (synthetic): peak RSS of a fresh process < 500 MB.
- A walk-forward analysis (5 windows × 50 combinations).

gpt-trader is timed end to end through ``gt.optimize`` (search, ranking, trial objects); vectorbt through
``MA.run`` + ``Portfolio.from_signals`` + ``sharpe_ratio`` (its fill model differs: figures are not
compared, only times). Medians of ``--runs`` warm runs, gpt-trader and vectorbt taking turns; Backtest.optimize
on 1,054 combinations runs once.

Run on demand:  python tests/benchmarks/bench_optimize.py [--runs 5] [--skip-peer-1054]  (--help: the options)
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tests.parity

from _options import Opt, parse  # tests/benchmarks/_options.py: the scripts run from this folder

BIG: dict[str, Any] = {"fast": range(2, 61, 2), "slow": range(10, 206, 5)}
SMALL: dict[str, Any] = {"fast": range(5, 30, 5), "slow": range(10, 70, 5)}


#: CPU seconds (this process) of the last ``median_time`` call: on a shared machine wall time also
#: counts waiting for a core, so both are printed.
LAST_CPU: list[float] = [math.nan]


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = fn()  # warm (imports, caches, numba JIT for vectorbt)
    samples, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    LAST_CPU[0] = statistics.median(cpu)
    return statistics.median(samples), result


def race(fns: dict[str, Callable[[], Any]], runs: int) -> dict[str, tuple[float, float, Any]]:
    """(median wall s, median CPU s, last result) of each contender, the contenders taking turns run
    after run: on a shared machine a busy spell then slows both, not whoever happened to run then."""
    results = {name: fn() for name, fn in fns.items()}  # warm (imports, caches, numba JIT for vectorbt)
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name]), results[name]) for name in fns}


def pairs_of(grid: dict[str, Any]) -> list[tuple[int, int]]:
    return [(f, s) for f in grid["fast"] for s in grid["slow"] if f < s]


def vectorbt_grid(close: Any, opens: Any, pairs: list[tuple[int, int]]) -> Callable[[], Any]:
    import numpy as np
    import pandas as pd
    import vectorbt as vbt

    columns = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])
    next_open = opens.shift(-1).ffill()

    def run() -> Any:
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
            price=next_open,
            fees=0.002,
            init_cash=10_000,
            freq="1D",
        )
        return pf.sharpe_ratio()

    return run


def rss_probe() -> dict[str, Any]:
    """A 10,000-combination grid on 10 years of daily bars in a fresh process: its peak RSS."""
    code = textwrap.dedent(
        """
        import json, sys, time
        import gpt_trader_core as gt
        bars = gt.synthetic("TENY", "2015-01-01", "2024-12-31", timeframe="1d")
        def high_water_mb():  # VmHWM restarts at exec (ru_maxrss may carry the parent's peak)
            with open("/proc/self/status") as status:
                line = next(l for l in status if l.startswith("VmHWM:"))
            return int(line.split()[1]) / 1024
        before = high_water_mb()
        t0 = time.perf_counter()
        # momentum: 200 lookbacks x 50 thresholds = 10,000 combinations, no constraint
        result = gt.optimize(bars, "momentum", lookback=range(2, 202),
                             threshold=[i / 500 for i in range(50)], commission=0.002)
        elapsed = time.perf_counter() - t0
        peak = high_water_mb()
        print(json.dumps({"bars": len(bars), "trials": len(result.trials), "seconds": elapsed,
                          "rss_before_mb": before, "peak_rss_mb": peak}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd())
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(runs: int = 5, peer_big: bool = True) -> None:
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    warnings.simplefilter("ignore")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from backtesting import Backtest
    from backtesting.test import GOOG

    import gpt_trader_core as gt
    from tests.parity.test_backtesting_py_parity import SmaCross

    def ours(grid: dict[str, Any]) -> Callable[[], Any]:
        return lambda: gt.optimize(
            GOOG, "sma_cross", **grid, commission=0.002, maximize="sharpe_ratio", symbol="GOOG",
            constraint=lambda p: p["fast"] < p["slow"],
        )  # fmt: skip

    peer = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)

    def theirs(grid: dict[str, Any]) -> Callable[[], Any]:
        return lambda: peer.optimize(
            n1=grid["fast"], n2=grid["slow"], constraint=lambda p: p.n1 < p.n2, maximize="Sharpe Ratio"
        )

    try:
        import vectorbt  # noqa: F401

        have_vbt = True
    except ImportError:
        have_vbt = False
        print("vectorbt is not installed (pip install vectorbt): comparing with backtesting.py only")

    for label, grid, peer_runs in (("1,054", BIG, 1 if peer_big else 0), ("50", SMALL, max(1, runs // 2))):
        pairs = pairs_of(grid)
        contenders = {"ours": ours(grid)}
        if have_vbt:  # taking turns with ours, run after run
            contenders["vectorbt"] = vectorbt_grid(GOOG["Close"], GOOG["Open"], pairs)
        timed = race(contenders, runs)
        t_ours, cpu_ours, res = timed["ours"]
        print(f"SmaCross grid on GOOG, {label} combinations ({len(pairs)}), median of {runs} warm runs, "
              "contenders taking turns (wall; CPU)")  # fmt: skip
        print(f"  gpt-trader gt.optimize (batched)  {t_ours * 1e3:9.1f} ms; {cpu_ours * 1e3:7.1f} ms CPU"
              f"   best {res.best_params} ({t_ours / len(pairs) * 1e6:.0f} µs per combination)")  # fmt: skip
        if have_vbt:
            t_vbt, cpu_vbt, sharpe = timed["vectorbt"]
            print(f"  vectorbt (warm, {len(sharpe)} columns)      {t_vbt * 1e3:9.1f} ms; {cpu_vbt * 1e3:7.1f} ms CPU"
                  f"   gpt-trader is {t_vbt / t_ours:5.1f}x faster (CPU: {cpu_vbt / cpu_ours:5.1f}x)")  # fmt: skip
        if peer_runs:
            t_peer, peer_best = median_time(theirs(grid), peer_runs - 1) if peer_runs > 1 else _once(theirs(grid))
            print(f"  backtesting.py Backtest.optimize  {t_peer * 1e3:9.1f} ms   best {peer_best._strategy}"
                  f"   gpt-trader is {t_peer / t_ours:5.1f}x faster")  # fmt: skip

    probe = rss_probe()
    print(f"10,000-combination grid on {probe['bars']} daily bars (fresh process): {probe['trials']:,} trials in "
          f"{probe['seconds']:.2f} s, peak RSS {probe['peak_rss_mb']:.0f} MB "
          f"(after imports and data: {probe['rss_before_mb']:.0f} MB; goal < 500 MB)")  # fmt: skip

    def wf() -> Any:
        return gt.walk_forward(GOOG, "sma_cross", **SMALL, commission=0.002, symbol="GOOG",
                               constraint=lambda p: p["fast"] < p["slow"], n_windows=5)  # fmt: skip

    t_wf, _ = median_time(wf, runs)
    print(f"gpt-trader walk-forward, 5 windows × 50 combinations  {t_wf * 1e3:7.1f} ms")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _once(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


if __name__ == "__main__":
    options = parse(
        "bench_optimize",
        "SmaCross grids on GOOG: gpt-trader (batched) against vectorbt and backtesting.py, in the same run.",
        [
            Opt("runs", int, 5, "warm runs of each contender, taking turns (default 5)"),
            Opt("skip-peer-1054", None, False, "skip Backtest.optimize on the 1,054-combination grid (minutes)"),
        ],
    )
    main(options.runs, peer_big=not options.skip_peer_1054)
