"""Price paths of the SYNTHETIC market: the daily path from the epoch, and intraday bars derived from it."""

from __future__ import annotations

import math

import attrs
import numpy as np

from gpt_trader_core.market_sim._rng import rng_for, unit_from
from gpt_trader_core.market_sim.regimes import DRIFTS, VOLS, sample_regimes

#: Day 0 of every daily path (a Monday). Bars before it do not exist.
EPOCH = np.datetime64("1990-01-01", "D")
_TRADING_DAYS = 252.0
ANCHOR = np.datetime64("2015-01-01", "D")
_BLOCK = 256  # trading days per random block: day i only ever uses draws of block i // 256
_T_DF = 5.0  # Student-t degrees of freedom of daily returns (excess kurtosis 6)
_T_SCALE = math.sqrt((_T_DF - 2.0) / _T_DF)  # makes the t draws unit-variance
_GAP_SHARE = 0.2  # overnight gap std as a share of the day's volatility
_REF_VOL = 0.15
_MIN_DAILY_VOLUME = 20_000.0
_NS_PER_DAY = 86_400 * 10**9


@attrs.frozen(eq=False)
class DailyPath:
    """Trading days ``0 .. n-1`` since ``EPOCH`` (weekdays only): prices, volumes and regime per day."""

    days: np.ndarray  # datetime64[D] of each trading day
    regimes: np.ndarray  # int8
    sigma: np.ndarray  # the day's volatility (std of the daily log return)
    log_open: np.ndarray
    log_high: np.ndarray
    log_low: np.ndarray
    log_close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def trading_day_index(day: np.datetime64, *, after: bool) -> int:
    """Index of the first trading day on/after ``day`` (``after=True``) or one past the last on/before it."""
    offset = int((day.astype("datetime64[D]") - EPOCH).astype(np.int64))
    weeks, weekday = divmod(offset, 7)
    return weeks * 5 + min(weekday, 5) if after else weeks * 5 + min(weekday + 1, 5)


_ANCHOR_INDEX = trading_day_index(ANCHOR, after=True)


