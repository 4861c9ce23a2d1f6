"""Aggregate bars to a coarser timeframe, and turn user-given time bounds into ``datetime64[ns]``.

Pure numpy. Buckets are aligned to the Unix epoch (UTC): intraday buckets start at multiples of their
length since midnight (``4h`` buckets start at 00:00, 04:00, ...), daily buckets are calendar days and
weekly buckets run Monday 00:00 to Sunday 24:00 ("weeks ending Sunday") and monthly (``1mo``) buckets are
calendar months. Every aggregated bar is stamped with the *start* of its bucket — the same convention as
``1d`` bars stamped at midnight of their day.
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.errors import InvalidParameterError

__all__ = ["TimeBound", "describe_time", "floor_timestamps", "parse_time_bound", "resample"]

_NS_PER_DAY = 86_400 * 10**9
#: 1970-01-01 was a Thursday: ``(days_since_epoch + 3) % 7`` is the weekday with Monday = 0.
_EPOCH_WEEKDAY = 3

#: What callers may pass as a time bound: a datetime (exact), a date or an ISO date string (the whole day).
TimeBound = dt.datetime | dt.date | str | np.datetime64


def _check_timeframe(timeframe: str) -> np.timedelta64:
    if timeframe not in TIMEFRAMES:
        raise InvalidParameterError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    return TIMEFRAMES[timeframe]


def floor_timestamps(timestamps: np.ndarray, timeframe: str) -> np.ndarray:
    """The start of the ``timeframe`` bucket that holds each timestamp (``datetime64[ns]``)."""
    _check_timeframe(timeframe)
    ns = np.asarray(timestamps, dtype="datetime64[ns]").view(np.int64)
    if timeframe == "1mo":
        return ns.view("datetime64[ns]").astype("datetime64[M]").astype("datetime64[ns]")
    if timeframe == "1w":
        days = ns // _NS_PER_DAY
        monday = days - (days + _EPOCH_WEEKDAY) % 7
        floored = monday * _NS_PER_DAY
    else:
        step = int(TIMEFRAMES[timeframe] / np.timedelta64(1, "ns"))
        floored = ns // step * step
    return floored.view("datetime64[ns]")


def resample(bars: Bars, timeframe: str) -> Bars:
    """``bars`` aggregated to the coarser ``timeframe``.

    Each bucket gives one bar: the first open, the highest high, the lowest low, the last close and the
    summed volume, stamped with the bucket start (see the module docstring). Buckets without bars are
    skipped (no forward filling). Asking for the bars' own timeframe returns ``bars`` unchanged; asking
    for a finer one raises ``InvalidParameterError`` — bars cannot be split — and so does ``1w`` → ``1mo``
    (weeks straddle months).
    """
    target = _check_timeframe(timeframe)
    own = TIMEFRAMES[bars.timeframe]
    if timeframe == bars.timeframe:
        return bars
    if target < own:
        raise InvalidParameterError(
            f"{bars.symbol}: cannot resample {bars.timeframe} bars to the finer timeframe {timeframe}; "
            f"ask for {bars.timeframe} or a coarser timeframe"
        )
    if bars.timeframe == "1w" and timeframe == "1mo":
        raise InvalidParameterError(
            f"{bars.symbol}: weekly bars cannot be aggregated to months (weeks straddle months); resample "
            "daily or finer bars to 1mo instead"
        )
    keys = floor_timestamps(bars.timestamps, timeframe).view(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.concatenate((starts[1:], [len(keys)])) - 1
    return attrs.evolve(
        bars,
        timestamps=keys[starts].view("datetime64[ns]"),
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends],
        volume=np.add.reduceat(bars.volume, starts),
        timeframe=timeframe,
    )


def parse_time_bound(value: TimeBound | None, *, end: bool, name: str | None = None) -> np.datetime64 | None:
    """A history bound as ``datetime64[ns]`` (naive UTC); ``None`` stays ``None``.

    A ``datetime`` (or an ISO string with a time) is exact; timezone-aware values are converted to UTC.
    A ``date`` (or a ``YYYY-MM-DD`` string) means the whole day: as a start its midnight, as an end its
    last nanosecond — so ``end="2024-12-31"`` includes that day's intraday bars.
    """
    label = name or ("end" if end else "start")
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InvalidParameterError(f"{label} is NaT; give a date such as 2024-01-31")
        exact: np.datetime64 = value.astype("datetime64[ns]")
        return exact
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed: dt.date = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidParameterError(
                f"{label} {value!r} is not an ISO date; write it like 2024-01-31 or 2024-01-31T15:30:00"
            ) from None
        return parse_time_bound(parsed, end=end, name=name)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    if isinstance(value, dt.date):
        day: np.datetime64 = np.datetime64(value, "D").astype("datetime64[ns]")
        return day + np.timedelta64(_NS_PER_DAY - 1, "ns") if end else day
    raise InvalidParameterError(f"{label} must be a datetime, a date or an ISO date string, not {type(value).__name__}")


def describe_time(value: np.datetime64) -> str:
    """A bound or timestamp for messages: ``2024-01-31`` for a midnight or a whole-day end, else seconds."""
    ns = int(value.astype("datetime64[ns]").astype(np.int64))
    if ns % _NS_PER_DAY in (0, _NS_PER_DAY - 1):
        return str(np.datetime_as_string(value, unit="D"))
    return str(np.datetime_as_string(value, unit="s")).replace("T", " ")
