"""The backtest engine: target positions in, fills, trades and an equity curve out.

The simulation walks only the bars where something happens (a target change, a stop, running out
of money) and fills the equity curve between them with array arithmetic, so its cost grows with
the number of trades rather than the number of bars. Its fill model is backtesting.py's: market
orders fill at the next bar's open (or the signalling bar's close), "all-in" entries buy
``int(cash * (1 - eps) // (price + commission per unit))`` units, commission is charged at entry and
at exit, and an equity that reaches zero closes everything and ends the run.
"""

from __future__ import annotations

import math
import sys

import attrs
import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.domain.trading import ExitReason

#: backtesting.py's "all of the available cash" order fraction.
FULL_EQUITY = 1.0 - sys.float_info.epsilon

EXIT_REASONS: tuple[ExitReason, ...] = (
    ExitReason.SIGNAL,
    ExitReason.STOP_LOSS,
    ExitReason.TAKE_PROFIT,
    ExitReason.TRAILING_STOP,
    ExitReason.END_OF_DATA,
    ExitReason.OUT_OF_MONEY,
)
_SIGNAL, _STOP_LOSS, _TAKE_PROFIT, _TRAILING, _END, _OUT_OF_MONEY = range(6)


@attrs.frozen(eq=False)
class TradeLog:
    """Closed trades as columns (cheap to build in optimisation loops; ``Trade`` objects come lazily).

    The engine's internal columns: ``return_pct`` here is the return as a *fraction* (backtesting.py's
    ``ReturnPct``, what the statistics take); ``Trade.return_pct``, which users see, is in percent.
    """

    size: np.ndarray
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray
    commission: np.ndarray
    exit_reason: np.ndarray  # int8 index into EXIT_REASONS

    def __len__(self) -> int:
        return len(self.size)


@attrs.frozen(eq=False)
class OpenPosition:
    size: float
    entry_price: float
    entry_bar: int


@attrs.frozen(eq=False)
class Simulation:
    """The raw outcome of a run: equity and units held at each bar's close, closed trades, the
    position still open at the end (if any), final cash and how many orders were refused for lack of
    cash."""

    equity: np.ndarray
    position: np.ndarray
    trades: TradeLog
    open_position: OpenPosition | None
    cash: float
    rejected_orders: int
    start: int


def desired_positions(target: np.ndarray, warmup: int, long_only: bool) -> np.ndarray:
    """The position the strategy wants after each bar: ``target`` forward-filled from the first
    tradable bar (``warmup + 1``), flat before it, capped to [-1, 1] (to [0, 1] when long-only).
    ``warmup=-1`` means the first bar's target already counts (used to continue a history)."""
    n = len(target)
    start = min(warmup + 1, n)
    t = np.array(target, dtype=np.float64)
    t[:start] = np.nan
    if start >= 1:
        t[start - 1] = 0.0
    elif n and np.isnan(t[0]):  # warmup -1: no warm-up, flat until the first opinion
        t[0] = 0.0
    valid = ~np.isnan(t)
    idx = np.arange(n)
    idx[~valid] = 0
    np.maximum.accumulate(idx, out=idx)
    want = t[idx]
    want[~valid[idx]] = 0.0
    # np.clip without its Python-level overhead (``want`` holds no NaN here)
    np.maximum(want, 0.0 if long_only else -1.0, out=want)
    np.minimum(want, 1.0, out=want)
    return want


class _Book:
    """Cash, the open position and the closed-trade columns while a simulation runs."""

    def __init__(self, cfg: BacktestConfig) -> None:
        self.cfg = cfg
        self.fills = FillModel.from_config(cfg)
        self.cash = float(cfg.cash)
        self.size = 0.0
        self.entry = 0.0
        self.entry_bar = 0
        self.rows: list[float] = []  # closed trades, 9 values each (see ``log``)
        self.rejected = 0

    def open(self, side: float, fraction: float, price: float, bar: int) -> None:
        units = self.fills.entry_units(side, fraction, price, self.cash)
        if not units:
            self.rejected += 1
            return
        adjusted = self.fills.entry_price(side, price)
        self.size = math.copysign(units, side)
        self.entry = float(adjusted)
        self.entry_bar = bar
        self.cash -= self.fills.commission_for(self.size, adjusted)

    def close(self, price: float, bar: int, reason: int) -> None:
        size, entry, fills = self.size, self.entry, self.fills
        exit_price = fills.exit_price(size, price)
        exit_commission = fills.commission_for(size, exit_price)
        commissions = exit_commission + fills.commission_for(size, entry)
        gross = size * (exit_price - entry)
        self.cash += gross - exit_commission
        ret = math.copysign(1.0, size) * (exit_price / entry - 1.0) - commissions / (abs(size) * entry)
        self.rows += (size, self.entry_bar, bar, entry, exit_price, gross - commissions, ret, commissions, reason)
        self.size = 0.0

    def log(self) -> TradeLog:
        table = np.array(self.rows, dtype=np.float64).reshape(-1, 9).T
        return TradeLog(
            size=table[0],
            entry_bar=table[1].astype(np.int64),
            exit_bar=table[2].astype(np.int64),
            entry_price=table[3],
            exit_price=table[4],
            pnl=table[5],
            return_pct=table[6],
            commission=table[7],
            exit_reason=table[8].astype(np.int8),
        )


