"""``ParquetMarketData`` on real files written by pandas and pyarrow: types, layouts and every error path."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.market_data import CsvMarketData, ParquetMarketData
from gpt_trader_core.data.resample import resample
from gpt_trader_core.errors import DataSourceError, InvalidDataError
from gpt_trader_core.ports import MarketData


@pytest.fixture(scope="module")
def backtesting_data() -> Path:
    """The data files backtesting.py ships: only the tests on them need that package."""
    backtesting = pytest.importorskip("backtesting")
    return Path(os.path.dirname(backtesting.__file__)) / "test"


DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]
PRICES = {
    "open": [10.0, 10.5, 11.5],
    "high": [11.0, 12.0, 11.75],
    "low": [9.5, 10.0, 10.25],
    "close": [10.5, 11.5, 10.75],
    "volume": [1000.0, 1500.0, 1200.0],
}


def write_table(directory: Path, name: str, columns: dict[str, object]) -> Path:
    path = directory / name
    pq.write_table(pa.table(columns), path)
    return path


def check(bars: object, days: list[str] = DAYS, volume: bool = True) -> None:
    assert [str(t)[:10] for t in bars.timestamps] == days  # type: ignore[attr-defined]
    for name, values in PRICES.items():
        expected = values if volume or name != "volume" else [0.0] * len(values)
        assert list(getattr(bars, name)) == expected, name


def test_reads_a_pandas_frame_with_a_named_datetime_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({k.title(): v for k, v in PRICES.items()}, index=pd.DatetimeIndex(DAYS, name="Date"))
    path = tmp_path / "AAPL.parquet"
    frame.to_parquet(path)
    source = ParquetMarketData(tmp_path)

    bars = source.history("aapl")

    check(bars)
    assert (bars.symbol, bars.timeframe, bars.source) == ("AAPL", "1d", f"parquet:{path}")
    assert source.name == f"parquet:{tmp_path}" and source.symbols() == ["AAPL"]
    assert isinstance(source, MarketData)


def test_unnamed_timezone_aware_index_is_converted_to_utc(tmp_path: Path) -> None:
    index = pd.DatetimeIndex(["2024-01-02 09:30", "2024-01-02 10:30", "2024-01-02 11:30"], tz="America/New_York")
    pd.DataFrame(dict(PRICES), index=index).to_parquet(tmp_path / "X.parquet")

    bars = ParquetMarketData(tmp_path).history("X", timeframe="1h")

    assert [str(t)[11:16] for t in bars.timestamps] == ["14:30", "15:30", "16:30"]
    assert bars.timeframe == "1h"


@pytest.mark.parametrize(
    "time_column",
    [
        pa.array([dt.date.fromisoformat(d) for d in DAYS], pa.date32()),
        pa.array([np.datetime64(d, "ms") for d in DAYS], pa.timestamp("ms")),
        pa.array([int(np.datetime64(d, "s").astype(np.int64)) * 1000 for d in DAYS], pa.int64()),  # epoch ms
        pa.array([float(np.datetime64(d, "s").astype(np.int64)) for d in DAYS], pa.float64()),  # epoch s
        pa.array([20240102, 20240103, 20240104], pa.int32()),  # YYYYMMDD
        pa.array(DAYS, pa.string()),
        pa.array(["02.01.2024", "03.01.2024", "04.01.2024"], pa.large_string()),
    ],
    ids=["date32", "timestamp", "epoch-ms", "epoch-s-float", "yyyymmdd", "iso-text", "dmy-text"],
)
def test_time_column_types(tmp_path: Path, time_column: pa.Array) -> None:
    write_table(tmp_path, "X.parquet", {"Timestamp": time_column, **PRICES})
    check(ParquetMarketData(tmp_path).history("X"))


def test_number_column_types_and_missing_volume(tmp_path: Path) -> None:
    columns = {
        "date": pa.array(DAYS),
        "OPEN": pa.array([decimal.Decimal(str(v)) for v in PRICES["open"]], pa.decimal128(10, 2)),
        "High": pa.array(PRICES["high"], pa.float32()),
        "low": pa.array([str(v) for v in PRICES["low"]]),
        "Adj Close": pa.array(PRICES["close"]),
    }
    write_table(tmp_path, "X.parquet", columns)
    check(ParquetMarketData(tmp_path).history("X"), volume=False)


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    dates = pa.array([dt.date(2024, 1, 2)] * 3, pa.date32())
    write_table(
        tmp_path,
        "T.parquet",
        {"date": dates, "time": pa.array([dt.time(9), dt.time(10), dt.time(11)]), **PRICES},
    )
    write_table(
        tmp_path,
        "S.parquet",
        {"date": pa.array(["2024-01-02"] * 3), "time": ["09:00", "10:00", "11:00"], **PRICES},
    )
    source = ParquetMarketData(tmp_path)

    for symbol in ("T", "S"):
        bars = source.history(symbol, timeframe="1h")
        assert [str(t)[:16] for t in bars.timestamps] == [
            "2024-01-02T09:00",
            "2024-01-02T10:00",
            "2024-01-02T11:00",
        ]


def test_hourly_file_aggregates_to_daily(tmp_path: Path, backtesting_data: Path) -> None:
    frame = pd.read_csv(backtesting_data / "EURUSD.csv", index_col=0, parse_dates=True)
    frame.to_parquet(tmp_path / "EURUSD.parquet")
    source = ParquetMarketData(tmp_path)

    hourly = source.history("EURUSD", timeframe="1h")
    daily = source.history("EURUSD", "2017-06-01", "2017-06-30", "1d")  # asked for (issue 11.18)

    assert hourly.timeframe == "1h" and len(hourly) == len(frame)
    expected = resample(hourly, "1d").between("2017-06-01", "2017-06-30T23:59")
    assert np.array_equal(daily.close, expected.close) and np.array_equal(daily.volume, expected.volume)


def test_goog_via_parquet_equals_goog_via_csv(tmp_path: Path, backtesting_data: Path) -> None:
    pd.read_csv(backtesting_data / "GOOG.csv", index_col=0, parse_dates=True).to_parquet(tmp_path / "GOOG.parquet")

    via_parquet = ParquetMarketData(tmp_path).history("GOOG")
    via_csv = CsvMarketData(backtesting_data).history("GOOG")

    assert via_parquet.fingerprint() == via_csv.fingerprint()


# -- errors ------------------------------------------------------------------------------------------


def test_missing_file_lists_the_available_symbols(tmp_path: Path) -> None:
    write_table(tmp_path, "SPY.parquet", {"date": DAYS, **PRICES})
    with pytest.raises(DataSourceError, match=r"no parquet file for symbol 'QQQ' .* available symbols: SPY"):
        ParquetMarketData(tmp_path).history("QQQ")


def test_not_a_parquet_file(tmp_path: Path) -> None:
    (tmp_path / "X.parquet").write_text("date,open\n2024-01-02,1\n")
    with pytest.raises(DataSourceError, match=r"X.parquet: is not a readable parquet file \(.*\); write it with"):
        ParquetMarketData(tmp_path).history("X")


EMPTY = {"date": pa.array([], pa.string()), **{k: pa.array([], pa.float64()) for k in PRICES}}
ONE_DAY = pa.array([dt.date(2024, 1, 2)] * 3)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (EMPTY, r"X.parquet: has columns but no rows; store one row per bar"),
        (
            {"date": DAYS, "open": PRICES["open"], "close": PRICES["close"]},
            r"missing columns high, low \(found: 'date', 'open', 'close'\)",
        ),
        (
            {"date": DAYS, **PRICES, "close": [10.5, None, 10.75]},
            r"X.parquet row 1: column 'close' is empty \(null\); fill it in",
        ),
        (
            {"date": ["2024-01-02", None, "2024-01-04"], **PRICES},
            r"X.parquet row 1: column 'date' is empty \(null\)",
        ),
        (
            {"date": [True, False, True], **PRICES},
            r"X.parquet row 0: column 'date' has type bool; store timestamps, dates",
        ),
        (
            {"date": DAYS, **PRICES, "low": ["9.5", "ten", "10.25"]},
            r"X.parquet row 1: column 'low' has 'ten', which is not a number",
        ),
        (
            {"date": DAYS, **PRICES, "open": [True, False, True]},
            r"X.parquet row 0: column 'open' has type bool; store prices",
        ),
        (
            {"date": ["2024-01-02", "2024-02-31", "2024-01-04"], **PRICES},
            r"X.parquet row 1: column 'date': '2024-02-31' is not a valid date",
        ),
        (
            {"date": ONE_DAY, "time": [1, 2, 3], **PRICES},
            r"column 'time' has type int64; store the time of day as time64",
        ),
    ],
)
def test_unreadable_tables_name_file_row_and_column(tmp_path: Path, columns: dict[str, object], message: str) -> None:
    write_table(tmp_path, "X.parquet", columns)
    with pytest.raises(DataSourceError, match=message):
        ParquetMarketData(tmp_path).history("X")


def test_invalid_bars_name_the_file_and_row(tmp_path: Path) -> None:
    write_table(tmp_path, "X.parquet", {"date": DAYS, **PRICES, "high": [11.0, 11.0, 11.75]})
    with pytest.raises(InvalidDataError, match=r"X.parquet: X: row 1 .* has high 11.0 below max\(open, close\)"):
        ParquetMarketData(tmp_path).history("X")


def test_without_pyarrow_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_table(tmp_path, "X.parquet", {"date": DAYS, **PRICES})
    source = ParquetMarketData(tmp_path)
    assert source.symbols() == ["X"]  # listing needs no pyarrow
    for module in ("pyarrow", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(
        DataSourceError,
        match=r"needs pyarrow, .*install the parquet extra: pip install 'gpt-trader\[parquet\]'",
    ):
        source.history("X")
