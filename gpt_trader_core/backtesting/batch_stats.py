"""``stats.stats_with`` for many equity curves on the same bars at once.

Same definitions and the same element-wise expressions as the single-run statistics (see
``backtesting.stats``); reductions run along each row (numpy sums a C-contiguous row exactly as it
sums a 1-D array) and the dot products are taken row by row with ``np.dot`` as the single run does,
so results agree bit-for-bit, or within a few ulps where a per-row sum over a ragged group of trades
is accumulated in a different order. Rows must have strictly positive equity (the kernel sends ruined
rows back to the single-run engine).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import BatchTrades
from gpt_trader_core.backtesting.stats import STAT_KEYS, StatsContext, _ceil_td


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


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def stats_batch(
    ctx: StatsContext, equity: np.ndarray, trades: BatchTrades, first_trading_bar: np.ndarray
) -> list[dict[str, Any]]:
    """The statistics of each row of ``equity`` (k, n) with its trades; one dict per row, keys and
    values as ``stats_with``'s."""
    k, n = equity.shape
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

    sampled = equity[:, ctx.sample_index]
    r = np.ascontiguousarray(sampled[:, 1:] / sampled[:, :-1] - 1.0) if sampled.shape[1] >= 2 else np.empty((k, 0))
    m = r.shape[1]
    growth = r + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.exp(np.log(growth).sum(axis=1) / m) - 1.0 if m else np.full(k, math.nan)
    if m:
        g[np.any(growth <= 0, axis=1)] = 0.0
    centred = r - (r.sum(axis=1) / m)[:, None] if m else r
    losses_only = np.minimum(r, 0.0)
    gains = np.maximum(r, 0).sum(axis=1)
    losses = -losses_only.sum(axis=1)

    with np.errstate(divide="ignore", invalid="ignore"):
        dd = 1 - equity / np.maximum.accumulate(equity, axis=1)
    max_dd = np.fmax.reduce(dd, axis=1)
    max_dd[np.isnan(max_dd)] = 0.0

    # Drawdown periods of every row: between consecutive "at peak" bars (the last bar counts as one).
    at_peak = dd == 0
    at_peak[:, -1] = True
    prow, pcol = np.nonzero(at_peak)
    del at_peak
    gap = (prow[1:] == prow[:-1]) & (pcol[1:] > pcol[:-1] + 1)
    dd_row, dd_start, dd_end = prow[:-1][gap], pcol[:-1][gap], pcol[1:][gap]
    flat = dd.ravel()
    bounds = np.ravel(np.column_stack((dd_row * n + dd_start, dd_row * n + dd_end + 1)))
    dd_peaks = np.maximum.reduceat(np.append(flat, 0.0), bounds)[::2] if len(bounds) else np.empty(0)
    dd_offsets = np.concatenate(([0], np.cumsum(np.bincount(dd_row, minlength=k))))
    dd_counts = np.diff(dd_offsets)
    dd_peak_sum = numpy_sums(dd_peaks, dd_offsets)
    dd_durations = (ts_ns[dd_end] - ts_ns[dd_start]).astype(np.float64)
    dd_duration_max = _group_reduce(np.maximum, dd_durations, dd_offsets, math.nan)
    dd_duration_sum = numpy_sums(dd_durations, dd_offsets)

    eq_log_ok = n > 2 and ctx.market_ss
    if eq_log_ok:
        with np.errstate(divide="ignore", invalid="ignore"):
            eq_log = np.log(equity[:, 1:] / equity[:, :-1])
        eq_log -= (eq_log.sum(axis=1) / eq_log.shape[1])[:, None]

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
    betas = [float(dot(row, market) / ctx.market_ss) for row in eq_log] if eq_log_ok else [math.nan] * k
    pl_list, pl_sums, count_list = pl, pl_sum.tolist(), counts.tolist()
    pl_dots = [
        float(dot(centred_pl, centred_pl))
        for centred_pl in (
            pl_list[a:b] - total / nt if nt > 1 else pl_list[:0]
            for a, b, total, nt in zip(offsets[:-1].tolist(), offsets[1:].tolist(), pl_sums, count_list, strict=True)
        )
    ]
    base = {"start": ctx.start, "end": ctx.end, "duration": duration}
    years = (duration.days + duration.seconds / 86_400) / 365.25
    columns = (
        exposure.tolist(),
        final.tolist(),
        peak_equity.tolist(),
        commissions.tolist(),
        return_pct.tolist(),
        buy_hold.tolist(),
        first.tolist(),
        g.tolist(),
        gains.tolist(),
        losses.tolist(),
        max_dd.tolist(),
        var_dots,
        down_dots,
        betas,
        dd_counts.tolist(),
        dd_peak_sum.tolist(),
        dd_duration_max.tolist(),
        dd_duration_sum.tolist(),
        count_list,
        wins.tolist(),
        n_losses.tolist(),
        best.tolist(),
        worst.tolist(),
        ruinous.tolist(),
        log_growth_sum.tolist(),
        trade_ns_max.tolist(),
        trade_ns_sum.tolist(),
        rets_pos.tolist(),
        rets_neg.tolist(),
        rets_sum.tolist(),
        pl_sums,
        pl_dots,
        win_sum.tolist(),
        loss_sum.tolist(),
    )
    sqrt, nan, inf, copysign, exp = math.sqrt, math.nan, math.inf, math.copysign, np.exp
    sqrt_per_year = sqrt(per_year)
    out: list[dict[str, Any]] = []
    for (
        exposure_i, fin, pk, comm, ret, bh, e0, gi, gain, loss, mdd, var_dot, down_dot, beta,
        nd, dd_sum, dd_max_ns, dd_sum_ns, nt, n_wins, n_loss, best_i, worst_i, ruin, log_sum,
        trade_max_ns, trade_sum_ns, pos_sum, neg_sum, ret_sum, pl_total, pl_dot, win_total, loss_total,
    ) in zip(*columns, strict=True):  # fmt: skip
        s: dict[str, Any] = dict(base)
        s["exposure_time_pct"] = exposure_i
        s["equity_final"] = fin
        s["equity_peak"] = pk
        s["commissions"] = comm
        s["return_pct"] = ret
        s["buy_hold_return_pct"] = bh
        annual = (1 + gi) ** per_year - 1
        s["return_ann_pct"] = annual * 100
        var = var_dot / (m - 1) if m > 1 else nan
        vol_sq = (var + (1 + gi) ** 2) ** per_year - (1 + gi) ** (2 * per_year)
        s["volatility_ann_pct"] = sqrt(vol_sq) * 100 if vol_sq >= 0 else nan
        s["cagr_pct"] = ((fin / e0) ** (1 / years) - 1) * 100 if years else nan
        s["sharpe_ratio"] = _ratio(s["return_ann_pct"], s["volatility_ann_pct"])
        downside = sqrt(down_dot / m) * sqrt_per_year if m else nan
        s["sortino_ratio"] = annual / downside if downside else (copysign(inf, annual) if annual else nan)
        s["calmar_ratio"] = _ratio(annual, mdd)
        s["omega_ratio"] = _ratio(gain, loss) if m else nan
        s["alpha_pct"] = ret - beta * bh
        s["beta"] = beta
        s["max_drawdown_pct"] = -mdd * 100
        if nd:
            s["avg_drawdown_pct"] = -dd_sum / nd * 100
            s["max_drawdown_duration"] = _ceil_td(dd_max_ns, resolution)
            s["avg_drawdown_duration"] = _ceil_td(dd_sum_ns / nd, resolution)
        else:
            s["avg_drawdown_pct"] = nan
            s["max_drawdown_duration"] = s["avg_drawdown_duration"] = None
        s["num_trades"] = nt
        win_rate = n_wins / nt if nt else nan
        s["win_rate_pct"] = win_rate * 100
        s["best_trade_pct"] = best_i * 100 if nt else nan
        s["worst_trade_pct"] = worst_i * 100 if nt else nan
        s["avg_trade_pct"] = (0.0 if ruin else float(exp(log_sum / nt) - 1.0) * 100) if nt else nan
        s["max_trade_duration"] = _ceil_td(trade_max_ns, resolution) if nt else None
        s["avg_trade_duration"] = _ceil_td(trade_sum_ns / nt, resolution) if nt else None
        s["profit_factor"] = _ratio(pos_sum, abs(neg_sum))
        s["expectancy_pct"] = ret_sum / nt * 100 if nt else nan
        pl_std = sqrt(pl_dot / (nt - 1)) if nt > 1 else nan
        s["sqn"] = sqrt(nt) * (pl_total / nt) / pl_std if nt > 1 and pl_std else nan
        if nt and n_wins and n_loss:
            s["kelly_criterion"] = win_rate - (1 - win_rate) / ((win_total / n_wins) / (-loss_total / n_loss))
        else:
            s["kelly_criterion"] = nan
        out.append({key: s[key] for key in STAT_KEYS})
    return out
