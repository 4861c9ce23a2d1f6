"""DataFrames into ``Bars`` (``gt.as_bars`` / ``gt.backtest(df, ...)``): the fast path for the common
all-float frame must give the same bars as reading each column, and every other frame either the same
bars or the same one-line error as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gpt_trader_core as gt
from gpt_trader_core.data.frames import bars_from_frame, infer_timeframe
from gpt_trader_core.domain.bars import Bars


def _frame(n: int = 60, unit: str = "us") -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    index = pd.DatetimeIndex(pd.date_range("2021-03-01", periods=n, freq="B")).as_unit(unit)
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * 1.01,
            "Low": np.minimum(open_, close) * 0.99,
            "Close": close,
            "Volume": rng.integers(1_000, 5_000, n),
        },
        index=index,
    )


def _expected(df: pd.DataFrame) -> Bars:
    """The bars as read column by column, without the fast path."""
    return Bars(
        df.index.to_numpy().astype("datetime64[ns]"),
        df["Open"].to_numpy(dtype=float),
        df["High"].to_numpy(dtype=float),
        df["Low"].to_numpy(dtype=float),
        df["Close"].to_numpy(dtype=float),
        df["Volume"].to_numpy(dtype=float, na_value=0.0),
        symbol="X",
        timeframe="1d",
        source="dataframe",
    )


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_any_index_unit_gives_the_same_bars(unit: str) -> None:
    df = _frame(unit=unit)
    bars = bars_from_frame(df, "X")
    expected = _expected(df)
    assert bars.fingerprint() == expected.fingerprint() and bars.timeframe == "1d"
    assert bars.timestamps.dtype == np.dtype("datetime64[ns]")
    for name in ("timestamps", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(bars, name), getattr(expected, name))
        assert not getattr(bars, name).flags.writeable


def test_the_callers_frame_is_left_as_it_was() -> None:
    df = _frame()
    before = df.copy(deep=True)
    bars = gt.as_bars(df, "X")
    pd.testing.assert_frame_equal(df, before)
    df.iloc[0, 3] = 999.0  # the bars do not share the frame's memory
    assert bars.close[0] == before.iloc[0, 3]


def test_timezones_nullable_and_arrow_columns() -> None:
    df = _frame()
    eastern = df.tz_localize("US/Eastern")
    assert bars_from_frame(eastern, "X").timestamps[0] == np.datetime64("2021-03-01T05:00")
    nullable = df.astype({"Close": "Float64", "Volume": "Int64"})
    nullable.loc[nullable.index[4], "Volume"] = pd.NA
    bars = bars_from_frame(nullable, "X")
    assert bars.volume[4] == 0.0 and np.array_equal(bars.close, df["Close"].to_numpy())
    arrow = df.astype({"Close": "float64[pyarrow]"})
    assert bars_from_frame(arrow, "X").fingerprint() == bars_from_frame(df, "X").fingerprint()
    no_volume = df[["Open", "High", "Low", "Close"]]
    assert not bars_from_frame(no_volume, "X").volume.any()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d.astype({"Close": "Float64"}).assign(Close=lambda x: x.Close.mask(x.index == x.index[7])),
            "close at row 7 \\(2021-03-10T00:00:00.000000000\\) is nan; prices must be finite",
        ),
        (
            lambda d: d.astype({"Close": object}).assign(Close=lambda x: x.Close.mask(x.index == x.index[9], "n/a")),
            "column 'Close' at row 9 \\(2021-03-12T00:00:00\\) has 'n/a', which is not a number",
        ),
        (lambda d: d.set_axis(d.index.astype(str)), "index must hold datetimes, got object"),
        (lambda d: d.iloc[[0, 2, 1, 3]], "row 2 \\(2021-03-02T00:00:00.000000000\\) is not after row 1"),
        (lambda d: d.assign(Volume=-d.Volume), "volume at row 0 .* volume must be >= 0"),
        (lambda d: d.assign(High=d.Low * 0.5), "row 0 .* has high .* below max\\(open, close\\)"),
    ],
)
def test_bad_frames_are_refused_in_one_line(edit: object, message: str) -> None:
    with pytest.raises(gt.InvalidDataError, match=message) as info:
        bars_from_frame(edit(_frame()), "X")  # type: ignore[operator]
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("step", "name"),
    [
        (np.timedelta64(1, "D"), "1d"),
        (np.timedelta64(60, "s"), "1m"),
        (np.timedelta64(61, "s"), "1m"),
        (np.timedelta64(50, "m"), "1h"),
        (np.timedelta64(7, "D"), "1w"),
        (np.timedelta64(4, "h"), "4h"),
        (np.timedelta64(29, "D"), "1mo"),
    ],
)
def test_timeframe_is_the_nearest_named_one(step: np.timedelta64, name: str) -> None:
    stamps = np.datetime64("2022-01-03", "ns") + step * np.arange(40)
    assert infer_timeframe(stamps) == name
