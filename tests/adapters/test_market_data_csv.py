"""``CsvMarketData`` on real files: layouts, dates, timeframes, every error path; ``InMemoryMarketData``."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.market_data import CsvMarketData, InMemoryMarketData, ParquetMarketData, SyntheticMarketData
from gpt_trader_core.data.resample import resample
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import DataSourceError, InvalidDataError, InvalidParameterError
from gpt_trader_core.ports import MarketData


@pytest.fixture(scope="module")
def backtesting_data() -> Path:
    """The data files backtesting.py ships: only the tests on them need that package."""
    backtesting = pytest.importorskip("backtesting")
    return Path(os.path.dirname(backtesting.__file__)) / "test"


ROWS = [
    ("2024-01-02", 10.0, 11.0, 9.5, 10.5, 1000),
    ("2024-01-03", 10.5, 12.0, 10.0, 11.5, 1500),
    ("2024-01-04", 11.5, 11.75, 10.25, 10.75, 1200),
]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def table(rows: Sequence[Sequence[object]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(str(v) for v in row) + "\n" for row in rows)


def assert_rows(bars: Bars, rows: Sequence[Sequence[Any]] = ROWS, volume: bool = True) -> None:
    assert [str(t)[:10] for t in bars.timestamps] == [str(r[0])[:10] for r in rows]
    assert list(bars.open) == [r[1] for r in rows]
    assert list(bars.high) == [r[2] for r in rows]
    assert list(bars.low) == [r[3] for r in rows]
    assert list(bars.close) == [r[4] for r in rows]
    assert list(bars.volume) == ([float(r[5]) for r in rows] if volume else [0.0] * len(rows))


# -- layouts -----------------------------------------------------------------------------------------


def test_reads_a_plain_file(tmp_path: Path) -> None:
    path = write(tmp_path, "AAPL.csv", "Date,Open,High,Low,Close,Volume\n" + table(ROWS))
    source = CsvMarketData(tmp_path)

    bars = source.history("AAPL")

    assert_rows(bars)
    assert (bars.symbol, bars.timeframe, bars.source, bars.synthetic) == ("AAPL", "1d", f"csv:{path}", False)
    assert source.name == f"csv:{tmp_path}"
    assert source.symbols() == ["AAPL"]
    assert isinstance(source, MarketData)


@pytest.mark.parametrize(
    "header",
    [
        " date , OPEN , High , low , Close , Volume ",
        "timestamp,open,high,low,close,volume",
        "<DATE>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>",
        ",Open,High,Low,Close,Volume",
        "Unnamed: 0,o,h,l,c,v",
    ],
)
def test_header_names_match_in_any_case_and_spacing(tmp_path: Path, header: str) -> None:
    write(tmp_path, "X.csv", header + "\n" + table(ROWS))
    assert_rows(CsvMarketData(tmp_path).history("X"))


def test_columns_in_any_order_with_extra_columns_ignored(tmp_path: Path) -> None:
    rows = [(r[5], r[4], "junk", r[1], r[0], r[3], r[2]) for r in ROWS]
    write(tmp_path, "X.csv", "Volume,Close,Note,Open,Datetime,Low,High\n" + table(rows))
    assert_rows(CsvMarketData(tmp_path).history("X"))


def test_adj_close_is_ignored_unless_there_is_no_close(tmp_path: Path) -> None:
    with_close = [(*r[:5], 1.0, r[5]) for r in ROWS]
    write(tmp_path, "A.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n" + table(with_close))
    only_adj = "Date,Open,High,Low,Adj_Close,Volume\n" + table(ROWS)
    write(tmp_path, "B.csv", only_adj)

    assert_rows(CsvMarketData(tmp_path).history("A"))
    assert_rows(CsvMarketData(tmp_path).history("B"))


def test_volume_is_optional(tmp_path: Path) -> None:
    write(tmp_path, "X.csv", "date,open,high,low,close\n" + table([r[:5] for r in ROWS]))
    assert_rows(CsvMarketData(tmp_path).history("X"), volume=False)


@pytest.mark.parametrize("volume", [True, False])
def test_headerless_files_with_5_or_6_columns(tmp_path: Path, volume: bool) -> None:
    write(tmp_path, "X.csv", table([r if volume else r[:5] for r in ROWS]))
    assert_rows(CsvMarketData(tmp_path).history("X"), volume=volume)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    header = delimiter.join(["Date", "Open", "High", "Low", "Close", "Volume"])
    write(tmp_path, "X.csv", header + "\n" + table(ROWS, delimiter))
    assert_rows(CsvMarketData(tmp_path).history("X"))


def test_semicolon_files_may_use_decimal_commas(tmp_path: Path) -> None:
    text = "date;open;high;low;close;volume\n"
    text += "02.01.2024;10,5;11,25;9,75;11;1000\n03.01.2024;11;12;10,5;11,5;2000\n"
    write(tmp_path, "X.csv", text)

    bars = CsvMarketData(tmp_path).history("X")

    assert list(bars.open) == [10.5, 11.0] and list(bars.high) == [11.25, 12.0]
    assert [str(t)[:10] for t in bars.timestamps] == ["2024-01-02", "2024-01-03"]


def test_blank_lines_comments_quotes_bom_and_newest_first(tmp_path: Path) -> None:
    text = "\ufeff# exported by a broker\n\nDate,Open,High,Low,Close,Volume\n"
    text += table([(f'"{r[0]}"', *r[1:]) for r in reversed(ROWS)]) + "\n\n"
    write(tmp_path, "X.csv", text)
    assert_rows(CsvMarketData(tmp_path).history("X"))


def test_gzipped_files_and_case_insensitive_names(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "eurusd.CSV.gz", "wt", encoding="utf-8") as handle:
        handle.write("Date,Open,High,Low,Close,Volume\n" + table(ROWS))
    write(tmp_path, "notes.txt", "not data")
    source = CsvMarketData(tmp_path)

    assert source.symbols() == ["EURUSD"]
    assert_rows(source.history("EurUsd"))
    assert source.history("eurusd").symbol == "EURUSD"


# -- dates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["2024-01-02", "2024-01-03"], ["2024-01-02T00:00", "2024-01-03T00:00"]),
        (["2024/01/02", "2024/01/03"], ["2024-01-02T00:00", "2024-01-03T00:00"]),
        (["2024.01.02 09:30", "2024.01.02 09:31"], ["2024-01-02T09:30", "2024-01-02T09:31"]),
        (["02.01.2024", "03.01.2024"], ["2024-01-02T00:00", "2024-01-03T00:00"]),
        (["20240102", "20240103"], ["2024-01-02T00:00", "2024-01-03T00:00"]),
        (["13/01/2024", "14/01/2024"], ["2024-01-13T00:00", "2024-01-14T00:00"]),  # day first
        (["01/13/2024", "01/14/2024"], ["2024-01-13T00:00", "2024-01-14T00:00"]),  # month first
        (["2024-01-02 09:30:00", "2024-01-02 09:31:00"], ["2024-01-02T09:30", "2024-01-02T09:31"]),
        (["2024-01-02T09:30:00Z", "2024-01-02T09:31:00Z"], ["2024-01-02T09:30", "2024-01-02T09:31"]),
        (
            ["2024-01-02T10:30:00+01:00", "2024-01-02T10:31:00+01:00"],
            ["2024-01-02T09:30", "2024-01-02T09:31"],
        ),
        (["2024-01-02 04:30-0500", "2024-01-02 04:31-0500"], ["2024-01-02T09:30", "2024-01-02T09:31"]),
        (["1704187800", "1704187860"], ["2024-01-02T09:30", "2024-01-02T09:31"]),  # epoch seconds
        (["1704187800000", "1704187860000"], ["2024-01-02T09:30", "2024-01-02T09:31"]),  # milliseconds
        (["1704187800.0", "1704187860.0"], ["2024-01-02T09:30", "2024-01-02T09:31"]),
    ],
)
def test_date_formats(tmp_path: Path, cells: list[str], expected: list[str]) -> None:
    rows = [(cell, *ROWS[i][1:]) for i, cell in enumerate(cells)]
    write(tmp_path, "X.csv", "time,open,high,low,close,volume\n" + table(rows))

    bars = CsvMarketData(tmp_path).history("X", timeframe=_own_timeframe(expected))

    assert list(bars.timestamps) == [np.datetime64(e, "ns") for e in expected]


def _own_timeframe(expected: list[str]) -> str:
    return "1m" if expected[1].endswith("09:31") else "1d"


def test_fractional_seconds(tmp_path: Path) -> None:
    rows = [("2024-01-02 09:30:00.25", *ROWS[0][1:]), ("2024-01-02 09:31:00.5", *ROWS[1][1:])]
    write(tmp_path, "X.csv", "time,open,high,low,close,volume\n" + table(rows))
    bars = CsvMarketData(tmp_path).history("X", timeframe="1m")
    assert str(bars.timestamps[0]) == "2024-01-02T09:30:00.250000000"


def test_separate_date_and_time_columns_are_joined(tmp_path: Path) -> None:
    text = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\n"
    text += "2024.01.02\t09:00\t1.1\t1.2\t1.0\t1.15\t10\n2024.01.02\t10:00\t1.15\t1.3\t1.1\t1.2\t20\n"
    write(tmp_path, "EURUSD.csv", text)

    bars = CsvMarketData(tmp_path).history("EURUSD", timeframe="1h")

    assert [str(t)[:16] for t in bars.timestamps] == ["2024-01-02T09:00", "2024-01-02T10:00"]
    assert list(bars.volume) == [10.0, 20.0]


# -- timeframes --------------------------------------------------------------------------------------


def _minute_file(directory: Path, minutes: int, step: int = 1) -> Path:
    start = dt.datetime(2024, 1, 2, 22, 0)
    lines = ["datetime,open,high,low,close,volume"]
    for i in range(0, minutes, step):
        price = 100 + i / 100
        lines.append(f"{start + dt.timedelta(minutes=i):%Y-%m-%d %H:%M},{price},{price + 1},{price - 1},{price},{i}")
    return write(directory, "MIN.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1mo"])
def test_minute_file_aggregates_to_any_coarser_timeframe(tmp_path: Path, timeframe: str) -> None:
    _minute_file(tmp_path, 3 * 24 * 60)
    source = CsvMarketData(tmp_path)
    minute = source.history("MIN", timeframe="1m")

    bars = source.history("MIN", timeframe=timeframe)

    assert minute.timeframe == "1m"
    assert bars.timeframe == timeframe
    expected = resample(minute, timeframe)
    assert np.array_equal(bars.timestamps, expected.timestamps) and np.array_equal(bars.high, expected.high)
    assert bars.volume.sum() == minute.volume.sum()


def test_inferred_timeframes(tmp_path: Path) -> None:
    source = CsvMarketData(tmp_path)
    _minute_file(tmp_path, 600, step=60)
    assert source.history("MIN", timeframe="1h").timeframe == "1h"
    weekly = [(f"2024-01-{d:02d}", *ROWS[0][1:]) for d in (1, 8, 15, 22)]
    write(tmp_path, "W.csv", "date,open,high,low,close,volume\n" + table(weekly))
    assert source.history("W", timeframe="1w").timeframe == "1w"
    with pytest.raises(DataSourceError, match=r"W.csv: holds 1w bars, which cannot be split into 1d bars"):
        source.history("W", timeframe="1d")  # asked for: the file's own is no longer the default
    friday_monday = [("2024-01-05", *ROWS[0][1:]), ("2024-01-08", *ROWS[1][1:])]
    write(tmp_path, "D.csv", "date,open,high,low,close,volume\n" + table(friday_monday))
    assert source.history("D").timeframe == "1d"  # a weekend gap is still daily data


def test_spacing_that_matches_no_timeframe_is_refused(tmp_path: Path) -> None:
    _minute_file(tmp_path, 600, step=120)
    with pytest.raises(
        DataSourceError, match=r"consecutive bars are at least 2 hours apart, which matches no supported"
    ):
        CsvMarketData(tmp_path).history("MIN")


def test_a_single_bar_takes_the_requested_timeframe(tmp_path: Path) -> None:
    write(tmp_path, "ONE.csv", "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n")
    assert CsvMarketData(tmp_path).history("ONE", timeframe="1w").timeframe == "1w"


def test_range_is_inclusive_and_date_only_end_covers_the_day(tmp_path: Path) -> None:
    _minute_file(tmp_path, 3 * 24 * 60)
    source = CsvMarketData(tmp_path)

    day = source.history("MIN", "2024-01-03", "2024-01-03", "1h")
    exact = source.history("MIN", dt.datetime(2024, 1, 3, 1), dt.datetime(2024, 1, 3, 3), "1h")

    assert len(day) == 24
    assert [str(t)[11:16] for t in exact.timestamps] == ["01:00", "02:00", "03:00"]


def test_changed_files_are_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, "X.csv", "date,open,high,low,close\n" + table([r[:5] for r in ROWS]))
    source = CsvMarketData(tmp_path)
    assert len(source.history("X")) == 3

    write(tmp_path, "X.csv", "date,open,high,low,close\n" + table([r[:5] for r in ROWS[:2]]))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))

    assert len(source.history("X")) == 2


# -- the real files shipped with backtesting.py ------------------------------------------------------


@pytest.mark.parametrize("symbol", ["GOOG", "EURUSD"])
def test_backtesting_py_files_match_pandas(symbol: str, backtesting_data: Path) -> None:
    frame = pd.read_csv(backtesting_data / f"{symbol}.csv", index_col=0, parse_dates=True)
    timeframe = "1d" if symbol == "GOOG" else "1h"

    bars = CsvMarketData(backtesting_data).history(symbol, timeframe=timeframe)

    assert len(bars) == len(frame)
    assert np.array_equal(bars.timestamps, frame.index.to_numpy(dtype="datetime64[ns]"))
    for column in ("Open", "High", "Low", "Close", "Volume"):
        assert np.array_equal(getattr(bars, column.lower()), frame[column].to_numpy(dtype=float)), column


def test_eurusd_daily_aggregation_matches_pandas_resample(backtesting_data: Path) -> None:
    frame = pd.read_csv(backtesting_data / "EURUSD.csv", index_col=0, parse_dates=True)
    expected = (
        frame.resample("1D")
        .agg({"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"})
        .dropna()
    )

    bars = CsvMarketData(backtesting_data).history("EURUSD", "2017-05-01", "2017-12-31", "1d")

    expected = expected.loc["2017-05-01":"2017-12-31"]
    assert np.array_equal(bars.timestamps, expected.index.to_numpy(dtype="datetime64[ns]"))
    for column in ("Open", "High", "Low", "Close", "Volume"):
        assert np.array_equal(getattr(bars, column.lower()), expected[column].to_numpy(dtype=float)), column


def test_monthly_file_is_served_as_1mo(backtesting_data: Path) -> None:
    bars = CsvMarketData(backtesting_data).history("BTCUSD", timeframe="1mo")
    assert bars.timeframe == "1mo" and len(bars) > 100


# -- errors ------------------------------------------------------------------------------------------


def test_missing_file_lists_the_available_symbols(tmp_path: Path) -> None:
    write(tmp_path, "AAPL.csv", "date,open,high,low,close\n")
    write(tmp_path, "msft.csv", "date,open,high,low,close\n")
    with pytest.raises(DataSourceError, match=r"no csv file for symbol 'TSLA' in .* available symbols: AAPL, MSFT"):
        CsvMarketData(tmp_path).history("tsla")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"csv data directory .*nowhere does not exist"):
        CsvMarketData(tmp_path / "nowhere").symbols()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"X.csv: the file is empty; the file needs a header row"),
        ("\n\n# only a comment\n", r"X.csv: the file is empty"),
        (",,,,\n , ,\n", r"X.csv: the file is empty"),
        ("date,open,high,low,close\n", r"X.csv: has a header but no data rows"),
        (
            "date,open,close\n2024-01-02,1,2\n",
            r"X.csv: missing columns high, low \(found: 'date', 'open', 'close'\); name the columns date",
        ),
        (
            "open,high,low,close\n1,2,0.5,1\n",
            r"missing column date/time \(found: 'open', 'high', 'low', 'close'\)",
        ),
        ("2024-01-02,1,2,0.5,1,10,99\n", r"X.csv: the first row is not a header and has 7 fields"),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,abc,1\n",
            r"X.csv:3: column 'low' has 'abc', which is not a number; use plain decimals",
        ),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n\n2024-01-03,1,,0.5,1\n",
            r"X.csv:4: column 'high' is empty; use plain decimals",
        ),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5\n",
            r"X.csv:3: has 4 fields but the columns \(date, open, high, low, close\) need 5",
        ),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\nJan 3 2024,1,2,0.5,1\n",
            r"X.csv:3: column 'date': cannot read 'Jan 3 2024' as a date like the first row's '2024-01-02'",
        ),
        (
            "date,open,high,low,close\nyesterday,1,2,0.5,1\n",
            r"X.csv:2: column 'date': cannot read 'yesterday' as a date; write dates like 2024-01-31",
        ),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n2024-13-02,1,2,0.5,1\n",
            r"X.csv:3: column 'date': '2024-13-02' is not a valid date/time \(YYYY-MM-DD\)",
        ),
        (
            "date,open,high,low,close\n2024-02-30,1,2,0.5,1\n",
            r"X.csv:2: column 'date': '2024-02-30' is not a valid date/time",
        ),
        (
            "date,open,high,low,close\n01/02/2024,1,2,0.5,1\n02/03/2024,1,2,0.5,1\n",
            r"X.csv:2: column 'date': dates like '01/02/2024' are ambiguous \(day/month or month/day\)",
        ),
        (
            "date,open,high,low,close\n1704187800,1,2,0.5,1\n2024-01-03,1,2,0.5,1\n",
            r"X.csv:3: column 'date': cannot read '2024-01-03' as a unix timestamp",
        ),
        (
            "date,open,high,low,close\n2024-01-02,1,2,0.5,1\n,1,2,0.5,1\n",
            r"X.csv:3: column 'date' is empty; every row needs a date",
        ),
        ('date,open,high,low,close\n"2024-01-02,1,2,0.5,1\n', r"X.csv:\d+: .*fix the quoting on that line"),
    ],
)
def test_unreadable_files_name_file_line_column_and_value(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "X.csv", text)
    with pytest.raises(DataSourceError, match=message):
        CsvMarketData(tmp_path).history("X")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            "2024-01-02,1,2,0.5,1\n2024-01-03,1,0.9,0.5,1\n",
            r"X.csv: X: row 1 .* has high 0.9 below max\(open",
        ),
        ("2024-01-02,1,2,0.5,1\n2024-01-04,1,2,0.5,1\n2024-01-03,1,2,0.5,1\n", r"X.csv: X: timestamps must"),
        (
            "2024-01-02,1,2,0.5,1\n2024-01-03,nan,2,0.5,1\n",
            r"X.csv: X: open at row 1 .* prices must be finite",
        ),
        (
            "2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5,-3\n",
            r"X.csv: X: close at row 1 .* prices must be positive",
        ),
    ],
)
def test_invalid_bars_name_the_file_and_row(tmp_path: Path, rows: str, message: str) -> None:
    write(tmp_path, "X.csv", "date,open,high,low,close\n" + rows)
    with pytest.raises(InvalidDataError, match=message):
        CsvMarketData(tmp_path).history("X")


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "X.csv").write_bytes("date,open,high,low,close\n2024-01-02,1,2,0.5,1 \xe9\n".encode("latin-1"))
    with pytest.raises(DataSourceError, match=r"X.csv: is not UTF-8 text .*; save the file as UTF-8"):
        CsvMarketData(tmp_path).history("X")


def test_request_errors(tmp_path: Path) -> None:
    write(tmp_path, "X.csv", "date,open,high,low,close\n" + table([r[:5] for r in ROWS]))
    source = CsvMarketData(tmp_path)
    with pytest.raises(DataSourceError, match=r"X.csv: holds 1d bars, which cannot be split into 1h bars"):
        source.history("X", timeframe="1h")
    with pytest.raises(DataSourceError, match="unknown timeframe '1y'; use one of 1m"):
        source.history("X", timeframe="1y")
    with pytest.raises(DataSourceError, match=r"no 1d bars between 2025-01-01 and the open end; the data cover"):
        source.history("X", start=dt.datetime(2025, 1, 1))
    with pytest.raises(InvalidParameterError, match=r"end \(2024-01-02\) is before start \(2024-01-03\)"):
        source.history("X", "2024-01-03", "2024-01-02")
    with pytest.raises(DataSourceError, match="symbol must be a non-empty string"):
        source.history(" ")


# -- round trip --------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 50),
    delimiter=st.sampled_from([",", ";", "\t"]),
    date_format=st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d", "epoch", "epoch_ms"]),
    header=st.booleans(),
)
def test_round_trip_of_random_bars(seed: int, n: int, delimiter: str, date_format: str, header: bool) -> None:
    rng = np.random.default_rng(seed)
    offsets = np.cumsum(rng.choice([1, 1, 1, 1, 3], n))  # daily bars with weekend-like gaps
    days = np.datetime64("1999-12-31") + offsets.astype("timedelta64[D]")
    close = np.round(rng.uniform(1, 1000, n), 4)
    open_ = np.round(rng.uniform(1, 1000, n), 4)
    high = np.maximum(open_, close) + np.round(rng.uniform(0, 5, n), 2)
    low = np.minimum(open_, close) * 0.9
    volume = rng.integers(0, 10**9, n)
    lines = [delimiter.join(["Date", "Open", "High", "Low", "Close", "Volume"])] if header else []
    for i in range(n):
        day = dt.datetime.fromisoformat(str(days[i]))
        if date_format == "epoch":
            stamp = str(int(day.replace(tzinfo=dt.UTC).timestamp()))
        elif date_format == "epoch_ms":
            stamp = str(int(day.replace(tzinfo=dt.UTC).timestamp()) * 1000)
        else:
            stamp = day.strftime(date_format)
        lines.append(delimiter.join([stamp, *(repr(float(v[i])) for v in (open_, high, low, close)), str(volume[i])]))
    with tempfile.TemporaryDirectory() as directory:
        write(Path(directory), "RT.csv", "\n".join(lines) + "\n")
        bars = CsvMarketData(directory).history("RT", timeframe="1w" if n > 1 else "1d")
        daily = CsvMarketData(directory)._load("RT", Path(directory) / "RT.csv").bars

    assert np.array_equal(daily.timestamps, days.astype("datetime64[ns]"))
    for name, values in [("open", open_), ("high", high), ("low", low), ("close", close), ("volume", volume)]:
        assert np.array_equal(getattr(daily, name), values.astype(float)), name
    assert bars.volume.sum() == volume.sum()


# -- the in-memory adapter (shares the serving rules) ------------------------------------------------


def test_in_memory_adapter_slices_aggregates_and_lists() -> None:
    hourly = SyntheticMarketData().history("ABC", "2024-01-01", "2024-01-10", "1h")
    source = InMemoryMarketData({"ABC": hourly, "xyz": hourly})

    assert source.symbols() == ["ABC", "xyz"]
    assert source.name == "memory"
    assert isinstance(source, MarketData)
    assert source.history("ABC", timeframe="1h") is hourly
    assert len(source.history("abc", "2024-01-02", "2024-01-02", "1h")) == 24
    daily = source.history("XYZ", timeframe="1d")
    assert np.array_equal(daily.close, resample(hourly, "1d").close)
    assert InMemoryMarketData([hourly], name="fixture").symbols() == ["ABC"]


def test_in_memory_adapter_errors() -> None:
    bars = SyntheticMarketData().history("ABC", "2024-01-01", "2024-01-10")
    source = InMemoryMarketData({"ABC": bars})
    with pytest.raises(DataSourceError, match=r"unknown symbol 'NOPE' in memory; available symbols: ABC"):
        source.history("NOPE")
    with pytest.raises(DataSourceError, match=r"memory ABC: holds 1d bars, which cannot be split into 1m bars"):
        source.history("ABC", timeframe="1m")
    with pytest.raises(DataSourceError, match=r"memory ABC: no 1d bars between 2030-01-01 and the open end"):
        source.history("ABC", "2030-01-01")
    with pytest.raises(DataSourceError, match="must be Bars, not list"):
        InMemoryMarketData({"ABC": [1, 2, 3]})  # type: ignore[arg-type]


@pytest.mark.parametrize("adapter", [CsvMarketData, ParquetMarketData, InMemoryMarketData, SyntheticMarketData])
def test_every_adapter_implements_the_port(adapter: type, tmp_path: Path) -> None:
    instance = adapter(tmp_path) if adapter in (CsvMarketData, ParquetMarketData) else adapter()
    assert isinstance(instance, MarketData)


def test_out_of_range_epoch_and_mixed_day_month_order(tmp_path: Path) -> None:
    write(tmp_path, "E.csv", "time,open,high,low,close\n1704187800,1,2,0.5,1\n99999999999,1,2,0.5,1\n")
    write(tmp_path, "M.csv", "time,open,high,low,close\n13/01/2024,1,2,0.5,1\n01/14/2024,1,2,0.5,1\n")
    source = CsvMarketData(tmp_path)
    with pytest.raises(DataSourceError, match=r"E.csv:3: column 'time': unix timestamp 99999999999 is out of range"):
        source.history("E")
    mixed = r"M.csv:2: column 'time': the dates mix day/month \('13/01/2024'\) and month/day \('01/14/2024'"
    with pytest.raises(DataSourceError, match=mixed):
        source.history("M")
