"""Performance statistics, with backtesting.py's definitions (and names in snake_case).

Notation: ``E`` the equity curve (one value per bar), ``dd = 1 - E / cummax(E)`` the drawdown,
``r`` the per-period returns of ``E`` sampled at the last bar of each calendar day (week, month
or year for weekly, monthly or yearly data), ``N`` periods per year (252 for daily data without
weekends, 365 with weekends, 52 weekly, 12 monthly, 1 yearly), ``g`` the geometric mean of ``r``
(0 when any ``1 + r <= 0``), trade returns ``R`` (fractions: ``R = Trade.return_pct / 100``) and
profits ``P`` of closed trades. Every name ending in ``_pct`` — a statistic, or a trade's
``return_pct`` — is in percent (5.0 = 5 %).

- ``return_pct = (E[-1] - E[0]) / E[0] * 100``; ``buy_hold_return_pct`` from the close at the first
  tradable bar (the strategy's warm-up) to the last close.
- ``return_ann_pct = ((1 + g) ** N - 1) * 100``.
- ``volatility_ann_pct = sqrt((var(r, ddof=1) + (1 + g) ** 2) ** N - (1 + g) ** (2 N)) * 100``.
- ``cagr_pct = ((E[-1] / E[0]) ** (1 / years) - 1) * 100`` with years = elapsed days / 365.25.
- ``sharpe_ratio = return_ann_pct / volatility_ann_pct`` (risk-free rate 0).
- ``sortino_ratio = ((1 + g) ** N - 1) / (sqrt(mean(min(r, 0) ** 2)) * sqrt(N))``.
- ``calmar_ratio = ((1 + g) ** N - 1) / max(dd)``.
- ``beta = cov(log E returns, log close returns) / var(log close returns)`` per bar;
  ``alpha_pct = return_pct - beta * buy_hold_return_pct`` (Jensen, risk-free 0).
- ``max_drawdown_pct = -max(dd) * 100``; ``avg_drawdown_pct = -mean(peak dd of each drawdown) * 100``;
  drawdown durations run from the last equity peak to the recovery (or the last bar), rounded up to
  the data's time resolution.
- ``exposure_time_pct``: share of bars from a closed trade's entry bar to its exit bar.
- ``win_rate_pct = mean(P > 0) * 100``; ``best/worst_trade_pct = max/min(R) * 100``;
  ``avg_trade_pct`` = geometric mean of ``R`` × 100; ``expectancy_pct = mean(R) * 100``;
  ``profit_factor = sum(R > 0) / |sum(R < 0)|`` (on returns, as backtesting.py);
  ``sqn = sqrt(#trades) * mean(P) / std(P, ddof=1)``;
  ``kelly_criterion = W - (1 - W) / (mean(P > 0) / mean(-P < 0))`` with W the win rate.
- ``omega_ratio = sum(max(r, 0)) / sum(max(-r, 0))`` at threshold 0 (not in backtesting.py).

Undefined values are ``nan`` (numbers) or ``None`` (durations), never a numpy warning, and they
are NaN exactly where backtesting.py gives NaN (a parity test runs a ruined account, a run without
trades and a five-bar run against it): without closed trades the trade statistics (win rate,
best/worst/average trade, profit factor, expectancy, SQN, Kelly) are NaN and their durations None;
with fewer than two sampled periods the annualised return, volatility, Sharpe and Sortino ratios are
NaN; with no drawdown the Calmar ratio and the average drawdown are NaN. A ruined account (equity 0)
has a return of -100 % in the period of ruin and NaN in the monthly/yearly returns after it.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import numpy as np

from gpt_trader_core.backtesting.engine import TradeLog
from gpt_trader_core.domain.bars import to_datetime

NS_PER_DAY = 86_400 * 10**9
_NS = np.dtype("datetime64[ns]")
_RESOLUTIONS_NS = (NS_PER_DAY, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)

STAT_KEYS: tuple[str, ...] = (
    "start",
    "end",
    "duration",
    "exposure_time_pct",
    "equity_final",
    "equity_peak",
    "commissions",
    "return_pct",
    "buy_hold_return_pct",
    "return_ann_pct",
    "volatility_ann_pct",
    "cagr_pct",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "omega_ratio",
    "alpha_pct",
    "beta",
    "max_drawdown_pct",
    "avg_drawdown_pct",
    "max_drawdown_duration",
    "avg_drawdown_duration",
    "num_trades",
    "win_rate_pct",
    "best_trade_pct",
    "worst_trade_pct",
    "avg_trade_pct",
    "max_trade_duration",
    "avg_trade_duration",
    "profit_factor",
    "expectancy_pct",
    "sqn",
    "kelly_criterion",
)


def _nan_div(a: float, b: float) -> float:
    return a / b if b else math.nan


def geometric_mean(returns: np.ndarray) -> float:
    """Geometric mean of returns; 0 when any ``1 + r <= 0``, nan when empty."""
    growth = returns + 1.0
    growth[np.isnan(growth)] = 1.0
    if (growth <= 0).any():
        return 0.0
    if not len(growth):
        return math.nan
    return float(np.exp(np.log(growth).sum() / len(growth)) - 1.0)


def data_period_ns(ts_ns: np.ndarray) -> float:
    """Median spacing of the last 100 timestamps (ns)."""
    tail = ts_ns[-100:]
    if len(tail) < 2:
        return math.nan
    return median(tail[1:] - tail[:-1])


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty NaN-free array, without np.median's overhead."""
    ordered = np.sort(values)
    k = len(ordered)
    if k % 2:
        return float(ordered[k // 2])
    return (float(ordered[k // 2 - 1]) + float(ordered[k // 2])) / 2


def _resolution_ns(period_ns: float) -> int:
    """The coarsest unit (day, hour, minute, ...) that divides the data period: durations round up to it."""
    if not math.isfinite(period_ns):
        return 1
    p = round(period_ns)
    for unit in _RESOLUTIONS_NS:
        if p % unit == 0:
            return unit
    return 1


def _ceil_td(ns: float | None, unit: int) -> dt.timedelta | None:
    if ns is None or not math.isfinite(ns):
        return None
    value = int(ns)
    ceiled = -(-value // unit) * unit
    return dt.timedelta(microseconds=ceiled // 1000)


def covered_bars(entry: np.ndarray, exit_: np.ndarray) -> int:
    """Bars covered by at least one [entry, exit] interval (inclusive), overlaps counted once."""
    if not len(entry):
        return 0
    order = np.argsort(entry, kind="stable")
    entry, exit_ = entry[order], exit_[order]
    reach = np.maximum.accumulate(exit_)
    first_new = np.maximum(entry, np.concatenate(([-1], reach[:-1])) + 1)
    return int(np.maximum(exit_ - first_new + 1, 0).sum())


def periods_per_year(ts_ns: np.ndarray, period: float) -> tuple[int, str]:
    """(periods per year, sampling period) from the data's spacing and whether it trades on weekends."""
    return _periods_per_year(ts_ns // NS_PER_DAY, period)


def _periods_per_year(days: np.ndarray, period: float) -> tuple[int, str]:
    """``periods_per_year`` from the day numbers (days since 1970-01-01, floored) of the timestamps."""
    freq_days = int(period // NS_PER_DAY) if math.isfinite(period) else 0
    if freq_days == 7:
        return 52, "W"
    if freq_days == 31:
        return 12, "M"
    if freq_days == 365:
        return 1, "Y"
    weekend = (days + 3) % 7 >= 5  # 1970-01-01 was a Thursday; Monday = 0
    have_weekends = np.count_nonzero(weekend) / len(days) > 2 / 7 * 0.6  # the mean of ``weekend``
    return (365 if have_weekends else 252), "D"


def period_keys(ts: np.ndarray, freq: str) -> np.ndarray:
    """Calendar bucket of each timestamp: day, Monday-based week, month or year."""
    if freq == "D":
        return ts.astype("datetime64[D]").astype(np.int64)
    if freq == "W":
        return (ts.astype("datetime64[D]").astype(np.int64) + 3) // 7
    if freq == "M":
        return ts.astype("datetime64[M]").astype(np.int64)
    return ts.astype("datetime64[Y]").astype(np.int64)


def last_per_period(ts: np.ndarray, values: np.ndarray, freq: str) -> tuple[np.ndarray, np.ndarray]:
    """(bucket keys, last value in each bucket) for sorted timestamps."""
    keys = period_keys(ts, freq)
    last = np.flatnonzero(np.concatenate((keys[1:] != keys[:-1], [True])))
    return keys[last], values[last]


def period_returns(ts: np.ndarray, equity: np.ndarray, freq: str) -> np.ndarray:
    _, sampled = last_per_period(ts, equity, freq)
    sampled = sampled[~np.isnan(sampled)]
    if len(sampled) < 2:
        return np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sampled[1:] / sampled[:-1] - 1.0
    return r[~np.isnan(r)]


def drawdown_periods(dd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) bar indices of each drawdown: from the last bar at a peak to the recovery bar
    (or the last bar)."""
    at_peak = np.flatnonzero(dd == 0)
    if not len(at_peak) or at_peak[-1] != len(dd) - 1:
        at_peak = np.concatenate((at_peak, [len(dd) - 1]))
    gaps = np.flatnonzero(at_peak[1:] > at_peak[:-1] + 1)
    return at_peak[gaps], at_peak[gaps + 1]


class StatsContext:
    """What the statistics need from the bars alone, computed once and shared by every run on them
    (an optimiser evaluates hundreds of equity curves on the same bars)."""

    def __init__(self, ts: np.ndarray, close: np.ndarray) -> None:
        self.ts = ts
        self.close = close
        # Bars' timestamps are already ns: their integers are a view, not a copy
        self.ts_ns = (ts if ts.dtype == _NS else ts.astype(_NS)).view(np.int64)
        period = data_period_ns(self.ts_ns)
        self.resolution = _resolution_ns(period)
        days = self.ts_ns // NS_PER_DAY  # = period_keys(ts, "D"): datetime64[D] floors as // does
        self.per_year, self.freq = _periods_per_year(days, period)
        keys = days if self.freq == "D" else period_keys(ts, self.freq)
        # the last bar of each period: where the key changes next, and the last bar
        changes = np.flatnonzero(keys[1:] != keys[:-1])
        self.sample_index = np.empty(len(changes) + 1, dtype=np.intp)
        self.sample_index[:-1], self.sample_index[-1] = changes, len(keys) - 1
        self.start = to_datetime(ts[0])
        self.end = to_datetime(ts[-1])
        market = np.log(close[1:] / close[:-1])
        # market.mean() without its Python-level overhead (the same sum over the same count)
        self.market_centred = market - market.sum() / len(market) if len(market) else market
        self.market_ss = float(np.dot(self.market_centred, self.market_centred))


def compute_stats(
    ts: np.ndarray,
    close: np.ndarray,
    equity: np.ndarray,
    trades: TradeLog,
    first_trading_bar: int,
) -> dict[str, Any]:
    """All statistics of one run (see the module docstring for every formula)."""
    return stats_with(StatsContext(ts, close), equity, trades, first_trading_bar)


def stats_with(ctx: StatsContext, equity: np.ndarray, trades: TradeLog, first_trading_bar: int) -> dict[str, Any]:
    """``compute_stats`` with the per-bars work already done in ``ctx``."""
    # Undefined values come out NaN, never as a warning (see the module docstring): one errstate for
    # every ratio below (entering one costs more than some of the statistics).
    with np.errstate(divide="ignore", invalid="ignore"):
        return _stats(ctx, equity, trades, first_trading_bar)


def _stats(ctx: StatsContext, equity: np.ndarray, trades: TradeLog, first_trading_bar: int) -> dict[str, Any]:
    ts_ns, close, resolution = ctx.ts_ns, ctx.close, ctx.resolution
    n = len(equity)
    s: dict[str, Any] = {}
    s["start"] = ctx.start
    s["end"] = ctx.end
    s["duration"] = s["end"] - s["start"]

    s["exposure_time_pct"] = covered_bars(trades.entry_bar, trades.exit_bar) / n * 100
    s["equity_final"] = float(equity[-1])
    s["equity_peak"] = float(equity.max())
    s["commissions"] = float(trades.commission.sum())
    s["return_pct"] = float((equity[-1] - equity[0]) / equity[0] * 100)
    c0 = close[first_trading_bar]
    s["buy_hold_return_pct"] = float((close[-1] - c0) / c0 * 100)

    per_year = ctx.per_year
    sampled = equity[ctx.sample_index]
    sampled = sampled[~np.isnan(sampled)]
    if len(sampled) >= 2:
        r = sampled[1:] / sampled[:-1] - 1.0
        r = r[~np.isnan(r)]
    else:
        r = np.empty(0)
    g = geometric_mean(r)
    annual = (1 + g) ** per_year - 1
    s["return_ann_pct"] = annual * 100
    centred = r - r.sum() / len(r) if len(r) else r
    var = float(np.dot(centred, centred)) / (len(r) - 1) if len(r) > 1 else math.nan
    vol_sq = (var + (1 + g) ** 2) ** per_year - (1 + g) ** (2 * per_year)
    s["volatility_ann_pct"] = math.sqrt(vol_sq) * 100 if vol_sq >= 0 else math.nan
    years = (s["duration"].days + s["duration"].seconds / 86_400) / 365.25
    s["cagr_pct"] = ((s["equity_final"] / equity[0]) ** (1 / years) - 1) * 100 if years else math.nan
    s["sharpe_ratio"] = _nan_div(s["return_ann_pct"], s["volatility_ann_pct"])
    losses_only = np.minimum(r, 0.0)
    downside = math.sqrt(float(np.dot(losses_only, losses_only)) / len(r)) * math.sqrt(per_year) if len(r) else math.nan
    s["sortino_ratio"] = annual / downside if downside else (math.copysign(math.inf, annual) if annual else math.nan)
    peak = np.maximum.accumulate(equity)
    dd = 1 - equity / peak
    max_dd = float(np.fmax.reduce(dd)) if n else 0.0
    if math.isnan(max_dd):
        max_dd = 0.0
    s["calmar_ratio"] = _nan_div(annual, max_dd)
    gains, losses = float(np.maximum(r, 0).sum()), -float(losses_only.sum())
    s["omega_ratio"] = _nan_div(gains, losses) if len(r) else math.nan

    beta = math.nan
    if n > 2 and ctx.market_ss:
        eq_log = np.log(equity[1:] / equity[:-1])
        beta = float(np.dot(eq_log - eq_log.sum() / len(eq_log), ctx.market_centred) / ctx.market_ss)
    s["alpha_pct"] = s["return_pct"] - beta * s["buy_hold_return_pct"]
    s["beta"] = beta

    starts, ends = drawdown_periods(dd)
    s["max_drawdown_pct"] = -max_dd * 100
    if len(starts):
        bounds = np.empty(2 * len(starts), dtype=starts.dtype)  # start, end + 1, start, end + 1, ...
        bounds[0::2], bounds[1::2] = starts, ends + 1
        peaks = np.maximum.reduceat(np.concatenate((dd, [0.0])), bounds)[::2]
        durations = (ts_ns[ends] - ts_ns[starts]).astype(np.float64)
        s["avg_drawdown_pct"] = float(-peaks.sum() / len(peaks) * 100)
        s["max_drawdown_duration"] = _ceil_td(float(durations.max()), resolution)
        s["avg_drawdown_duration"] = _ceil_td(float(durations.sum()) / len(durations), resolution)
    else:
        s["avg_drawdown_pct"] = math.nan
        s["max_drawdown_duration"] = s["avg_drawdown_duration"] = None

    pl, rets = trades.pnl, trades.return_pct
    n_trades = len(trades)
    s["num_trades"] = n_trades
    win_rate = float(np.count_nonzero(pl > 0) / n_trades) if n_trades else math.nan
    s["win_rate_pct"] = win_rate * 100
    s["best_trade_pct"] = float(rets.max() * 100) if n_trades else math.nan
    s["worst_trade_pct"] = float(rets.min() * 100) if n_trades else math.nan
    s["avg_trade_pct"] = geometric_mean(rets) * 100
    trade_ns = (ts_ns[trades.exit_bar] - ts_ns[trades.entry_bar]).astype(np.float64)
    s["max_trade_duration"] = _ceil_td(float(trade_ns.max()), resolution) if n_trades else None
    s["avg_trade_duration"] = _ceil_td(float(trade_ns.sum()) / n_trades, resolution) if n_trades else None
    s["profit_factor"] = _nan_div(float(rets[rets > 0].sum()), abs(float(rets[rets < 0].sum())))
    s["expectancy_pct"] = float(rets.sum()) / n_trades * 100 if n_trades else math.nan
    if n_trades > 1:
        pl_centred = pl - pl.sum() / n_trades
        pl_std = math.sqrt(float(np.dot(pl_centred, pl_centred)) / (n_trades - 1))
    else:
        pl_std = math.nan
    s["sqn"] = math.sqrt(n_trades) * (float(pl.sum()) / n_trades) / pl_std if n_trades > 1 and pl_std else math.nan
    wins, loss = pl[pl > 0], pl[pl < 0]
    if n_trades and len(wins) and len(loss):
        s["kelly_criterion"] = win_rate - (1 - win_rate) / (
            (float(wins.sum()) / len(wins)) / (-float(loss.sum()) / len(loss))
        )
    else:
        s["kelly_criterion"] = math.nan
    return {key: s[key] for key in STAT_KEYS}


def returns_table(ts: np.ndarray, equity: np.ndarray, freq: str, initial: float) -> list[tuple[str, float]]:
    """Return (%) of each calendar month ("M") or year ("Y"): last equity of the period over the
    previous period's last equity (the starting cash for the first); NaN after a period that ended
    with no equity left (a ruined account has no return to speak of)."""
    keys, last = last_per_period(ts, equity, freq)
    prev = np.concatenate(([initial], last[:-1]))
    unit = "datetime64[M]" if freq == "M" else "datetime64[Y]"
    labels = np.datetime_as_string(keys.astype(unit))
    ratio = np.full(len(last), np.nan)
    np.divide(last, prev, out=ratio, where=prev > 0)
    pct = ((ratio - 1) * 100).tolist()
    return list(zip(labels.tolist(), pct, strict=True))


def monthly_and_yearly_returns(
    ts: np.ndarray, equity: np.ndarray, initial: float
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """``returns_table`` for "M" and for "Y" at once (the same buckets, the same numbers): the last
    bar of each calendar month is found by searching the month starts among the sorted days, and
    each year's last bar is its last month's."""
    days = ts.astype("datetime64[D]")
    months = np.arange(days[0].astype("datetime64[M]"), days[-1].astype("datetime64[M]") + 1)
    ends = np.searchsorted(days, (months + 1).astype("datetime64[D]"), side="left") - 1
    has_bars = np.concatenate(([True], ends[1:] != ends[:-1]))  # a month without bars repeats the previous end
    month_keys, month_last = months[has_bars].astype(np.int64), ends[has_bars]
    year_keys = month_keys // 12
    year_end = np.concatenate((year_keys[1:] != year_keys[:-1], [True]))
    out = []
    for keys, last, label in (
        (month_keys, month_last, _month_labels),
        (year_keys[year_end], month_last[year_end], _year_labels),
    ):
        values = equity[last]
        prev = np.concatenate(([initial], values[:-1]))
        ratio = np.full(len(values), np.nan)
        np.divide(values, prev, out=ratio, where=prev > 0)
        pct = ((ratio - 1) * 100).tolist()
        out.append(list(zip(label(keys), pct, strict=True)))
    return out[0], out[1]


_MONTHS = tuple(f"{m:02d}" for m in range(1, 13))


#: Labels of the years (and their months) most data fall in, formatted once: a lookup is ~10x cheaper
#: than formatting each label of each result.
_TABLE_YEARS = range(1900, 2200)


@functools.cache
def _label_tables() -> tuple[tuple[str, ...], tuple[str, ...]]:
    years = tuple(f"{y:04d}" for y in _TABLE_YEARS)
    return years, tuple(f"{y}-{m}" for y in years for m in _MONTHS)


def _in_tables(year_keys: np.ndarray) -> bool:
    first = _TABLE_YEARS.start - 1970
    return bool(year_keys.min() >= first and year_keys.max() < _TABLE_YEARS.stop - 1970)


def _month_labels(keys: np.ndarray) -> list[str]:
    """``YYYY-MM`` of months counted from 1970-01 (numpy's formatting outside years 1..9999)."""
    years, months = np.divmod(keys, 12)
    if len(keys) and _in_tables(years):
        table = _label_tables()[1]
        return [table[k] for k in (keys - (_TABLE_YEARS.start - 1970) * 12).tolist()]
    if len(keys) and (years.min() <= -1970 or years.max() >= 8030):
        return [str(label) for label in np.datetime_as_string(keys.astype("datetime64[M]"))]
    return [f"{y:04d}-{_MONTHS[m]}" for y, m in zip((years + 1970).tolist(), months.tolist(), strict=True)]


def _year_labels(keys: np.ndarray) -> list[str]:
    """``YYYY`` of years counted from 1970."""
    if len(keys) and _in_tables(keys):
        table = _label_tables()[0]
        return [table[k] for k in (keys - (_TABLE_YEARS.start - 1970)).tolist()]
    if len(keys) and (keys.min() <= -1970 or keys.max() >= 8030):
        return [str(label) for label in np.datetime_as_string(keys.astype("datetime64[Y]"))]
    return [f"{y:04d}" for y in (keys + 1970).tolist()]
