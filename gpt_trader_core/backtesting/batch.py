"""The batched fill kernel: many parameter sets of one strategy on the same bars, advanced together.

Each row of the inputs is one parameter set. The kernel reproduces the single-run engine's stop-less
path (``engine._simulate_without_stops``) exactly — the same float expressions in the same order,
evaluated on numpy vectors instead of Python floats — so every row's trades and equity are
bit-for-bit those of ``simulate`` on that row. It walks *fill waves*: wave ``j`` holds the ``j``-th
fill of every row that has one, so the Python loop runs as many times as the busiest row has fills,
not once per bar or per combination. Rows whose equity reaches zero (ruin) are flagged for the
caller to re-run through the single-run engine, which owns that case.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import FULL_EQUITY, TradeLog

_SIGNAL, _END = 0, 4  # indices into engine.EXIT_REASONS


@attrs.frozen(eq=False)
class SparseTargets:
    """The cells of a (k, n) target array that hold an opinion, in row-major order: ``values`` at
    (``rows``, ``cols``) (NaN allowed when only ``reentry`` is set there); every other cell is NaN
    without re-entry. Cheaper than a dense array for strategies that speak rarely (crossovers)."""

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    reentry: np.ndarray


@attrs.frozen(eq=False)
class BatchSignals:
    """Signals of ``k`` parameter sets on the same ``n`` bars (row ``i`` = parameter set ``i``).

    ``target`` (k, n) float, ``warmup`` (k,) int (>= 0) and ``reentry`` (k, n) bool or None mean
    what ``Signals``' fields mean for one run; ``sparse`` may replace ``target`` and ``reentry``.
    A strategy opts in to batched optimisation with a classmethod
    ``batch_signals(bars, params_list, cache) -> BatchSignals`` whose row ``i`` equals
    ``cls(**params_list[i]).signals(bars)`` exactly."""

    target: np.ndarray | None
    warmup: np.ndarray
    reentry: np.ndarray | None = None
    sparse: SparseTargets | None = None

    def cells(self) -> SparseTargets:
        """The opinions as ``SparseTargets`` (converting a dense ``target``)."""
        if self.sparse is not None:
            return self.sparse
        if self.target is None:
            raise ValueError("BatchSignals needs a target array or sparse targets")
        target = np.asarray(self.target, dtype=np.float64)
        listed = ~np.isnan(target)
        if self.reentry is not None:
            listed |= np.asarray(self.reentry, dtype=bool)
        rows, cols = np.divmod(np.flatnonzero(listed), target.shape[1])  # 1-D scan: cheaper than 2-D nonzero
        del listed
        flags = (
            np.asarray(self.reentry, dtype=bool)[rows, cols]
            if self.reentry is not None
            else np.zeros(len(rows), dtype=bool)
        )
        return SparseTargets(target.shape, rows, cols, target[rows, cols], flags)


def batch_supported(config: BacktestConfig) -> bool:
    """Whether the kernel reproduces ``simulate`` exactly under ``config`` (stops need the per-run engine)."""
    return not config.has_stops


@attrs.frozen(eq=False)
class BatchTrades:
    """Closed trades of every row, grouped by row (chronological within a row): row ``i``'s trades
    are ``[offsets[i], offsets[i + 1])``."""

    offsets: np.ndarray
    size: np.ndarray
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray
    commission: np.ndarray
    exit_reason: np.ndarray

    def take(self, rows: np.ndarray) -> BatchTrades:
        """The trades of ``rows`` only (in that order), regrouped."""
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        counts = ends - starts
        offsets = np.concatenate(([0], np.cumsum(counts)))
        index = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        return BatchTrades(
            offsets,
            *(getattr(self, f.name)[index] for f in attrs.fields(BatchTrades)[1:]),
        )

    def log(self, row: int) -> TradeLog:
        """Row ``row``'s trades as the single-run engine's ``TradeLog``."""
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        return TradeLog(
            size=self.size[a:b],
            entry_bar=self.entry_bar[a:b],
            exit_bar=self.exit_bar[a:b],
            entry_price=self.entry_price[a:b],
            exit_price=self.exit_price[a:b],
            pnl=self.pnl[a:b],
            return_pct=self.return_pct[a:b],
            commission=self.commission[a:b],
            exit_reason=self.exit_reason[a:b],
        )


@attrs.frozen(eq=False)
class BatchSimulation:
    """Equity (k, n) at each bar's close, the closed trades, final cash, refused orders per row and
    ``ruined`` rows (equity reached zero: their figures here are not valid, re-run them alone)."""

    equity: np.ndarray
    trades: BatchTrades
    cash: np.ndarray
    rejected: np.ndarray
    start: np.ndarray
    ruined: np.ndarray


def _orders(signals: BatchSignals, long_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rows, changed bars, wanted positions, start per row) of every order, row-major — the cells
    where ``engine.simulate`` finds ``acts``, computed on the sparse opinions only."""
    cells = signals.cells()
    k, n = cells.shape
    warmup = np.asarray(signals.warmup, dtype=np.int64)
    if k and warmup.min() < 0:
        raise ValueError("batched signals need warm-ups >= 0")
    start = np.minimum(warmup + 1, n)
    # Opinions before the first tradable bar are dropped; the bar before it says "flat" (desired_positions).
    keep = cells.cols >= start[cells.rows]
    rows, cols, values, flags = cells.rows[keep], cells.cols[keep], cells.values[keep], cells.reentry[keep]
    kept = np.bincount(rows, minlength=k)
    offsets = np.concatenate(([0], np.cumsum(kept)))
    total = len(rows) + k
    head = offsets[:-1] + np.arange(k)  # where each row's "flat at start - 1" goes
    body = np.arange(len(rows)) + rows + 1
    all_rows = np.empty(total, dtype=np.int64)
    all_cols = np.empty(total, dtype=np.int64)
    all_values = np.empty(total)
    all_flags = np.zeros(total, dtype=bool)
    all_rows[head], all_cols[head], all_values[head] = np.arange(k), start - 1, 0.0
    all_rows[body], all_cols[body], all_values[body], all_flags[body] = rows, cols, values, flags
    valid = ~np.isnan(all_values)
    last = np.where(valid, np.arange(total), 0)
    np.maximum.accumulate(last, out=last)  # each row opens with a valid cell: no leak across rows
    want = all_values[last]
    np.clip(want, 0.0 if long_only else -1.0, 1.0, out=want)
    acts = np.zeros(total, dtype=bool)
    acts[1:] = want[1:] != want[:-1]
    acts |= all_flags & (want != 0)
    acts[head] = False
    acts &= all_cols < n - 1  # a change on the last bar has no next bar to fill on
    return all_rows[acts], all_cols[acts], want[acts], start