def _first_stop(
    book: _Book, cfg: BacktestConfig, o: np.ndarray, h: np.ndarray, lo: np.ndarray, a: int, b: int
) -> tuple[int, float, int] | None:
    """The first bar in ``[a, b)`` where a stop or target closes the open position: (bar, price, reason)."""
    long = book.size > 0
    entry = book.entry
    hi_, lo_ = h[a:b], lo[a:b]
    hit_stop = np.zeros(b - a, dtype=bool)
    stop_level = np.full(b - a, np.nan)
    stop_reason = np.full(b - a, _STOP_LOSS, dtype=np.int8)
    if cfg.stop_loss is not None:
        stop_level[:] = entry * (1.0 - cfg.stop_loss) if long else entry * (1.0 + cfg.stop_loss)
    if cfg.trailing_stop is not None:
        # The trailing level at bar m follows the extreme reached through bar m-1 (intrabar order is unknown).
        if long:
            peak = np.maximum.accumulate(np.concatenate(([entry], hi_[:-1])))
            trail = peak * (1.0 - cfg.trailing_stop)
            use_trail = np.isnan(stop_level) | (trail > stop_level)
        else:
            trough = np.minimum.accumulate(np.concatenate(([entry], lo_[:-1])))
            trail = trough * (1.0 + cfg.trailing_stop)
            use_trail = np.isnan(stop_level) | (trail < stop_level)
        stop_level = np.where(use_trail, trail, stop_level)
        stop_reason[use_trail] = _TRAILING
    with np.errstate(invalid="ignore"):
        hit_stop = lo_ <= stop_level if long else hi_ >= stop_level
        if cfg.take_profit is not None:
            tp_level = entry * (1.0 + cfg.take_profit) if long else entry * (1.0 - cfg.take_profit)
            hit_tp = hi_ >= tp_level if long else lo_ <= tp_level
        else:
            tp_level, hit_tp = np.nan, np.zeros(b - a, dtype=bool)
    hits = np.flatnonzero(hit_stop | hit_tp)
    if not hits.size:
        return None
    i = int(hits[0])
    m = a + i
    if hit_stop[i]:  # pessimistic: the stop is assumed hit before the target
        level = float(stop_level[i])
        price = min(o[m], level) if long else max(o[m], level)
        return m, float(price), int(stop_reason[i])
    price = max(o[m], tp_level) if long else min(o[m], tp_level)
    return m, float(price), _TAKE_PROFIT


def simulate(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    target: np.ndarray,
    warmup: int,
    cfg: BacktestConfig,
    reentry: np.ndarray | None = None,
) -> Simulation:
    """Run the fill model over one instrument. See the module docstring for the rules.

    ``reentry`` marks bars whose signal re-issues an entry in the direction already held: the
    position is closed and opened again at the next fill (backtesting.py's ``close()`` + ``buy()``).
    """
    n = len(c)
    start = min(warmup + 1, n)
    want = desired_positions(target, warmup, cfg.mode == "long_only")
    acts = np.empty(n, dtype=bool)
    if n:
        acts[0] = want[0] != 0.0  # flat before the first bar
        np.not_equal(want[1:], want[:-1], out=acts[1:])
    if reentry is not None:
        acts |= np.asarray(reentry, dtype=bool) & (want != 0)
    changes = np.flatnonzero(acts[start:]) + start
    fill_bars = changes + 1
    fill_bars = fill_bars[fill_bars < n]
    on_close = cfg.fill == "close"

    if not cfg.has_stops:
        fast = _simulate_without_stops(o, c, want, fill_bars, cfg, start)
        if fast is not None:
            return fast
    book = _Book(cfg)
    equity = np.empty(n)
    position = np.zeros(n)
    done = False

    def run_segment(a: int, b: int) -> bool:
        """Mark bars [a, b) to market with the current book; handle stops and ruin. True = ruined."""
        while a < b:
            if book.size == 0.0:
                equity[a:b] = book.cash
                return False
            stop = _first_stop(book, cfg, o, h, lo, a, b) if cfg.has_stops else None
            end = stop[0] if stop is not None else b
            eq = book.cash + book.size * (c[a:end] - book.entry)
            ruined = np.flatnonzero(eq <= 0)
            if ruined.size:
                m = a + int(ruined[0])
                equity[a:m] = eq[: m - a]
                position[a:m] = book.size
                book.close(float(c[m]), m, _OUT_OF_MONEY)
                book.cash = 0.0
                equity[m:] = 0.0
                return True
            equity[a:end] = eq
            position[a:end] = book.size
            if stop is None:
                return False
            m, price, reason = stop
            book.close(price, m, reason)
            equity[m] = book.cash
            a = m + 1
        return False

    seg_start = 0
    for k in fill_bars.tolist():
        if run_segment(seg_start, k):
            done = True
            break
        price = float(c[k - 1]) if on_close else float(o[k])
        bar = k - 1 if on_close else k
        if book.size != 0.0:
            book.close(price, bar, _SIGNAL)
        w = float(want[k - 1])
        if w != 0.0:
            book.open(np.sign(w), min(abs(w), FULL_EQUITY), price, bar)
        seg_start = k
    if not done:
        done = run_segment(seg_start, n)
    open_position = None
    if not done and book.size != 0.0:
        if cfg.close_at_end:
            book.close(float(c[-1]), n - 1, _END)
            equity[-1] = book.cash
            position[-1] = 0.0
        else:
            open_position = OpenPosition(book.size, book.entry, book.entry_bar)
    return Simulation(equity, position, book.log(), open_position, book.cash, book.rejected, start)


