"""Cheaper statistics helpers equal what they replace: both returns tables at once, the median."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gpt_trader_core.backtesting.stats import (
    _month_labels,
    _year_labels,
    median,
    monthly_and_yearly_returns,
    returns_table,
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 2000),
    st.integers(-20_000, 40_000),
    st.sampled_from([1, 60, 24 * 60, 24 * 60 * 7, 24 * 60 * 31]),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_both_tables_at_once_equal_each_table(n: int, start_day: int, step: int, seed: int, ruin: bool) -> None:
    rng = np.random.default_rng(seed)
    start = (np.datetime64("1970-01-01") + start_day).astype("datetime64[m]")
    minutes = start.astype(np.int64) + np.cumsum(rng.integers(1, 3, n)) * step
    assume(minutes[-1] < 152_000_000)  # within datetime64[ns] (before 2259)
    ts = minutes.astype("datetime64[m]").astype("datetime64[ns]")
    equity = rng.lognormal(0, 0.1, n) * 1000
    if ruin:
        equity[n // 2 :] = 0.0
    monthly, yearly = monthly_and_yearly_returns(ts, equity, 1000.0)
    for got, want in (
        (monthly, returns_table(ts, equity, "M", 1000.0)),
        (yearly, returns_table(ts, equity, "Y", 1000.0)),
    ):
        assert [label for label, _ in got] == [label for label, _ in want]
        assert all(a == b or (math.isnan(a) and math.isnan(b)) for (_, a), (_, b) in zip(got, want, strict=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=120))
def test_median_equals_numpy(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    assert median(array) == float(np.median(array))
    assert median(array / 7) == float(np.median(array / 7))


def test_labels_equal_numpys_formatting() -> None:
    months = np.arange(-1969 * 12, 8030 * 12, 5)  # years 1 .. 9999
    assert _month_labels(months) == [str(x) for x in np.datetime_as_string(months.astype("datetime64[M]"))]
    years = np.arange(-1969, 8030)
    assert _year_labels(years) == [str(x) for x in np.datetime_as_string(years.astype("datetime64[Y]"))]
    far = np.array([-30_000, 99_000])  # beyond: numpy's own
    assert _month_labels(far) == [str(x) for x in np.datetime_as_string(far.astype("datetime64[M]"))]