def simulate_batch(
    o: np.ndarray,
    c: np.ndarray,
    signals: BatchSignals,
    config: BacktestConfig,
) -> BatchSimulation:
    """Every row of ``signals`` through the fill model (no stops: see ``batch_supported``)."""
    if not batch_supported(config):
        raise ValueError("simulate_batch cannot reproduce stops; use engine.simulate per run")
    rows, changed, w, start = _orders(signals, config.mode == "long_only")
    k, n = len(start), len(c)
    fill = changed + 1
    on_close = config.fill == "close"
    price = c[changed] if on_close else o[fill]
    bar = changed if on_close else fill

    counts = np.bincount(rows, minlength=k)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    ordinal = np.arange(len(rows)) - offsets[rows]
    by_wave = np.argsort(ordinal, kind="stable")
    waves = np.concatenate(([0], np.cumsum(np.bincount(ordinal, minlength=1))))
    max_fills = int(counts.max()) if k else 0
    rate, fixed, slip, fractional = config.commission, config.commission_fixed, config.slippage, config.fractional
    buy_factor, sell_factor = _entry_factors(config)
    cash = np.full(k, float(config.cash))
    size = np.zeros(k)
    entry = np.zeros(k)
    entry_bar = np.zeros(k, dtype=np.int64)
    rejected = np.zeros(k, dtype=np.int64)
    seg_cash = np.empty((k, max_fills + 1))
    seg_cash[:, 0] = cash
    seg_size = np.zeros((k, max_fills + 1))
    seg_entry = np.zeros((k, max_fills + 1))
    closed: list[tuple[np.ndarray, ...]] = []

    def close(r: np.ndarray, quote: np.ndarray, at: np.ndarray, reason: int) -> None:
        # Only what the cash needs now; commissions, P&L and returns follow in _gather, vectorised.
        s, e = size[r], entry[r]
        exit_price = quote * (1.0 - np.copysign(slip, s)) if slip else quote
        exit_commission = fixed + np.abs(s) * exit_price * rate
        gross = s * (exit_price - e)
        cash[r] = cash[r] + (gross - exit_commission)
        closed.append((r, s, entry_bar[r], at, e, exit_price, exit_commission, gross, np.full(len(r), reason, np.int8)))
        size[r] = 0.0

    if len(rows) * _SCALAR_COST < max_fills * _WAVE_COST:
        # Few rows: a plain loop over each row's fills costs less than numpy calls per wave.
        closed.append(
            _book_rows(
                rows,
                price,
                bar,
                w,
                counts,
                config,
                cash,
                size,
                entry,
                entry_bar,
                rejected,
                seg_cash,
                seg_size,
                seg_entry,
            )
        )
    else:
        for j in range(max_fills):
            sel = by_wave[waves[j] : waves[j + 1]]
            r, p, b, wj = rows[sel], price[sel], bar[sel], w[sel]
            holding = size[r] != 0.0
            if holding.any():
                close(r[holding], p[holding], b[holding], _SIGNAL)
            opening = wj != 0.0
            if opening.any():
                ro, po, wo = r[opening], p[opening], wj[opening]
                side = np.copysign(1.0, wo)
                fraction = np.minimum(np.abs(wo), FULL_EQUITY)
                adjusted = po * np.where(side > 0, buy_factor, sell_factor)
                per_unit = adjusted + (fixed + fraction * po * rate) / fraction
                available = np.maximum(0.0, cash[ro])
                budget = available * 1.0 * fraction
                units = budget / per_unit if fractional else np.floor_divide(budget, per_unit)
                refused = (units <= 0) | (units * per_unit > available)
                rejected[ro[refused]] += 1
                ok = ~refused
                rk, uk, ak = ro[ok], units[ok], adjusted[ok]
                size[rk] = np.copysign(uk, side[ok])
                entry[rk] = ak
                entry_bar[rk] = b[opening][ok]
                cash[rk] = cash[rk] - (fixed + uk * ak * rate)
            seg_cash[r, j + 1] = cash[r]
            seg_size[r, j + 1] = size[r]
            seg_entry[r, j + 1] = np.where(size[r] != 0.0, entry[r], 0.0)

    # Bar by bar: each row's segment j (from its j-th fill to the next) repeats segment j's book.
    segments = np.arange(max_fills + 1)[None, :] <= counts[:, None]
    seg_start = np.empty(len(rows) + k, dtype=np.int64)
    head = offsets[:-1] + np.arange(k)
    seg_start[head] = np.arange(k) * n
    seg_start[np.arange(len(rows)) + rows + 1] = rows * n + fill
    lengths = np.diff(np.append(seg_start, k * n))
    held = np.repeat(seg_size[segments], lengths).reshape(k, n)
    equity = np.repeat(seg_entry[segments], lengths).reshape(k, n)
    np.subtract(c, equity, out=equity)
    equity *= held
    del held
    equity += np.repeat(seg_cash[segments], lengths).reshape(k, n)
    ruined = np.any(equity <= 0, axis=1)
    if config.close_at_end and n:
        open_rows = np.flatnonzero((size != 0.0) & ~ruined)
        if len(open_rows):
            close(open_rows, np.full(len(open_rows), c[-1]), np.full(len(open_rows), n - 1, dtype=np.int64), _END)
            equity[open_rows, -1] = cash[open_rows]
    return BatchSimulation(equity, _gather(closed, k, config), cash, rejected, start, ruined)


