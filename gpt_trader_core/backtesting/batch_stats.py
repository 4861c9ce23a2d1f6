"""``stats.stats_with`` for many equity curves on the same bars at once.

Same definitions and the same element-wise expressions as the single-run statistics (see
``backtesting.stats``); reductions run along each row (numpy sums a C-contiguous row exactly as it
sums a 1-D array) and the dot products are taken row by row with ``np.dot`` as the single run does,
so results agree bit-for-bit, or within a few ulps where a per-row sum over a ragged group of trades
is accumulated in a different order. Rows must have strictly positive equity (the kernel sends ruined
rows back to the single-run engine).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import BatchTrades
from gpt_trader_core.backtesting.stats import STAT_KEYS, StatsContext


def numpy_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``values[a:b].sum()`` of each group, bit-for-bit: numpy's pairwise summation (sequential
    below 8 values, eight interleaved partial sums up to 128, halves above) replayed on all groups
    at once; groups above 128 values are summed one by one."""
    starts, counts = offsets[:-1], np.diff(offsets)
    out = np.zeros(len(starts))
    padded = np.append(values, 0.0)

    def gather(first: np.ndarray, width: int, limit: np.ndarray) -> np.ndarray:
        """(groups, width): values[first + i] where i < limit, else 0 (adding 0.0 changes no sum)."""
        i = np.arange(width)[None, :]
        return padded[np.where(i < limit[:, None], first[:, None] + i, len(values))]

    small = np.flatnonzero((counts > 0) & (counts < 8))
    if len(small):
        m = gather(starts[small], 7, counts[small])
        acc = m[:, 0].copy()
        for j in range(1, 7):
            acc += m[:, j]
        out[small] = acc
    mid = np.flatnonzero((counts >= 8) & (counts <= 128))
    if len(mid):
        first, n = starts[mid], counts[mid]
        main = n - n % 8
        blocks = gather(first, 128, main).reshape(len(mid), 16, 8)
        r = blocks[:, 0, :].copy()
        for b in range(1, 16):
            r += blocks[:, b, :]
        total = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
        tail = gather(first + main, 7, n % 8)
        for t in range(7):
            total += tail[:, t]
        out[mid] = total
    for g in np.flatnonzero(counts > 128).tolist():
        out[g] = values[starts[g] : starts[g] + counts[g]].sum()
    return out


def _filtered_sums(values: np.ndarray, keep: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``numpy_sums`` of each group's ``values[keep]`` (the single run sums the filtered array)."""
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))[keep]
    return numpy_sums(values[keep], np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=len(offsets) - 1)))))


def _group_reduce(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray, empty: float) -> np.ndarray:
    starts, ends = offsets[:-1], offsets[1:]
    out = np.full(len(starts), empty)
    some = np.flatnonzero(ends > starts)
    if len(some):
        bounds = np.ravel(np.column_stack((starts[some], ends[some])))
        padded = np.append(values, values[:1] if len(values) else [empty])
        out[some] = ufunc.reduceat(padded, bounds)[::2]
    return out


#: Cells (rows × bars) of one block of rows: a float64 array of them (~4 MB) stays in cache.
_BLOCK_CELLS = 524_288


