"""``stats.stats_with`` for many equity curves on the same bars at once.

Same definitions and the same element-wise expressions as the single-run statistics (see
``backtesting.stats``); reductions run along each row (numpy sums a C-contiguous row exactly as it
sums a 1-D array) and every dot product is BLAS's ``ddot`` on one row, as the single run's
``np.dot`` (``matmul`` of a (1, m) row by an (m, 1) column calls that same ``ddot``), so results
agree bit-for-bit. Sums over each row's ragged group of trades replay numpy's pairwise summation
(``GroupSums``). Rows must have strictly positive equity (the kernel sends ruined rows back to the
single-run engine).

The statistics of the trades are computed once for the whole chunk; those of the equity curves in
blocks of rows small enough to stay in the CPU cache across their many passes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.batch import BatchTrades, EquityCurves, Scratch
from gpt_trader_core.backtesting.stats import STAT_KEYS, StatsContext


class GroupSums:
    """``values[a:b].sum()`` of each group ``[offsets[i], offsets[i + 1])``, bit-for-bit, for any
    number of value columns sharing the groups: numpy's pairwise summation (sequential below 8
    values, eight interleaved partial sums up to 128, halves above) replayed on all groups at once;
    groups above 128 values are summed one by one.

    Groups are ordered longest first, so step ``j`` of the replay (the ``j``-th value of a short
    group, the ``j``-th block of 8 of a longer one) concerns a prefix of them: each step gathers
    only values that exist. The gather indices are built once."""

    def __init__(self, offsets: np.ndarray) -> None:
        starts, counts = offsets[:-1], np.diff(offsets)
        self.groups = len(starts)
        small = np.flatnonzero((counts > 0) & (counts < 8))
        self.small = small[np.argsort(-counts[small], kind="stable")]
        first, n = starts[self.small], counts[self.small]
        # Step j: the groups with more than j values (a prefix), each adding its j-th value.
        self.small_steps = [first[: int(np.count_nonzero(n > j))] + j for j in range(7)]
        mid = np.flatnonzero((counts >= 8) & (counts <= 128))
        self.mid = mid[np.argsort(-(counts[mid] // 8), kind="stable")]
        first, n = starts[self.mid], counts[self.mid]
        blocks, main, tails = n // 8, n - n % 8, n % 8
        lanes = np.arange(8)
        # Block b: the groups with more than b blocks (a prefix), their values 8b .. 8b + 7.
        self.block_steps = [
            first[: int(np.count_nonzero(blocks > b)), None] + 8 * b + lanes for b in range(16 if len(mid) else 0)
        ]
        # Tail value t (after the blocks): the groups with more than t of them, not a prefix.
        self.tail_steps = [(np.flatnonzero(tails > t), (first + main + t)[tails > t]) for t in range(7)]
        self.large = [(int(g), int(starts[g]), int(starts[g] + counts[g])) for g in np.flatnonzero(counts > 128)]

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The group sums of ``values`` (T,) → (groups,), or of each row of (q, T) → (q, groups)."""
        flat = values.ndim == 1
        table = values[None, :] if flat else values
        q = table.shape[0]
        out = np.zeros((q, self.groups))
        if len(self.small):
            acc = table[:, self.small_steps[0]]
            for step in self.small_steps[1:]:
                if not len(step):
                    break
                acc[:, : len(step)] += table[:, step]
            out[:, self.small] = acc
        if len(self.mid):
            r = table[:, self.block_steps[0]]  # (q, groups, 8)
            for step in self.block_steps[1:]:
                if not len(step):
                    break
                r[:, : len(step)] += table[:, step]
            total = ((r[..., 0] + r[..., 1]) + (r[..., 2] + r[..., 3])) + (
                (r[..., 4] + r[..., 5]) + (r[..., 6] + r[..., 7])
            )
            for groups, index in self.tail_steps:
                if not len(groups):
                    break
                total[:, groups] += table[:, index]
            out[:, self.mid] = total
        for g, a, b in self.large:
            for i in range(q):
                out[i, g] = table[i, a:b].sum()
        return out[0] if flat else out