def _entry_factors(config: BacktestConfig) -> tuple[float, float]:
    """What a buy and a sell entry pay per unit of the quote: ``1 ± (spread + slippage)`` (a
    configuration without a ``spread`` has only slippage), as the single-run engine computes them."""
    entry_slip = getattr(config, "spread", 0.0) + config.slippage
    return 1.0 + math.copysign(entry_slip, 1.0), 1.0 + math.copysign(entry_slip, -1.0)


#: Rough costs (µs) of one fill in the per-row loop and of one wave of the vectorised loop.
_SCALAR_COST, _WAVE_COST = 1.2, 40.0


def _book_rows(
    rows: np.ndarray,
    price: np.ndarray,
    bar: np.ndarray,
    w: np.ndarray,
    counts: np.ndarray,
    config: BacktestConfig,
    cash: np.ndarray,
    size: np.ndarray,
    entry: np.ndarray,
    entry_bar: np.ndarray,
    rejected: np.ndarray,
    seg_cash: np.ndarray,
    seg_size: np.ndarray,
    seg_entry: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The fills of each row one after the other on Python floats: ``engine._simulate_without_stops``'
    loop, statement for statement. Updates the state and segment arrays; returns the closed trades
    as columns (row-major, chronological)."""
    rate, fixed, slip, fractional = config.commission, config.commission_fixed, config.slippage, config.fractional
    buy_factor, sell_factor = _entry_factors(config)
    # math.copysign / abs / min / max spelled as comparisons: the same floats, fewer calls per fill.
    trades: list[tuple[float, ...]] = []
    prices, bars, wants = price.tolist(), bar.tolist(), w.tolist()
    full = FULL_EQUITY
    i = 0
    for row, count in enumerate(counts.tolist()):
        cash_r, size_r, entry_r, entry_bar_r, rejected_r = float(cash[row]), 0.0, 0.0, 0, 0
        sc: list[float] = []
        ss: list[float] = []
        se: list[float] = []
        for p, b, wj in zip(prices[i : i + count], bars[i : i + count], wants[i : i + count], strict=True):
            if size_r != 0.0:
                long = size_r > 0.0
                exit_price = (p * (1.0 - slip if long else 1.0 + slip)) if slip else p
                units = size_r if long else -size_r
                exit_commission = fixed + units * exit_price * rate
                gross = size_r * (exit_price - entry_r)
                cash_r += gross - exit_commission
                trades.append((row, size_r, entry_bar_r, b, entry_r, exit_price, exit_commission, gross, _SIGNAL))
                size_r = 0.0
            if wj != 0.0:
                buy = wj > 0.0
                weight = wj if buy else -wj
                fraction = weight if weight < full else full
                adjusted = p * (buy_factor if buy else sell_factor)
                per_unit = adjusted + (fixed + fraction * p * rate) / fraction
                available = cash_r if cash_r > 0.0 else 0.0
                units = (
                    (available * 1.0 * fraction) / per_unit if fractional else (available * 1.0 * fraction) // per_unit
                )
                if units <= 0 or units * per_unit > available:
                    rejected_r += 1
                else:
                    size_r, entry_r, entry_bar_r = (units if buy else -units), adjusted, b
                    cash_r -= fixed + units * adjusted * rate
            sc.append(cash_r)
            ss.append(size_r)
            se.append(entry_r if size_r else 0.0)
        i += count
        seg_cash[row, 1 : count + 1], seg_size[row, 1 : count + 1], seg_entry[row, 1 : count + 1] = sc, ss, se
        cash[row], size[row], entry[row], entry_bar[row], rejected[row] = (
            cash_r,
            size_r,
            entry_r,
            entry_bar_r,
            rejected_r,
        )
    table = np.array(trades, dtype=np.float64).reshape(-1, 9).T
    return (
        table[0].astype(np.int64),
        table[1],
        table[2].astype(np.int64),
        table[3].astype(np.int64),
        table[4],
        table[5],
        table[6],
        table[7],
        table[8].astype(np.int8),
    )


def _gather(closed: list[tuple[np.ndarray, ...]], k: int, config: BacktestConfig) -> BatchTrades:
    """The closed trades grouped by row, with commissions, P&L and returns computed from the raw
    columns (row, size, entry bar, exit bar, entry, exit price, exit commission, gross P&L, reason)
    by the single-run engine's expressions."""
    if closed:
        columns = [np.concatenate(parts) for parts in zip(*closed, strict=True)]
    else:
        columns = [np.empty(0, dtype=np.int64)] + [np.empty(0)] * 7 + [np.empty(0, dtype=np.int8)]
    row = columns[0]
    order = np.argsort(row, kind="stable")  # waves are chronological within a row
    offsets = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=k))))
    size, entry_bar, exit_bar, entry, exit_price, exit_commission, gross, reason = (col[order] for col in columns[1:])
    units = np.abs(size)
    commissions = exit_commission + (config.commission_fixed + units * entry * config.commission)
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.copysign(1.0, size) * (exit_price / entry - 1.0) - commissions / (units * entry)
    return BatchTrades(
        offsets=offsets,
        size=size,
        entry_bar=entry_bar.astype(np.int64),
        exit_bar=exit_bar.astype(np.int64),
        entry_price=entry,
        exit_price=exit_price,
        pnl=gross - commissions,
        return_pct=ret,
        commission=commissions,
        exit_reason=reason.astype(np.int8),
    )