def _simulate_without_stops(
    o: np.ndarray, c: np.ndarray, want: np.ndarray, fill_bars: np.ndarray, cfg: BacktestConfig, start: int
) -> Simulation | None:
    """The common case in one scalar pass over the fills plus array arithmetic for the equity curve.
    Returns None when the account is ruined somewhere, leaving that case to the general path."""
    n = len(c)
    on_close = cfg.fill == "close"
    order_bars = fill_bars - 1 if on_close else fill_bars  # the bar each fill is booked at
    prices = (c[order_bars] if on_close else o[fill_bars]).tolist()
    wanted = want[fill_bars - 1]
    wants = wanted.tolist()
    # Per fill, computed at once with the loop's own operations: side = copysign(1, w) and the
    # order's fraction min(|w|, FULL_EQUITY).
    sides = np.copysign(1.0, wanted).tolist()
    fractions = np.minimum(np.abs(wanted), FULL_EQUITY).tolist()
    # The hot loop of every optimisation: FillModel's arithmetic inlined on local floats (the same
    # expressions in the same order — the paper/backtest parity tests pin that they agree).
    rate, fixed, slip, fractional = cfg.commission, cfg.commission_fixed, cfg.slippage, cfg.fractional
    entry_slip = cfg.spread + slip  # entries pay the spread and the slippage, exits the slippage
    copysign = math.copysign
    long_factor, short_factor = 1.0 + copysign(entry_slip, 1.0), 1.0 + copysign(entry_slip, -1.0)
    cash, size, entry, entry_bar, rejected = float(cfg.cash), 0.0, 0.0, 0.0, 0
    # Flat lists of floats (bars too), which numpy converts fastest: the closed trades, 9 values
    # each, and the book (cash, units held, entry price or 0 when flat) from the start and each fill.
    rows: list[float] = []
    books = [cash, 0.0, 0.0]
    signal = float(_SIGNAL)
    for bar, price, w, side, fraction in zip(
        order_bars.astype(np.float64).tolist(), prices, wants, sides, fractions, strict=True
    ):
        if size != 0.0:
            exit_price = price * (1.0 - copysign(slip, size)) if slip else price
            units = abs(size)
            exit_commission = fixed + units * exit_price * rate
            commissions = exit_commission + (fixed + units * entry * rate)
            gross = size * (exit_price - entry)
            cash += gross - exit_commission
            ret = copysign(1.0, size) * (exit_price / entry - 1.0) - commissions / (units * entry)
            rows += (size, entry_bar, bar, entry, exit_price, gross - commissions, ret, commissions, signal)
            size = 0.0
        if w != 0.0:
            adjusted = price * (long_factor if side > 0 else short_factor)
            per_unit = adjusted + (fixed + fraction * price * rate) / fraction
            available = cash if cash > 0.0 else 0.0  # max(0.0, cash) without the call
            units = (available * 1.0 * fraction) / per_unit if fractional else (available * 1.0 * fraction) // per_unit
            if units <= 0 or units * per_unit > available:
                rejected += 1
            else:
                size, entry, entry_bar = copysign(units, side), adjusted, bar
                cash -= fixed + units * adjusted * rate
        books += (cash, size, entry if size else 0.0)
    # Bar i carries the book after the last fill at or before it: each book repeated over its
    # segment (the bars from its fill to the next one, np.diff without its overhead).
    lengths = np.empty(len(fill_bars) + 1, dtype=np.int64)
    lengths[0], lengths[-1] = (fill_bars[0], n - fill_bars[-1]) if len(fill_bars) else (n, n)
    np.subtract(fill_bars[1:], fill_bars[:-1], out=lengths[1:-1])
    table = np.array(books).reshape(-1, 3)
    held = np.repeat(table[:, 1], lengths)
    equity = np.repeat(table[:, 0], lengths) + held * (c - np.repeat(table[:, 2], lengths))
    if (equity <= 0).any():  # ruined somewhere: the general path handles it
        return None
    book = _Book(cfg)
    book.cash, book.size, book.entry, book.entry_bar, book.rejected = cash, size, entry, int(entry_bar), rejected
    book.rows = rows
    open_position = None
    if book.size != 0.0:
        if cfg.close_at_end:
            book.close(float(c[-1]), n - 1, _END)
            equity[-1] = book.cash
            held[-1] = 0.0
        else:
            open_position = OpenPosition(book.size, book.entry, book.entry_bar)
    return Simulation(equity, held, book.log(), open_position, book.cash, book.rejected, start)
