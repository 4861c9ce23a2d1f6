"""``generate``: SYNTHETIC OHLCV bars of any symbol, with their ground-truth regimes."""

from __future__ import annotations

from typing import NoReturn

import attrs
import numpy as np

from gpt_trader_core.data.resample import (
    TimeBound,
    describe_time,
    floor_timestamps,
    parse_time_bound,
    resample,
)
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.market_sim._paths import (
    EPOCH,
    BarArrays,
    daily_bars,
    daily_path,
    intraday_bars,
    trading_day_index,
)
from gpt_trader_core.market_sim.regimes import REGIMES

#: The last day the generator serves (bars beyond it would only cost memory).
LAST_DAY = np.datetime64("2099-12-31", "D")
#: The most bars one call may produce (about 13 years of 1m bars).
MAX_BARS = 5_000_000
_NS_PER_DAY = 86_400 * 10**9
#: Timeframes built by aggregating daily bars (the others are daily or derived from each day's bar).
_AGGREGATED = ("1w", "1mo")


def _as_regimes(values: object) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int8)
    array.setflags(write=False)
    return array


@attrs.frozen(eq=False)
class SyntheticMarket:
    """SYNTHETIC bars and the regime that generated each bar (the ground truth for regime detection).

    ``regimes[i]`` is the index into ``REGIMES`` of the regime of ``bars`` row ``i``: intraday bars carry
    their day's regime, weekly and monthly bars the regime of their last trading day.
    """

    bars: Bars
    regimes: np.ndarray = attrs.field(converter=_as_regimes)

    def __attrs_post_init__(self) -> None:
        if len(self.regimes) != len(self.bars):
            raise InvalidParameterError(
                f"{self.bars.symbol}: {len(self.regimes)} regimes for {len(self.bars)} bars; give one per bar"
            )

    def regime_names(self) -> list[str]:
        """The regime name of each bar, e.g. ``["bull_quiet", "bull_quiet", ...]``."""
        return [REGIMES[i] for i in self.regimes.tolist()]


def _day(value: np.datetime64) -> np.datetime64:
    day: np.datetime64 = value.astype("datetime64[D]")
    return day


def _validate(symbol: str, seed: int, timeframe: str) -> None:
    normalize_symbol(symbol)  # the one symbol rule (the bars keep the symbol as given)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InvalidParameterError(f"seed must be an integer such as 0 or 42, not {seed!r}")
    if timeframe not in TIMEFRAMES:
        raise InvalidParameterError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")