def numpy_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``values[a:b].sum()`` of each group (see ``GroupSums``)."""
    return GroupSums(offsets)(values)


def _group_reduce(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray, empty: float) -> np.ndarray:
    starts, ends = offsets[:-1], offsets[1:]
    out = np.full(len(starts), empty)
    some = np.flatnonzero(ends > starts)
    if len(some):
        bounds = np.ravel(np.column_stack((starts[some], ends[some])))
        padded = np.append(values, values[:1] if len(values) else [empty])
        out[some] = ufunc.reduceat(padded, bounds)[::2]
    return out


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.dot(a[i], b[i])`` of each row (``b`` a row or a 1-D vector shared by all rows): ``matmul``
    of (1, m) by (m, 1) calls the same BLAS ``ddot`` as ``np.dot`` on 1-D arrays."""
    other = b[None, :, None] if b.ndim == 1 else b[:, :, None]
    return np.matmul(a[:, None, :], other).reshape(len(a))


def _ragged_self_dots(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``np.dot(v, v)`` of each group ``v = values[a:b]``: groups of one length stacked, then ``_row_dots``."""
    starts, counts = offsets[:-1], np.diff(offsets)
    out = np.zeros(len(starts))
    lengths, first, how_many = np.unique(counts, return_index=True, return_counts=True)
    for length, group, many in zip(lengths.tolist(), first.tolist(), how_many.tolist(), strict=True):
        if not length:
            continue
        if many == 1:  # a length of its own: its dot product directly
            a = int(starts[group])
            out[group] = np.dot(values[a : a + length], values[a : a + length])
            continue
        groups = np.flatnonzero(counts == length)
        block = values[starts[groups][:, None] + np.arange(length)[None, :]]
        out[groups] = _row_dots(block, block)
    return out


#: Cells (rows × bars) of one block of rows: the few float64 arrays of them that a block works on
#: at once (~1 MB each) stay in the CPU's L2 cache across their many passes.
_BLOCK_CELLS = 131_072


def _durations(ns: np.ndarray, defined: np.ndarray, unit: int) -> list[Any]:
    """``stats._ceil_td`` of each value (None where not ``defined`` or not finite), vectorised:
    truncated to whole nanoseconds (``int()`` truncates toward zero, as ``astype`` does), rounded up
    to ``unit``, as microseconds (a NaT becomes None)."""
    ok = defined & np.isfinite(ns)
    whole = np.where(ok, ns, 0.0).astype(np.int64)
    micros = (-(-whole // unit) * unit // 1000).astype("timedelta64[us]")
    micros[~ok] = np.timedelta64("NaT")
    return list(micros.tolist())


def _curve_stats(ctx: StatsContext, equity: np.ndarray, first_row: int, scratch: Scratch) -> dict[str, np.ndarray]:
    """The statistics of a block of equity curves (k, n), rows ``first_row`` on of the chunk:
    everything that needs every bar. The block-sized temporaries live in ``scratch``."""
    k, n = equity.shape
    out: dict[str, np.ndarray] = {}
    final, first = equity[:, -1].copy(), equity[:, 0].copy()  # the block's buffer is reused
    every_bar = len(ctx.sample_index) == n  # one bar per period (daily bars): no resampling
    eq_log_ok = n > 2 and ctx.market_ss
    steps = (k, max(n - 1, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(equity[:, 1:], equity[:, :-1], out=scratch.get("ratio", steps))
        eq_log = np.log(ratio, out=scratch.get("log", steps)) if eq_log_ok else None
        eq_log_sum = eq_log.sum(axis=1) if eq_log is not None else None
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
            assert eq_log_sum is not None
            g = np.exp(eq_log_sum / m) - 1.0
        else:
            growth = r + 1.0
            g = np.exp(np.log(growth).sum(axis=1) / m) - 1.0
            g[np.any(growth <= 0, axis=1)] = 0.0
            del growth
    out["g"] = g
    out["m"] = np.full(k, m)
    work = scratch.get("work", r.shape)
    losses_only = np.minimum(r, 0.0, out=work)
    out["losses"] = -losses_only.sum(axis=1)
    out["down_dots"] = _row_dots(losses_only, losses_only) if m else np.full(k, math.nan)
    del losses_only
    gains = np.maximum(r, 0.0, out=work)
    out["gains"] = gains.sum(axis=1)
    del gains
    if m:
        r -= (r.sum(axis=1) / m)[:, None]  # centred in place: faster than into another array
    out["var_dots"] = _row_dots(r, r) if m > 1 else np.full(k, math.nan)
    del r
    if eq_log is not None:
        assert eq_log_sum is not None
        eq_log -= (eq_log_sum / eq_log.shape[1])[:, None]
        out["beta"] = _row_dots(eq_log, ctx.market_centred) / ctx.market_ss
        del eq_log
    else:
        out["beta"] = np.full(k, math.nan)

    # Drawdowns without the per-bar drawdown itself: a bar is at a peak when its equity equals the
    # running maximum (``1 - E / peak`` is 0 exactly then, and > 0 below it), and a drawdown period
    # runs from one bar at a peak to the next one after a gap (the last bar counts as one: the
    # single run's ``drawdown_periods``). Within a period the running maximum is the equity at its
    # start P, so its deepest point ``max(1 - E / P)`` is ``1 - min(E) / P`` (``x -> 1 - x / P``
    # is monotonic, rounding included): one minimum per period instead of a division per bar; the
    # per-period figures are reduced once per chunk (``_drawdowns``).
    # fmax: maximum's running value without its NaN checks (there are none), ~1.4x faster.
    peak = np.fmax.accumulate(equity, axis=1, out=scratch.get("peak", (k, n)))
    row_max = out["equity_peak"] = peak[:, -1].copy()  # the last running maximum is the row's maximum
    with np.errstate(divide="ignore", invalid="ignore"):
        out["last_dd"] = 1 - final / row_max  # the last bar's drawdown, which may be in no period
    at_peak = np.equal(equity, peak, out=scratch.get("at_peak", (k, n), np.bool_))
    del peak
    at_peak[:, -1] = True
    # Periods run from a falling edge of "at peak" to the next rising one; every row starts at a
    # peak (its first bar) and ends at one (as counted), so a row's edges alternate falling, rising.
    edges = np.not_equal(at_peak[:, 1:], at_peak[:, :-1], out=scratch.get("edges", (k, max(n - 1, 0)), np.bool_))
    changes = np.flatnonzero(edges)
    del at_peak, edges
    if n > 1:
        dd_row, dd_start = np.divmod(changes[0::2], n - 1)
        dd_end = changes[1::2] % (n - 1) + 1
    else:
        dd_row = dd_start = dd_end = changes
    start, end = dd_row * n + dd_start, dd_row * n + dd_end
    flat = equity.reshape(-1)
    bounds = np.empty(2 * len(start), dtype=np.intp)
    bounds[0::2], bounds[1::2] = start, end
    lowest = np.minimum(np.minimum.reduceat(flat, bounds)[0::2], flat[end]) if len(start) else np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dd_peaks"] = 1 - lowest / flat[start]
    out["dd_row"], out["dd_start"], out["dd_end"] = dd_row + first_row, dd_start, dd_end
    out["final"], out["first"] = final, first
    return out


def _drawdowns(ctx: StatsContext, c: dict[str, np.ndarray], k: int) -> None:
    """The drawdown figures of the chunk from its periods (``_curve_stats``), into ``c``."""
    dd_offsets = np.concatenate(([0], np.cumsum(np.bincount(c["dd_row"], minlength=k))))
    # The deepest drawdown is a period's, or the last bar's when it sits right after a peak (in no
    # period: a drawdown that begins on the last bar is not reported as a period).
    max_dd = _group_reduce(np.maximum, c["dd_peaks"], dd_offsets, 0.0)
    c["max_dd"] = np.fmax(max_dd, c["last_dd"], out=max_dd)
    c["dd_durations"] = (ctx.ts_ns[c["dd_end"]] - ctx.ts_ns[c["dd_start"]]).astype(np.float64)
    c["dd_counts"] = np.diff(dd_offsets)
    c["dd_duration_max"] = _group_reduce(np.maximum, c["dd_durations"], dd_offsets, math.nan)


def _trade_stats(ctx: StatsContext, trades: BatchTrades, k: int, n: int) -> dict[str, Any]:
    """The statistics of every row's closed trades, for the whole chunk at once."""
    offsets = trades.offsets
    counts = np.diff(offsets)
    rows = np.repeat(np.arange(k), counts)
    out: dict[str, Any] = {"counts": counts}

    # Exposure: our trades of one row never overlap except a reversal's shared bar, counted once.
    entry, exit_ = trades.entry_bar, trades.exit_bar
    previous_exit = np.concatenate(([-1], exit_[:-1]))
    first_of_row = np.zeros(len(entry), dtype=bool)
    first_of_row[offsets[:-1][counts > 0]] = True
    previous_exit[first_of_row] = -1
    # A row's trades are chronological, so the furthest exit so far is the previous trade's.
    first_new = np.maximum(entry, previous_exit + 1)
    out["exposure"] = np.bincount(rows, weights=np.maximum(exit_ - first_new + 1, 0), minlength=k) / n * 100

    pl, rets = trades.pnl, trades.return_pct
    out["wins"] = np.bincount(rows, weights=pl > 0, minlength=k)
    out["n_losses"] = np.bincount(rows, weights=pl < 0, minlength=k)
    out["best"] = _group_reduce(np.maximum, rets, offsets, math.nan)
    out["worst"] = _group_reduce(np.minimum, rets, offsets, math.nan)
    trade_growth = rets + 1.0
    trade_growth[np.isnan(trade_growth)] = 1.0
    out["ruinous"] = np.bincount(rows, weights=trade_growth <= 0, minlength=k) > 0
    trade_ns = (ctx.ts_ns[exit_] - ctx.ts_ns[entry]).astype(np.float64)
    out["trade_ns_max"] = _group_reduce(np.maximum, trade_ns, offsets, math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_growth = np.log(trade_growth)
    # Every ragged sum of the chunk (these, and the drawdowns' of the curves) in one GroupSums.
    out["sum_requests"] = [
        (trades.commission, counts),
        (log_growth, counts),
        (trade_ns, counts),
        (rets, counts),
        (pl, counts),
        *((values[keep], np.bincount(rows[keep], minlength=k)) for values, keep in (
            (rets, rets > 0), (rets, rets < 0), (pl, pl > 0), (pl, pl < 0)
        )),
    ]  # fmt: skip
    return out


def _ragged_sums(requests: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """For each (values, counts per row) the sum of each row's values (``GroupSums``), all
    requests gathered into one array so that the replay runs once."""
    values = np.concatenate([v for v, _ in requests])
    counts = np.concatenate([c for _, c in requests])
    sums = GroupSums(np.concatenate(([0], np.cumsum(counts))))(values)
    return np.split(sums, np.cumsum([len(c) for _, c in requests])[:-1])


def _pl_dots(trades: BatchTrades, pl_sum: np.ndarray) -> np.ndarray:
    """``dot(c, c)`` of each row's P&L centred as the single run centres it (rows of 2+ trades)."""
    offsets, pl = trades.offsets, trades.pnl
    counts = np.diff(offsets)
    # The single run centres the P&L of runs with 2+ trades (x - total / n, element-wise).
    centred_pl = pl - np.repeat(pl_sum / np.maximum(counts, 1), counts)
    dots: np.ndarray = np.where(counts > 1, _ragged_self_dots(centred_pl, offsets), 0.0)
    return dots


def stats_batch(
    ctx: StatsContext,
    equity: EquityCurves | np.ndarray,
    trades: BatchTrades,
    first_trading_bar: np.ndarray,
    scratch: Scratch | None = None,
) -> list[dict[str, Any]]:
    """The statistics of each row of ``equity`` (k, n) with its trades; one dict per row, keys and
    values as ``stats_with``'s. Curves are built (or read) a block of rows at a time, in work
    arrays taken from ``scratch`` (a new one when not given; pass one to reuse it across calls)."""
    k, n = equity.shape
    if not k:
        return []
    scratch = scratch or Scratch()
    block = max(1, _BLOCK_CELLS // max(n, 1))
    # The block's work arrays: equity, ratio, log, work and peak (float64), at-peak and edges (bool).
    scratch.reserve(min(block, k) * n * (5 * 8 + 2) + 7 * Scratch.ALIGN)
    buffer = scratch.get("equity", (min(block, k), n))
    parts = []
    for a in range(0, k, block):
        b = min(a + block, k)
        rows = equity.rows(a, b, out=buffer[: b - a]) if isinstance(equity, EquityCurves) else equity[a:b]
        parts.append(_curve_stats(ctx, rows, a, scratch))
    c = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    _drawdowns(ctx, c, k)
    t = _trade_stats(ctx, trades, k, n)
    sums = _ragged_sums([*t.pop("sum_requests"), (c["dd_peaks"], c["dd_counts"]), (c["dd_durations"], c["dd_counts"])])
    names = ("commissions", "log_growth_sum", "trade_ns_sum", "rets_sum", "pl_sum", "rets_pos", "rets_neg", "win_sum")
    t.update(zip((*names, "loss_sum"), sums[:9], strict=True))
    c["dd_peak_sum"], c["dd_duration_sum"] = sums[9:]
    t["pl_dots"] = _pl_dots(trades, t["pl_sum"])
    return _assemble(ctx, c, t, first_trading_bar, k, n)


def _assemble(
    ctx: StatsContext,
    c: dict[str, np.ndarray],
    t: dict[str, np.ndarray],
    first_trading_bar: np.ndarray,
    k: int,
    n: int,
) -> list[dict[str, Any]]:
    """The single run's formulas on the per-row figures, then one dict per row."""
    close, per_year, resolution = ctx.close, ctx.per_year, ctx.resolution
    duration = ctx.end - ctx.start
    final, first, g, m = c["final"], c["first"], c["g"], int(c["m"][0]) if k else 0
    counts, wins, n_losses = t["counts"], t["wins"], t["n_losses"]
    return_pct = (final - first) / first * 100
    c0 = close[np.minimum(first_trading_bar, n - 1)]
    buy_hold = (close[-1] - c0) / c0 * 100
    max_dd, dd_counts = c["max_dd"], c["dd_counts"]
    nan = math.nan
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_g = 1 + g
        annual = np.array([x**per_year for x in one_g.tolist()]) - 1
        var = c["var_dots"] / (m - 1) if m > 1 else np.full(k, nan)
        vol_sq = np.array(
            [(v + x**2) ** per_year - x ** (2 * per_year) for v, x in zip(var.tolist(), one_g.tolist(), strict=True)]
        )
        volatility = np.where(vol_sq >= 0, np.sqrt(np.maximum(vol_sq, 0)) * 100, nan)
        years = (duration.days + duration.seconds / 86_400) / 365.25
        growth_total = (final / first).tolist()
        cagr = np.array([(x ** (1 / years) - 1) * 100 for x in growth_total]) if years else np.full(k, nan)
        return_ann = annual * 100
        sharpe = np.where(volatility != 0, return_ann / volatility, nan)
        downside = np.sqrt(c["down_dots"] / m) * math.sqrt(per_year) if m else np.full(k, nan)
        sortino = np.where(downside != 0, annual / downside, np.where(annual != 0, np.copysign(np.inf, annual), nan))
        calmar = np.where(max_dd != 0, annual / max_dd, nan)
        losses = c["losses"]
        omega = np.where(losses != 0, c["gains"] / losses, nan) if m else np.full(k, nan)
        beta = c["beta"]
        alpha = return_pct - beta * buy_hold
        avg_dd = np.where(dd_counts > 0, -c["dd_peak_sum"] / dd_counts * 100, nan)
        has = counts > 0
        win_rate = np.where(has, wins / counts, nan)
        best_pct = np.where(has, t["best"] * 100, nan)
        worst_pct = np.where(has, t["worst"] * 100, nan)
        avg_trade = np.where(has, np.where(t["ruinous"], 0.0, (np.exp(t["log_growth_sum"] / counts) - 1.0) * 100), nan)
        rets_neg = t["rets_neg"]
        profit_factor = np.where(rets_neg != 0, t["rets_pos"] / np.abs(rets_neg), nan)
        expectancy = np.where(has, t["rets_sum"] / counts * 100, nan)
        pl_sum = t["pl_sum"]
        pl_std = np.where(counts > 1, np.sqrt(t["pl_dots"] / (counts - 1)), nan)
        sqn = np.where((counts > 1) & (pl_std != 0), np.sqrt(counts) * (pl_sum / counts) / pl_std, nan)
        kelly = np.where(
            has & (wins > 0) & (n_losses > 0),
            win_rate - (1 - win_rate) / ((t["win_sum"] / wins) / (-t["loss_sum"] / n_losses)),
            nan,
        )
        max_dd_duration = _durations(c["dd_duration_max"], dd_counts > 0, resolution)
        avg_dd_duration = _durations(c["dd_duration_sum"] / dd_counts, dd_counts > 0, resolution)
        max_trade_duration = _durations(t["trade_ns_max"], has, resolution)
        avg_trade_duration = _durations(t["trade_ns_sum"] / counts, has, resolution)
    columns: dict[str, Any] = {
        "start": [ctx.start] * k,
        "end": [ctx.end] * k,
        "duration": [duration] * k,
        "exposure_time_pct": t["exposure"],
        "equity_final": final,
        "equity_peak": c["equity_peak"],
        "commissions": t["commissions"],
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
    # Every column has k values (zip's strict check costs ~10 % of building the dicts).
    return [dict(zip(STAT_KEYS, values)) for values in zip(*lists)]  # noqa: B905