def trading_days(first: int, stop: int) -> np.ndarray:
    """``datetime64[D]`` of trading days ``first .. stop-1`` (Monday to Friday from ``EPOCH``)."""
    index = np.arange(first, stop, dtype=np.int64)
    return EPOCH + (index // 5 * 7 + index % 5).astype("timedelta64[D]")


def daily_path(symbol: str, seed: int, n_days: int) -> DailyPath:
    """The first ``n_days`` trading days of the path of ``(symbol, seed)``; a prefix of any longer path.

    Prices are anchored so that the close on the first trading day of ``ANCHOR`` (2015) is the
    symbol's start price (20..500): decades of drift from the 1990 epoch would otherwise leave
    present-day prices far from anything a stock trades at. The path is generated at least up to the
    anchor so every prefix agrees.
    """
    wanted = n_days
    n_days = max(n_days, _ANCHOR_INDEX + 1)
    stream = (symbol, seed)
    regimes = sample_regimes(n_days, *stream)
    n_blocks = -(-n_days // _BLOCK)
    draws = np.empty((5, n_blocks * _BLOCK))
    for block in range(n_blocks):
        rng = rng_for(*stream, "daily", block)
        part = slice(block * _BLOCK, (block + 1) * _BLOCK)
        draws[0, part] = rng.standard_t(_T_DF, _BLOCK) * _T_SCALE  # return shocks
        draws[1, part] = rng.standard_normal(_BLOCK)  # overnight gaps
        draws[2:4, part] = rng.random((2, _BLOCK))  # where the high and the low fall
        draws[4, part] = rng.standard_normal(_BLOCK)  # volume noise
    shock, gap_noise, u_high, u_low, volume_noise = draws[:, :n_days]

    sigma = VOLS[regimes] / math.sqrt(_TRADING_DAYS)
    drift = DRIFTS[regimes] / _TRADING_DAYS
    log_return = drift - 0.5 * sigma**2 + sigma * shock
    start_price = 20.0 * 25.0 ** unit_from(symbol, seed, "start-price")  # 20 .. 500, log-uniform
    cumulative = np.cumsum(log_return)
    log_close = math.log(start_price) + cumulative - cumulative[_ANCHOR_INDEX]
    previous_close = np.concatenate(([log_close[0] - log_return[0]], log_close[:-1]))
    gap = _GAP_SHARE * sigma * gap_noise
    log_open = previous_close + gap
    # High and low: the extremes of a Brownian bridge from open to close with the day's volatility
    # (exact inverse CDF), so wide ranges come with volatile days and big moves.
    span = (log_open - log_close) ** 2
    mid = log_open + log_close
    log_high = 0.5 * (mid + np.sqrt(span - 2.0 * sigma**2 * np.log1p(-u_high)))
    log_low = 0.5 * (mid - np.sqrt(span - 2.0 * sigma**2 * np.log1p(-u_low)))

    open_ = np.exp(log_open)
    close = np.exp(log_close)
    high = np.maximum(np.exp(log_high), np.maximum(open_, close))
    low = np.minimum(np.exp(log_low), np.minimum(open_, close))
    base_volume = 2e5 * 100.0 ** unit_from(symbol, seed, "volume")  # 200k .. 20M shares a day
    log_volume = (
        np.log(VOLS[regimes] / _REF_VOL) + 0.35 * np.abs(shock) + 0.25 * volume_noise - 0.35 * math.sqrt(2.0 / math.pi)
    )
    volume = np.maximum(np.rint(base_volume * np.exp(log_volume)), _MIN_DAILY_VOLUME)
    keep = slice(0, wanted)
    return DailyPath(
        days=trading_days(0, wanted),
        regimes=regimes[keep],
        sigma=sigma[keep],
        log_open=log_open[keep],
        log_high=log_high[keep],
        log_low=log_low[keep],
        log_close=log_close[keep],
        open=open_[keep],
        high=high[keep],
        low=low[keep],
        close=close[keep],
        volume=volume[keep],
    )


@attrs.frozen(eq=False)
class BarArrays:
    """Columns of generated bars; ``day`` is each bar's trading-day index (into the daily path)."""

    timestamps: np.ndarray  # datetime64[ns]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    day: np.ndarray


def daily_bars(path: DailyPath, first: int, stop: int) -> BarArrays:
    """Trading days ``first .. stop-1`` of ``path`` as bars stamped at midnight."""
    days = slice(first, stop)
    return BarArrays(
        timestamps=path.days[days].astype("datetime64[ns]"),
        open=path.open[days],
        high=path.high[days],
        low=path.low[days],
        close=path.close[days],
        volume=path.volume[days],
        day=np.arange(first, stop),
    )


def intraday_bars(
    path: DailyPath, first: int, stop: int, bars_per_day: int, symbol: str, seed: int, timeframe: str
) -> BarArrays:
    """``bars_per_day`` bars covering each whole trading day ``first .. stop-1`` (00:00 to 24:00 UTC).

    Each day is a Brownian bridge from the day's open to its close pinned to touch the day's high and low
    (at random times) and clipped inside them, so the bars of a day aggregate exactly to its daily bar:
    first open, last close, max high, min low and (integer) volumes that sum to the daily volume.
    """
    k = bars_per_day
    n = stop - first
    increments = np.empty((n, k))
    wicks = np.empty((n, 2, k))
    volume_noise = np.empty((n, k))
    anchors = np.empty((n, 2), dtype=np.int64)
    for row, day in enumerate(range(first, stop)):
        rng = rng_for(symbol, seed, "intraday", timeframe, day)
        increments[row] = rng.standard_normal(k)
        wicks[row] = np.abs(rng.standard_normal((2, k)))
        volume_noise[row] = rng.standard_normal(k)
        anchors[row] = rng.choice(k - 1, size=2, replace=False) + 1  # bar boundaries 1 .. k-1
    days = slice(first, stop)
    sigma = path.sigma[days][:, None]
    step = sigma / math.sqrt(k)
    walk = np.zeros((n, k + 1))
    np.cumsum(0.8 * step * increments, axis=1, out=walk[:, 1:])

    is_high_first = anchors[:, 0] < anchors[:, 1]
    log_high, log_low = path.log_high[days], path.log_low[days]
    positions = np.stack([np.zeros(n), anchors.min(axis=1), anchors.max(axis=1), np.full(n, k)], axis=1).astype(
        np.int64
    )
    values = np.stack(
        [
            path.log_open[days],
            np.where(is_high_first, log_high, log_low),
            np.where(is_high_first, log_low, log_high),
            path.log_close[days],
        ],
        axis=1,
    )
    # Piecewise-linear interpolation through the four anchors, plus the walk minus its own interpolation:
    # a Brownian bridge between consecutive anchors.
    j = np.arange(k + 1)[None, :]
    segment = (j >= positions[:, 1:2]).astype(np.int64) + (j >= positions[:, 2:3])
    rows = np.arange(n)[:, None]
    left, right = positions[rows, segment], positions[rows, segment + 1]
    weight = (j - left) / (right - left)
    line = values[rows, segment] * (1 - weight) + values[rows, segment + 1] * weight
    walk_line = walk[rows, left] * (1 - weight) + walk[rows, right] * weight
    # Fold (reflect) the bridge into [low, high]: bars stay inside the day's range without flat plateaus.
    floor, width = log_low[:, None], np.maximum(log_high - log_low, 1e-12)[:, None]
    folded = np.mod(line + walk - walk_line - floor, 2.0 * width)
    log_path = floor + np.where(folded > width, 2.0 * width - folded, folded)

    high, low = path.high[days][:, None], path.low[days][:, None]
    prices = np.clip(np.exp(log_path), low, high)
    prices[:, 0] = path.open[days]
    prices[:, k] = path.close[days]
    prices[np.arange(n), np.where(is_high_first, positions[:, 1], positions[:, 2])] = path.high[days]
    prices[np.arange(n), np.where(is_high_first, positions[:, 2], positions[:, 1])] = path.low[days]
    bar_open, bar_close = prices[:, :-1], prices[:, 1:]
    bar_high = np.minimum(np.maximum(bar_open, bar_close) * np.exp(0.5 * step * wicks[:, 0]), high)
    bar_low = np.maximum(np.minimum(bar_open, bar_close) * np.exp(-0.5 * step * wicks[:, 1]), low)

    # Volume: a U-shaped day profile, more on big bars, noise; integers summing to the daily volume
    # (one share per bar first, then largest-remainder rounding of the rest).
    clock = (np.arange(k) + 0.5) / k
    profile = 1.0 + 1.5 * (2.0 * clock - 1.0) ** 2
    move = np.abs(np.log(bar_close / bar_open)) / step
    weights = profile * (1.0 + move) * np.exp(0.3 * volume_noise)
    rest = (path.volume[days] - k)[:, None]
    share = rest * weights / weights.sum(axis=1, keepdims=True)
    volume = np.floor(share)
    missing = (rest[:, 0] - volume.sum(axis=1)).astype(np.int64)
    rank = np.argsort(np.argsort(volume - share, axis=1, kind="stable"), axis=1, kind="stable")
    volume += rank < missing[:, None]
    volume += 1.0

    stamps = (
        path.days[days].astype("datetime64[ns]")[:, None]
        + (np.arange(k, dtype=np.int64) * (_NS_PER_DAY // k)).astype("timedelta64[ns]")[None, :]
    )
    return BarArrays(
        timestamps=stamps.ravel(),
        open=bar_open.ravel(),
        high=bar_high.ravel(),
        low=bar_low.ravel(),
        close=bar_close.ravel(),
        volume=volume.ravel(),
        day=np.repeat(np.arange(first, stop), k),
    )