def generate(symbol: str, start: TimeBound, end: TimeBound, timeframe: str = "1d", seed: int = 0) -> SyntheticMarket:
    """SYNTHETIC — not market data — OHLCV bars of ``symbol`` with ``start <= timestamp <= end``.

    A regime-switching random walk (see ``gpt_trader_core.market_sim.regimes``) with Student-t shocks,
    overnight gaps, Brownian-bridge highs and lows and volume that rises with volatility and big moves.
    Daily bars exist Monday to Friday, stamped at midnight; intraday bars cover the whole day (00:00 to
    24:00 UTC) and aggregate exactly to their daily bar; weekly bars (stamped Monday) and monthly bars
    (stamped on the 1st) aggregate whole weeks/months of daily bars. Paths start on 1990-01-01 (earlier
    starts are clipped) and end by 2099-12-31.

    ``start``/``end`` are datetimes (exact), dates or ISO strings (a date-only ``end`` includes that
    whole day). The result is a pure function of ``(symbol, seed, timeframe)`` and the timestamp: the same
    call gives bit-identical bars, and overlapping ranges agree bar for bar. The bars are marked
    ``synthetic=True`` with ``source="synthetic(seed=...)"``.
    """
    _validate(symbol, seed, timeframe)
    lo, hi = _bounds(start, end)
    seed = int(seed)
    if timeframe in _AGGREGATED:
        return _aggregated(symbol, seed, lo, hi, timeframe)
    first = trading_day_index(_day(lo), after=True)
    stop = trading_day_index(_day(hi), after=False)
    bars_per_day = int(np.timedelta64(1, "D") // TIMEFRAMES[timeframe])
    if (stop - first) * bars_per_day > MAX_BARS:
        count = (stop - first) * bars_per_day
        raise InvalidParameterError(
            f"{symbol}: {describe_time(lo)} to {describe_time(hi)} at {timeframe} would be {count:,} bars, "
            f"more than {MAX_BARS:,}; narrow the range or use a coarser timeframe"
        )
    if stop <= first:
        _no_bars(symbol, timeframe, lo, hi)
    path = daily_path(symbol, seed, stop)
    if bars_per_day == 1:
        arrays = daily_bars(path, first, stop)
    else:
        arrays = intraday_bars(path, first, stop, bars_per_day, symbol, seed, timeframe)
    keep = np.flatnonzero((arrays.timestamps >= lo) & (arrays.timestamps <= hi))
    if keep.size == 0:
        _no_bars(symbol, timeframe, lo, hi)
    rows = slice(int(keep[0]), int(keep[-1]) + 1)
    return SyntheticMarket(bars=_bars(arrays, rows, symbol, timeframe, seed), regimes=path.regimes[arrays.day[rows]])


def _bars(arrays: BarArrays, rows: slice, symbol: str, timeframe: str, seed: int) -> Bars:
    return Bars(
        timestamps=arrays.timestamps[rows],
        open=arrays.open[rows],
        high=arrays.high[rows],
        low=arrays.low[rows],
        close=arrays.close[rows],
        volume=arrays.volume[rows],
        symbol=symbol,
        timeframe=timeframe,
        source=f"synthetic(seed={seed})",
        synthetic=True,
    )


def _bounds(start: TimeBound, end: TimeBound) -> tuple[np.datetime64, np.datetime64]:
    lo = parse_time_bound(start, end=False)
    hi = parse_time_bound(end, end=True)
    if lo is None or hi is None:
        raise InvalidParameterError("start and end are required; give dates such as 2020-01-01 and 2020-12-31")
    if hi < lo:
        raise InvalidParameterError(
            f"end ({describe_time(hi)}) is before start ({describe_time(lo)}); swap them or move end later"
        )
    if _day(hi) < EPOCH:
        raise InvalidParameterError(f"synthetic data start on {EPOCH}; ask for an end on or after {EPOCH}")
    if _day(hi) > LAST_DAY:
        raise InvalidParameterError(f"synthetic data end on {LAST_DAY}; ask for an end on or before {LAST_DAY}")
    return max(lo, EPOCH.astype("datetime64[ns]")), hi


def _no_bars(symbol: str, timeframe: str, lo: np.datetime64, hi: np.datetime64) -> NoReturn:
    stamps = {"1w": "stamped on Mondays", "1mo": "stamped on the 1st of the month"}
    stamp = stamps.get(timeframe, "on Mondays to Fridays only")
    raise InvalidParameterError(
        f"{symbol}: no synthetic {timeframe} bars between {describe_time(lo)} and {describe_time(hi)} "
        f"(bars exist {stamp}); widen the range"
    )


def _aggregated(symbol: str, seed: int, lo: np.datetime64, hi: np.datetime64, timeframe: str) -> SyntheticMarket:
    """Weekly/monthly bars aggregate whole weeks/months of the daily path, whatever the range cuts off."""
    first_bucket = floor_timestamps(np.array([lo]), timeframe)[0]
    last_bucket = floor_timestamps(np.array([hi]), timeframe)[0]
    if timeframe == "1w":
        last_day = _day(last_bucket) + np.timedelta64(6, "D")
    else:
        last_day = (last_bucket.astype("datetime64[M]") + np.timedelta64(1, "M")).astype("datetime64[D]") - 1
    first = trading_day_index(_day(first_bucket), after=True)
    stop = trading_day_index(last_day, after=False)
    path = daily_path(symbol, seed, stop)
    daily = _bars(daily_bars(path, first, stop), slice(None), symbol, "1d", seed)
    aggregated = resample(daily, timeframe)
    last_day_of_bucket = np.searchsorted(daily.timestamps, aggregated.timestamps, side="left")[1:] - 1
    regimes = path.regimes[first:stop][np.concatenate((last_day_of_bucket, [len(daily) - 1]))]
    inside = np.flatnonzero((aggregated.timestamps >= lo) & (aggregated.timestamps <= hi))
    if inside.size == 0:
        _no_bars(symbol, timeframe, lo, hi)
    rows = slice(int(inside[0]), int(inside[-1]) + 1)
    return SyntheticMarket(bars=aggregated.slice(rows.start, rows.stop), regimes=regimes[rows])