def _durations(ns: np.ndarray, defined: np.ndarray, unit: int) -> list[dt.timedelta | None]:
    """``stats._ceil_td`` of each value (None where not ``defined`` or not finite), vectorised:
    truncated to whole nanoseconds, rounded up to ``unit``; equal values share one timedelta."""
    ok = defined & np.isfinite(ns)
    whole = np.where(ok, ns, 0.0).astype(np.int64)  # int() truncates toward zero, as astype does
    micros = (-(-whole // unit) * unit // 1000).tolist()
    made: dict[int, dt.timedelta] = {}
    out: list[dt.timedelta | None] = []
    for us, good in zip(micros, ok.tolist(), strict=True):
        if not good:
            out.append(None)
            continue
        value = made.get(us)
        if value is None:
            value = made[us] = dt.timedelta(microseconds=us)
        out.append(value)
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def stats_batch(
    ctx: StatsContext, equity: np.ndarray, trades: BatchTrades, first_trading_bar: np.ndarray
) -> list[dict[str, Any]]:
    """The statistics of each row of ``equity`` (k, n) with its trades; one dict per row, keys and
    values as ``stats_with``'s."""
    k, n = equity.shape
    block = max(1, _BLOCK_CELLS // max(n, 1))
    if k > block:  # blocks of rows small enough to stay in the CPU cache across the many passes below
        out: list[dict[str, Any]] = []
        for a in range(0, k, block):
            rows = np.arange(a, min(a + block, k))
            out += stats_batch(ctx, equity[a : a + block], trades.take(rows), first_trading_bar[a : a + block])
        return out
    ts_ns, close, resolution, per_year = ctx.ts_ns, ctx.close, ctx.resolution, ctx.per_year
    offsets = trades.offsets
    counts = np.diff(offsets)
    duration = ctx.end - ctx.start

    # Exposure: our trades of one row never overlap except a reversal's shared bar, counted once.
    entry, exit_ = trades.entry_bar, trades.exit_bar
    previous_exit = np.concatenate(([-1], exit_[:-1]))
    first_of_row = np.zeros(len(entry), dtype=bool)
    first_of_row[offsets[:-1][counts > 0]] = True
    previous_exit[first_of_row] = -1
    # A row's trades are chronological, so the furthest exit so far is the previous trade's.
    first_new = np.maximum(entry, previous_exit + 1)
    covered = np.bincount(np.repeat(np.arange(k), counts), weights=np.maximum(exit_ - first_new + 1, 0), minlength=k)
    exposure = covered / n * 100

    final, first = equity[:, -1], equity[:, 0]
    peak_equity = equity.max(axis=1)
    commissions = numpy_sums(trades.commission, offsets)
    return_pct = (final - first) / first * 100
    c0 = close[np.minimum(first_trading_bar, n - 1)]
    buy_hold = (close[-1] - c0) / c0 * 100

    every_bar = len(ctx.sample_index) == n  # one bar per period (daily bars): no resampling
    eq_log_ok = n > 2 and ctx.market_ss
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = equity[:, 1:] / equity[:, :-1] if n > 1 else np.empty((k, 0))
        eq_log = np.log(ratio) if eq_log_ok else None
        # With every ratio in [0.5, 2], r = ratio - 1 and r + 1 are exact (Sterbenz): the growth the
        # single run takes the log of is the ratio itself, whose log is already here.
        reuse_log = bool(every_bar and eq_log is not None and ratio.size and ratio.min() >= 0.5 and ratio.max() <= 2.0)
        if every_bar:
            r = np.subtract(ratio, 1.0, out=ratio)
        else:
            # C order (fancy indexing may lay the result out by columns): rows must be contiguous
            # for their sums and dot products to run exactly as the single run's 1-D ones.
            sampled = np.ascontiguousarray(np.take(equity, ctx.sample_index, axis=1))
            r = sampled[:, 1:] / sampled[:, :-1] - 1.0 if sampled.shape[1] >= 2 else np.empty((k, 0))
            r = np.ascontiguousarray(r)
        del ratio
        m = r.shape[1]
        if not m:
            g = np.full(k, math.nan)
        elif reuse_log:
            assert eq_log is not None
            g = np.exp(eq_log.sum(axis=1) / m) - 1.0
        else:
            growth = r + 1.0
            g = np.exp(np.log(growth).sum(axis=1) / m) - 1.0
            g[np.any(growth <= 0, axis=1)] = 0.0
            del growth
    losses_only = np.minimum(r, 0.0)
    losses = -losses_only.sum(axis=1)
    centred = np.maximum(r, 0.0)
    gains = centred.sum(axis=1)
    if m:
        np.subtract(r, (r.sum(axis=1) / m)[:, None], out=centred)
    del r
    if eq_log is not None:
        eq_log -= (eq_log.sum(axis=1) / eq_log.shape[1])[:, None]

    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.maximum.accumulate(equity, axis=1)
        np.divide(equity, dd, out=dd)
        np.subtract(1, dd, out=dd)
    max_dd = np.fmax.reduce(dd, axis=1)
    max_dd[np.isnan(max_dd)] = 0.0

    # Drawdown periods: from the last bar at a peak (the first bar always is) to the next one (the
    # last bar counts as one), i.e. the falling and rising edges of "at peak" — sparse, row-major.
    at_peak = dd == 0
    at_peak[:, -1] = True
    leaves = at_peak[:, :-1] & ~at_peak[:, 1:]
    dd_row, dd_start = np.divmod(np.flatnonzero(leaves), n - 1)
    np.logical_not(at_peak[:, :-1], out=leaves)
    leaves &= at_peak[:, 1:]
    dd_end = np.flatnonzero(leaves) % (n - 1)
    dd_end += 1
    del at_peak, leaves
    # Between one period's end and the next one's start every bar is at a peak (dd 0), so the
    # maximum from one start to the next is the period's deepest point.
    dd_peaks = np.maximum.reduceat(dd.ravel(), dd_row * n + dd_start) if len(dd_row) else np.empty(0)
    del dd
    dd_offsets = np.concatenate(([0], np.cumsum(np.bincount(dd_row, minlength=k))))
    dd_counts = np.diff(dd_offsets)
    dd_peak_sum = numpy_sums(dd_peaks, dd_offsets)
    dd_durations = (ts_ns[dd_end] - ts_ns[dd_start]).astype(np.float64)
    dd_duration_max = _group_reduce(np.maximum, dd_durations, dd_offsets, math.nan)
    dd_duration_sum = numpy_sums(dd_durations, dd_offsets)

    pl, rets = trades.pnl, trades.return_pct
    wins = np.bincount(np.repeat(np.arange(k), counts), weights=pl > 0, minlength=k)
    n_losses = np.bincount(np.repeat(np.arange(k), counts), weights=pl < 0, minlength=k)
    best = _group_reduce(np.maximum, rets, offsets, math.nan)
    worst = _group_reduce(np.minimum, rets, offsets, math.nan)
    trade_growth = rets + 1.0
    trade_growth[np.isnan(trade_growth)] = 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_growth_sum = numpy_sums(np.log(trade_growth), offsets)
    ruinous = np.bincount(np.repeat(np.arange(k), counts), weights=trade_growth <= 0, minlength=k) > 0
    trade_ns = (ts_ns[exit_] - ts_ns[entry]).astype(np.float64)
    trade_ns_max = _group_reduce(np.maximum, trade_ns, offsets, math.nan)
    trade_ns_sum = numpy_sums(trade_ns, offsets)
    rets_pos = _filtered_sums(rets, rets > 0, offsets)
    rets_neg = _filtered_sums(rets, rets < 0, offsets)
    rets_sum = numpy_sums(rets, offsets)
    pl_sum = numpy_sums(pl, offsets)
    win_sum = _filtered_sums(pl, pl > 0, offsets)
    loss_sum = _filtered_sums(pl, pl < 0, offsets)

    # The dot products row by row with np.dot, exactly as the single run takes them.
    dot = np.dot
    var_dots = [float(dot(row, row)) for row in centred] if m > 1 else [math.nan] * k
    down_dots = [float(dot(row, row)) for row in losses_only] if m else [math.nan] * k
    market = ctx.market_centred
    betas = [float(dot(row, market) / ctx.market_ss) for row in eq_log] if eq_log is not None else [math.nan] * k
    pl_list, pl_sums, count_list = pl, pl_sum.tolist(), counts.tolist()
    pl_dots = [
        float(dot(centred_pl, centred_pl))
        for centred_pl in (
            pl_list[a:b] - total / nt if nt > 1 else pl_list[:0]
            for a, b, total, nt in zip(offsets[:-1].tolist(), offsets[1:].tolist(), pl_sums, count_list, strict=True)
        )
    ]
    nan = math.nan
    f = np.float64
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_g = 1 + g
        annual = np.array([x**per_year for x in one_g.tolist()]) - 1
        var = np.array(var_dots) / (m - 1) if m > 1 else np.full(k, nan)
        vol_sq = np.array(
            [(v + x**2) ** per_year - x ** (2 * per_year) for v, x in zip(var.tolist(), one_g.tolist(), strict=True)]
        )
        volatility = np.where(vol_sq >= 0, np.sqrt(np.maximum(vol_sq, 0)) * 100, nan)
        years = (duration.days + duration.seconds / 86_400) / 365.25
        growth_total = (final / first).tolist()
        cagr = np.array([(x ** (1 / years) - 1) * 100 for x in growth_total]) if years else np.full(k, nan)
        return_ann = annual * 100
        sharpe = np.where(volatility != 0, return_ann / volatility, nan)
        downside = np.sqrt(np.array(down_dots) / m) * math.sqrt(per_year) if m else np.full(k, nan)
        sortino = np.where(downside != 0, annual / downside, np.where(annual != 0, np.copysign(np.inf, annual), nan))
        calmar = np.where(max_dd != 0, annual / max_dd, nan)
        omega = np.where(losses != 0, gains / losses, nan) if m else np.full(k, nan)
        beta = np.array(betas)
        alpha = return_pct - beta * buy_hold
        avg_dd = np.where(dd_counts > 0, -dd_peak_sum / dd_counts * 100, nan)
        has = counts > 0
        win_rate = np.where(has, wins / counts, nan)
        best_pct = np.where(has, best * 100, nan)
        worst_pct = np.where(has, worst * 100, nan)
        avg_trade = np.where(has, np.where(ruinous, 0.0, (np.exp(log_growth_sum / counts) - 1.0) * 100), nan)
        profit_factor = np.where(rets_neg != 0, rets_pos / np.abs(rets_neg), nan)
        expectancy = np.where(has, rets_sum / counts * 100, nan)
        pl_std = np.where(counts > 1, np.sqrt(np.array(pl_dots) / (counts - 1)), nan)
        sqn = np.where((counts > 1) & (pl_std != 0), np.sqrt(counts) * (pl_sum / counts) / pl_std, nan)
        kelly = np.where(
            has & (wins > 0) & (n_losses > 0),
            win_rate - (1 - win_rate) / ((win_sum / wins) / (-loss_sum / n_losses)),
            nan,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        max_dd_duration = _durations(dd_duration_max, dd_counts > 0, resolution)
        avg_dd_duration = _durations(dd_duration_sum / dd_counts, dd_counts > 0, resolution)
        max_trade_duration = _durations(trade_ns_max, counts > 0, resolution)
        avg_trade_duration = _durations(trade_ns_sum / counts, counts > 0, resolution)
    start, end = [ctx.start] * k, [ctx.end] * k
    columns = {
        "start": start,
        "end": end,
        "duration": [duration] * k,
        "exposure_time_pct": exposure,
        "equity_final": final,
        "equity_peak": peak_equity,
        "commissions": commissions,
        "return_pct": return_pct,
        "buy_hold_return_pct": buy_hold,
        "return_ann_pct": return_ann,
        "volatility_ann_pct": volatility,
        "cagr_pct": cagr,
        "sharpe_ratio": sharpe,
        "sortino_ratio": sortino,
        "calmar_ratio": calmar,
        "omega_ratio": omega,
        "alpha_pct": alpha,
        "beta": beta,
        "max_drawdown_pct": -max_dd * 100,
        "avg_drawdown_pct": avg_dd,
        "max_drawdown_duration": max_dd_duration,
        "avg_drawdown_duration": avg_dd_duration,
        "num_trades": counts,
        "win_rate_pct": win_rate * 100,
        "best_trade_pct": best_pct,
        "worst_trade_pct": worst_pct,
        "avg_trade_pct": avg_trade,
        "max_trade_duration": max_trade_duration,
        "avg_trade_duration": avg_trade_duration,
        "profit_factor": profit_factor,
        "expectancy_pct": expectancy,
        "sqn": sqn,
        "kelly_criterion": kelly,
    }
    lists = [col.tolist() if isinstance(col, np.ndarray) else col for col in (columns[key] for key in STAT_KEYS)]
    del f
    return [dict(zip(STAT_KEYS, values, strict=True)) for values in zip(*lists, strict=True)]
