"""The core's ``resample``/``floor_timestamps``/``parse_time_bound``: bucket arithmetic and aggregation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.data.resample import floor_timestamps, parse_time_bound, resample
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.errors import InvalidParameterError

_SOURCE_TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"]


def _random_bars(seed: int, n: int, timeframe: str) -> Bars:
    """Valid bars at ``timeframe`` with random gaps (so some buckets are empty), from 1965 to 2035."""
    rng = np.random.default_rng(seed)
    step = int(TIMEFRAMES[timeframe] / np.timedelta64(1, "ns"))
    start_bucket = int(rng.integers(-5 * 365 * 86_400 * 10**9, 65 * 365 * 86_400 * 10**9) // step)
    gaps = rng.choice([1, 1, 1, 2, 3, 7, 50], size=n)
    stamps = ((start_bucket + np.cumsum(gaps)) * step).view("datetime64[ns]")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + rng.random(n) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(n) * 0.01)
    volume = rng.integers(0, 10_000, n).astype(float)
    return Bars(stamps, open_, high, low, close, volume, symbol="RND", timeframe=timeframe, source="test")


def _reference(bars: Bars, timeframe: str) -> dict[np.datetime64, tuple[float, float, float, float, float]]:
    """Per-bucket aggregates computed the slow, obvious way (Python datetimes)."""
    out: dict[np.datetime64, tuple[float, float, float, float, float]] = {}
    for i, stamp in enumerate(bars.timestamps):
        moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(stamp.astype("datetime64[us]").astype(int)))
        if timeframe == "1mo":
            key = dt.datetime(moment.year, moment.month, 1)
        elif timeframe == "1w":
            key = dt.datetime.combine(moment.date() - dt.timedelta(days=moment.weekday()), dt.time())
        elif timeframe == "1d":
            key = dt.datetime.combine(moment.date(), dt.time())
        else:
            minutes = int(TIMEFRAMES[timeframe] / np.timedelta64(1, "m"))
            since_midnight = moment.hour * 60 + moment.minute
            key = dt.datetime.combine(moment.date(), dt.time()) + dt.timedelta(
                minutes=since_midnight // minutes * minutes
            )
        bucket = np.datetime64(key, "ns")
        o, h, lo, _, v = out.get(bucket, (bars.open[i], -np.inf, np.inf, 0.0, 0.0))
        out[bucket] = (o, max(h, bars.high[i]), min(lo, bars.low[i]), bars.close[i], v + bars.volume[i])
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    source=st.sampled_from(_SOURCE_TIMEFRAMES),
    data=st.data(),
)
def test_aggregates_keep_first_open_last_close_extremes_and_volume(
    seed: int, n: int, source: str, data: st.DataObject
) -> None:
    bars = _random_bars(seed, n, source)
    coarser = [tf for tf in TIMEFRAMES if TIMEFRAMES[tf] > TIMEFRAMES[source]]
    target = data.draw(st.sampled_from(coarser))

    out = resample(bars, target)

    expected = _reference(bars, target)
    assert out.timeframe == target
    assert list(out.timestamps) == sorted(expected)
    got = np.column_stack([out.open, out.high, out.low, out.close])
    want = np.array([expected[key][:4] for key in sorted(expected)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(out.volume, [expected[key][4] for key in sorted(expected)], rtol=1e-12)
    assert out.volume.sum() == pytest.approx(bars.volume.sum())
    assert (out.symbol, out.source, out.synthetic) == (bars.symbol, bars.source, bars.synthetic)


def test_weekly_buckets_run_monday_to_sunday_and_are_stamped_monday() -> None:
    days = np.array(["2024-01-07", "2024-01-08", "2024-01-14", "2024-01-15"], dtype="datetime64[ns]")  # Su Mo Su Mo
    bars = Bars(days, [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 1, 1, 1], timeframe="1d")

    weekly = resample(bars, "1w")

    assert [str(t)[:10] for t in weekly.timestamps] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert list(weekly.open) == [1, 2, 4]
    assert list(weekly.close) == [1, 3, 4]
    assert list(weekly.volume) == [1, 2, 1]


def test_monthly_buckets_are_calendar_months() -> None:
    days = np.array(["2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01"], dtype="datetime64[ns]")
    bars = Bars(days, [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 1, 1, 1], timeframe="1d")

    monthly = resample(bars, "1mo")

    assert [str(t)[:10] for t in monthly.timestamps] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert list(monthly.high) == [1, 3, 4]


def test_floor_aligns_to_the_epoch_also_before_1970() -> None:
    stamps = np.array(["1969-12-31T23:59", "1970-01-01T05:00", "2024-03-05T13:37"], dtype="datetime64[ns]")

    assert [str(t)[:16] for t in floor_timestamps(stamps, "4h")] == [
        "1969-12-31T20:00",
        "1970-01-01T04:00",
        "2024-03-05T12:00",
    ]
    # 1969-12-31 was a Wednesday, 2024-03-05 a Tuesday.
    assert [str(t)[:10] for t in floor_timestamps(stamps, "1w")] == ["1969-12-29", "1969-12-29", "2024-03-04"]


def test_same_timeframe_returns_the_bars_unchanged() -> None:
    bars = _random_bars(1, 10, "1h")
    assert resample(bars, "1h") is bars


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("1d", "1h", "cannot resample 1d bars to the finer timeframe 1h"),
        ("1w", "1mo", "weekly bars cannot be aggregated to months"),
        ("1d", "2d", "unknown timeframe '2d'; use one of 1m"),
    ],
)
def test_refusals_say_why(source: str, target: str, message: str) -> None:
    bars = _random_bars(2, 10, source)
    with pytest.raises(InvalidParameterError, match=message):
        resample(bars, target)


def test_time_bounds() -> None:
    assert parse_time_bound(None, end=True) is None
    assert parse_time_bound("2024-01-31", end=False) == np.datetime64("2024-01-31T00:00", "ns")
    assert parse_time_bound("2024-01-31", end=True) == np.datetime64("2024-01-31T23:59:59.999999999", "ns")
    assert parse_time_bound(dt.date(2024, 1, 31), end=True) == np.datetime64("2024-01-31T23:59:59.999999999")
    assert parse_time_bound("2024-01-31T10:00", end=True) == np.datetime64("2024-01-31T10:00", "ns")
    aware = dt.datetime(2024, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_time_bound(aware, end=False) == np.datetime64("2024-01-31T08:00", "ns")
    assert parse_time_bound("2024-01-31T10:00+02:00", end=False) == np.datetime64("2024-01-31T08:00", "ns")
    assert parse_time_bound(np.datetime64("2024-01-31"), end=False) == np.datetime64("2024-01-31", "ns")
    with pytest.raises(InvalidParameterError, match="start '31/01/2024' is not an ISO date"):
        parse_time_bound("31/01/2024", end=False)
    with pytest.raises(InvalidParameterError, match="end must be a datetime, a date or an ISO date string"):
        parse_time_bound(20240131, end=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="start is NaT"):
        parse_time_bound(np.datetime64("NaT"), end=False)
