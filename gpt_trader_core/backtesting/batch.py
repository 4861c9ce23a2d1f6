"""The batched fill kernel: many parameter sets of one strategy on the same bars, advanced together.

Each row of the inputs is one parameter set. The kernel reproduces the single-run engine's stop-less
path (``engine._simulate_without_stops``) exactly — the same float expressions in the same order,
evaluated on numpy vectors instead of Python floats — so every row's trades and equity are
bit-for-bit those of ``simulate`` on that row. Only the cash is sequential (an entry's size depends
on the cash its previous trades left), so everything else is computed per fill at once, and the cash
recurrence walks *fill waves*: wave ``j`` holds the ``j``-th fill of every row that has one, so the
Python loop runs as many times as the busiest rows have fills, not once per bar or per combination;
the last waves, where only a few rows still trade, run as a per-row loop instead. Equity curves stay
as each row's segments between fills (``EquityCurves``) until the statistics build them a block of
rows at a time. Rows whose equity reaches zero (ruin) are flagged for the caller to re-run through
the single-run engine, which owns that case.
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


class Scratch:
    """Work arrays reused from one block of rows, and one chunk, to the next: allocating a few MB
    afresh for each block costs more in page faults than the arithmetic done in them. Whoever
    evaluates chunks owns one and passes it down (one per thread: the arrays are overwritten). Only
    arrays of at most ``LIMIT`` bytes are kept, so one holds a few tens of MB at most.

    The arrays are cut from one ``reserve``d arena when it has room: one large allocation, which
    the C allocator keeps for the next one of its size once freed (several separate arrays of a
    few MB would each go back to the kernel and fault their pages in again on the next call)."""

    LIMIT = 8 * 2**20
    ALIGN = 64

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._arena = np.empty(0, dtype=np.uint8)
        self._used = 0

    def reserve(self, nbytes: int) -> None:
        """Room for arrays of ``nbytes`` in all (each aligned) in one arena, if there is not already."""
        if nbytes > len(self._arena):
            self._arena = np.empty(nbytes, dtype=np.uint8)
            self._used = 0
            self._arrays.clear()

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` (the same memory as the last ``name``)."""
        size = math.prod(shape)
        kind = np.dtype(dtype)
        array = self._arrays.get(name)
        if array is None or array.size < size or array.dtype != kind:
            start = -(-self._used // self.ALIGN) * self.ALIGN
            end = start + size * kind.itemsize
            if end <= len(self._arena):
                array = self._arena[start:end].view(kind)
                self._used = end
            else:
                array = np.empty(size, kind)
            if array.nbytes <= self.LIMIT:
                self._arrays[name] = array
        return array[:size].reshape(shape)


@attrs.frozen(eq=False)
class EquityCurves:
    """The equity of ``k`` rows at each bar's close, kept as each row's segments (from one fill to
    the next the book is constant: equity = cash + size * (close - entry), the engine's expression)
    and built on demand a block of rows at a time, so that a whole (k, n) array never needs to exist.
    Row ``i``'s segments are ``[offsets[i], offsets[i + 1])``, ``lengths`` bars each (they tile the
    row); ``last`` replaces the last bar's equity of the rows ``last_rows`` (a close at the end)."""

    close: np.ndarray
    cash: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray
    last_rows: np.ndarray
    last: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.offsets) - 1, len(self.close)

    def rows(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Equity of rows ``[a, b)``, (b - a, n), into ``out`` when given (C-contiguous, that shape)."""
        n = len(self.close)
        shape = (b - a, n)
        lo, hi = int(self.offsets[a]), int(self.offsets[b])
        lengths = self.lengths[lo:hi]
        equity = np.empty(shape) if out is None else out
        # np.repeat is the fastest way to spell a piecewise-constant array; each repeated array is
        # used and freed at once, so the allocator hands the same memory back (no page faults).
        np.subtract(self.close, np.repeat(self.entry[lo:hi], lengths).reshape(shape), out=equity)
        equity *= np.repeat(self.size[lo:hi], lengths).reshape(shape)
        equity += np.repeat(self.cash[lo:hi], lengths).reshape(shape)
        inside = (self.last_rows >= a) & (self.last_rows < b)
        equity[self.last_rows[inside] - a, -1] = self.last[inside]
        return equity

    def all(self) -> np.ndarray:
        """The whole (k, n) array."""
        return self.rows(0, self.shape[0])

    def take(self, rows: np.ndarray) -> EquityCurves:
        """The curves of ``rows`` only (in that order)."""
        starts, ends = self.offsets[rows], self.offsets[rows + 1]
        counts = ends - starts
        offsets = np.concatenate(([0], np.cumsum(counts)))
        index = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        position = np.full(self.shape[0], -1)
        position[rows] = np.arange(len(rows))
        kept = position[self.last_rows] >= 0
        return EquityCurves(
            self.close,
            self.cash[index],
            self.size[index],
            self.entry[index],
            self.lengths[index],
            offsets,
            position[self.last_rows[kept]],
            self.last[kept],
        )


@attrs.frozen(eq=False)
class BatchSimulation:
    """Equity curves of the ``k`` rows, the closed trades, final cash, refused orders per row and
    ``ruined`` rows (equity reached zero: their figures here are not valid, re-run them alone)."""

    curves: EquityCurves
    trades: BatchTrades
    cash: np.ndarray
    rejected: np.ndarray
    start: np.ndarray
    ruined: np.ndarray

    @property
    def equity(self) -> np.ndarray:
        """Equity (k, n) at each bar's close (built on each access: prefer ``curves``)."""
        return self.curves.all()


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

    # Per fill, what does not depend on the cash: the entry's price and cost per unit (the engine's
    # expressions, element-wise), so the sequential part below is only the cash recurrence.
    buy_factor, sell_factor = _entry_factors(config)
    rate, fixed = config.commission, config.commission_fixed
    with np.errstate(divide="ignore", invalid="ignore"):
        side = np.copysign(1.0, w)
        fraction = np.minimum(np.abs(w), FULL_EQUITY)
        adjusted = price * np.where(side > 0, buy_factor, sell_factor)
        per_unit = adjusted + (fixed + fraction * price * rate) / fraction
    book = _Fills(price, w, fraction, adjusted, per_unit)
    held, cash_after, refused = _book_fills(book, rows, ordinal, counts, config)

    # The closed trades: a fill closes what the row's previous fill opened.
    closes = np.flatnonzero(ordinal > 0)
    closes = closes[held[closes - 1] != 0.0]
    opened = closes - 1
    closed: list[tuple[np.ndarray, ...]] = []
    if len(closes):
        closed.append(
            _closing(
                rows[closes], held[opened], bar[opened], bar[closes], adjusted[opened], price[closes], _SIGNAL, config
            )
        )
    final_size = np.zeros(k)
    final_entry = np.zeros(k)
    final_bar = np.zeros(k, dtype=np.int64)
    final_cash = np.full(k, float(config.cash))
    last = offsets[1:][counts > 0] - 1
    final_size[rows[last]], final_entry[rows[last]], final_bar[rows[last]] = held[last], adjusted[last], bar[last]
    final_cash[rows[last]] = cash_after[last]
    rejected = np.bincount(rows[refused], minlength=k)

    # Bar by bar: each row's segment j (from its j-th fill to the next) holds the book after fill j.
    total = len(rows) + k
    head = offsets[:-1] + np.arange(k)
    body = np.arange(len(rows)) + rows + 1
    seg_cash, seg_size, seg_entry = np.empty(total), np.zeros(total), np.zeros(total)
    seg_cash[head] = float(config.cash)
    seg_cash[body], seg_size[body] = cash_after, held
    seg_entry[body] = np.where(held != 0.0, adjusted, 0.0)
    seg_start = np.empty(total, dtype=np.int64)
    seg_start[head] = 0
    seg_start[body] = fill
    seg_end = np.append(seg_start[1:], n)
    seg_end[head[1:] - 1] = n
    ruined = _ruined(c, seg_cash, seg_size, seg_entry, seg_start, seg_end, head, k)
    last_rows = np.empty(0, dtype=np.int64)
    last_equity = np.empty(0)
    if config.close_at_end and n:
        open_rows = np.flatnonzero((final_size != 0.0) & ~ruined)
        if len(open_rows):
            m = len(open_rows)
            trade = _closing(
                open_rows,
                final_size[open_rows],
                final_bar[open_rows],
                np.full(m, n - 1, dtype=np.int64),
                final_entry[open_rows],
                np.full(m, c[-1]),
                _END,
                config,
            )
            closed.append(trade)
            final_cash[open_rows] = final_cash[open_rows] + (trade[7] - trade[6])
            last_rows, last_equity = open_rows, final_cash[open_rows]
    curves = EquityCurves(
        c, seg_cash, seg_size, seg_entry, seg_end - seg_start, np.append(head, total), last_rows, last_equity
    )
    return BatchSimulation(curves, _gather(closed, k, config), final_cash, rejected, start, ruined)


def _ruined(
    c: np.ndarray,
    cash: np.ndarray,
    size: np.ndarray,
    entry: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    heads: np.ndarray,
    k: int,
) -> np.ndarray:
    """Rows whose equity ``cash + size * (close - entry)`` reaches zero in some segment, from each
    segment's lowest or highest close alone: every step of that expression is monotonic in the
    close (rounding included), so its minimum over a segment is at the lowest close for a long book
    and at the highest for a short one — exactly the minimum of the bar-by-bar curve."""
    n = len(c)
    levels = max(1, int(n).bit_length())
    # Sparse tables: row ``level`` holds the extremes of the 2**level bars from each bar (defined up
    # to bar n - 2**level; NaN after), all levels in one array so that one gather reads any level.
    low, high = np.full((levels, n), np.nan), np.full((levels, n), np.nan)
    low[0], high[0] = c, c
    for level in range(1, levels):
        step = 1 << (level - 1)
        np.minimum(low[level - 1, :-step], low[level - 1, step:], out=low[level, :-step])
        np.maximum(high[level - 1, :-step], high[level - 1, step:], out=high[level, :-step])
    span = end - start
    some = span > 0
    level_of = np.frexp(np.maximum(span, 1))[1] - 1  # floor(log2(span)), exact on integers
    a = np.where(some, start, 0)
    b = np.where(some, end - np.left_shift(1, level_of), 0)
    lows = np.minimum(low[level_of, a], low[level_of, b])
    highs = np.maximum(high[level_of, a], high[level_of, b])
    extreme = np.where(size > 0, lows, highs)
    worst = np.where(some, cash + size * (np.where(some, extreme, 0.0) - entry), np.inf)
    rows = np.repeat(np.arange(k), np.diff(np.append(heads, len(cash))))
    return np.bincount(rows, weights=worst <= 0, minlength=k) > 0


def _entry_factors(config: BacktestConfig) -> tuple[float, float]:
    """What a buy and a sell entry pay per unit of the quote: ``1 ± (spread + slippage)`` (a
    configuration without a ``spread`` has only slippage), as the single-run engine computes them."""
    entry_slip = getattr(config, "spread", 0.0) + config.slippage
    return 1.0 + math.copysign(entry_slip, 1.0), 1.0 + math.copysign(entry_slip, -1.0)


def _closing(
    row: np.ndarray,
    size: np.ndarray,
    entry_bar: np.ndarray,
    exit_bar: np.ndarray,
    entry: np.ndarray,
    quote: np.ndarray,
    reason: int,
    config: BacktestConfig,
) -> tuple[np.ndarray, ...]:
    """The raw columns of closing ``size`` units bought at ``entry`` at the quote ``quote`` (the
    engine's ``_Book.close`` expressions): row, size, entry bar, exit bar, entry, exit price, exit
    commission, gross P&L, reason."""
    slip = config.slippage
    exit_price = quote * (1.0 - np.copysign(slip, size)) if slip else quote
    exit_commission = config.commission_fixed + np.abs(size) * exit_price * config.commission
    gross = size * (exit_price - entry)
    return row, size, entry_bar, exit_bar, entry, exit_price, exit_commission, gross, np.full(len(row), reason, np.int8)


@attrs.frozen(eq=False)
class _Fills:
    """Per fill (row-major): the quote, the wanted position, and the entry's fraction, price and
    cost per unit (NaN where the fill opens nothing)."""

    price: np.ndarray
    want: np.ndarray
    fraction: np.ndarray
    adjusted: np.ndarray
    per_unit: np.ndarray


#: Rough costs (µs) of the vectorised loop: per wave, plus per active row in a wave; and of one
#: fill in the per-row loop. They only decide where one hands over to the other.
_WAVE_COST, _WAVE_ROW_COST, _SCALAR_COST = 20.0, 0.06, 0.8


def _book_fills(
    book: _Fills, rows: np.ndarray, ordinal: np.ndarray, counts: np.ndarray, config: BacktestConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cash recurrence of every row: (signed units held after each fill, cash after each fill,
    whether the fill's entry was refused). Exact: ``engine._simulate_without_stops``' float
    expressions in its order.

    The first ``waves`` fills of every row advance together — wave ``j`` is the ``j``-th fill of each
    row that has one — on dense arrays whose rows are sorted by fill count, so the rows still active
    in a wave are a prefix (contiguous slices, no fancy indexing). The rows that trade far more than
    the others finish on a per-row loop of Python floats, where numpy calls would cost more than
    the arithmetic. ``waves`` is chosen by a cost model."""
    k = len(counts)
    total = len(rows)
    held = np.zeros(total)
    cash_after = np.empty(total)
    refused = np.zeros(total, dtype=bool)
    if not total:
        return held, cash_after, refused
    order = np.argsort(-counts, kind="stable")  # busiest rows first
    most = int(counts.max())
    # active[j]: the rows with more than j fills, a prefix of ``order``.
    active = k - np.searchsorted(np.sort(counts), np.arange(most), side="right")
    wave_cost = np.concatenate(([0.0], np.cumsum(_WAVE_COST + _WAVE_ROW_COST * active)))
    beyond = np.concatenate((np.cumsum(active[::-1])[::-1], [0]))  # fills with ordinal >= j
    waves = int(np.argmin(wave_cost + _SCALAR_COST * beyond))

    position = np.empty(k, dtype=np.int64)
    position[order] = np.arange(k)
    # The book after wave j is row j + 1 of these (row 0: flat, the starting cash); every fill closes
    # what the previous one opened, so the entry price held in wave j is the one paid in wave j - 1.
    held_d = np.zeros((waves + 1, k))
    cash_d = np.empty((waves + 1, k))
    cash_d[0] = float(config.cash)
    entry_d = np.zeros((waves + 1, k))
    if waves:
        in_waves = np.flatnonzero(ordinal < waves)
        dense_index = ordinal[in_waves] * k + position[rows[in_waves]]

        def dense(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            out = np.zeros((waves, k)) if out is None else out
            out.reshape(-1)[dense_index] = values[in_waves]
            return out

        price, want, fraction, per_unit = (
            dense(book.price),
            dense(book.want),
            dense(book.fraction),
            dense(book.per_unit),
        )
        adjusted = dense(book.adjusted, entry_d[1:])
        rate, fixed, slip = config.commission, config.commission_fixed, config.slippage
        fractional = config.fractional
        with np.errstate(divide="ignore", invalid="ignore"):
            for j, a in enumerate(active[:waves].tolist()):
                size, entry, cash = held_d[j, :a], entry_d[j, :a], cash_d[j, :a]
                p = price[j, :a]
                exit_price = p * (1.0 - np.copysign(slip, size)) if slip else p
                # cash + (size * (exit - entry) - (fixed + |size| * exit * rate)); a flat book adds ±0
                # (exactly nothing) unless there is a fixed commission, then it is masked.
                gross = np.subtract(exit_price, entry)
                gross *= size
                commission = np.abs(size)
                commission *= exit_price
                commission *= rate
                if fixed:
                    commission += fixed
                gross -= commission
                closed = np.add(cash, gross, out=gross)
                if fixed:
                    closed = np.where(size != 0.0, closed, cash)
                available = np.maximum(closed, 0.0)
                pu = per_unit[j, :a]
                units = np.multiply(available, fraction[j, :a])
                if fractional:
                    np.divide(units, pu, out=units)
                else:
                    np.floor_divide(units, pu, out=units)
                # Refused when units <= 0 or units * per_unit > available. Where nothing opens the
                # fraction is 0, so units are 0 or NaN (0 / NaN per unit): never ok either.
                ok = np.less_equal(units * pu, available)
                ok &= units > 0
                cost = units * adjusted[j, :a]
                cost *= rate
                if fixed:
                    cost += fixed
                after = cash_d[j + 1, :a]
                np.copyto(after, closed)
                np.subtract(closed, cost, out=after, where=ok)
                np.copysign(units, want[j, :a], out=held_d[j + 1, :a], where=ok)  # else flat (zeros)
        held[in_waves] = held_d[1:].reshape(-1)[dense_index]
        cash_after[in_waves] = cash_d[1:].reshape(-1)[dense_index]
    rest = order[: int(active[waves])] if waves < most else order[:0]
    if len(rest):
        at = position[rest]
        _book_rest(book, rows, counts, rest, waves, config, cash_d[waves, at], held_d[waves, at], entry_d[waves, at],
                   held, cash_after)  # fmt: skip
    # An entry is taken with units > 0, so a fill that wants a position and holds none was refused.
    np.logical_and(book.want != 0.0, held == 0.0, out=refused)
    return held, cash_after, refused


def _book_rest(
    book: _Fills,
    rows: np.ndarray,
    counts: np.ndarray,
    rest: np.ndarray,
    skip: int,
    config: BacktestConfig,
    cash0: np.ndarray,
    size0: np.ndarray,
    entry0: np.ndarray,
    held: np.ndarray,
    cash_after: np.ndarray,
) -> None:
    """The fills of ``rest`` from their ``skip``-th on, row after row on Python floats, from the book
    ``(cash0, size0, entry0)`` the waves left; writes ``held`` and ``cash_after``."""
    rate, fixed, slip, fractional = config.commission, config.commission_fixed, config.slippage, config.fractional
    offsets = np.concatenate(([0], np.cumsum(counts)))
    for row, cash, size, entry in zip(rest.tolist(), cash0.tolist(), size0.tolist(), entry0.tolist(), strict=True):
        a, b = int(offsets[row]) + skip, int(offsets[row + 1])
        prices, wants = book.price[a:b].tolist(), book.want[a:b].tolist()
        fractions, adjusteds, per_units = (
            book.fraction[a:b].tolist(),
            book.adjusted[a:b].tolist(),
            book.per_unit[a:b].tolist(),
        )
        sizes: list[float] = []
        cashes: list[float] = []
        keep_size, keep_cash = sizes.append, cashes.append
        for p, wj, fraction, adjusted, per_unit in zip(prices, wants, fractions, adjusteds, per_units, strict=True):
            if size != 0.0:
                long = size > 0.0
                exit_price = (p * (1.0 - slip if long else 1.0 + slip)) if slip else p
                units = size if long else -size
                cash += size * (exit_price - entry) - (fixed + units * exit_price * rate)
                size = 0.0
            if wj != 0.0:
                available = cash if cash > 0.0 else 0.0
                units = (available * fraction) / per_unit if fractional else (available * fraction) // per_unit
                if not (units <= 0 or units * per_unit > available):  # else refused
                    size, entry = (units if wj > 0.0 else -units), adjusted
                    cash -= fixed + units * adjusted * rate
            keep_size(size)
            keep_cash(cash)
        held[a:b], cash_after[a:b] = sizes, cashes


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
