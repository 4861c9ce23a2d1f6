"""``ParquetMarketData``: a directory of ``SYMBOL.parquet`` files, read with pyarrow (the ``parquet`` extra).

Columns are matched like the CSV adapter's (any case; date/datetime/time/timestamp or pandas' index column,
open, high, low, close, optional volume). Time columns may be timestamps (timezone-aware ones are taken in
UTC), dates, unix epoch numbers or text in any date format the CSV adapter reads.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from adapters.market_data._columns import find_columns
from adapters.market_data._tabular import (
    FileMarketData,
    Locate,
    StoredBars,
    build_bars,
    epoch_to_datetime64,
    parse_numbers,
    parse_timestamps,
)
from gpt_trader_core.errors import DataSourceError

__all__ = ["ParquetMarketData"]


def _pyarrow(path: Path) -> tuple[Any, Any, Any]:
    """``pyarrow``, ``pyarrow.parquet`` and ``pyarrow.compute``, imported on first use."""
    try:
        return (
            importlib.import_module("pyarrow"),
            importlib.import_module("pyarrow.parquet"),
            importlib.import_module("pyarrow.compute"),
        )
    except ImportError:
        raise DataSourceError(
            f"reading {path} needs pyarrow, which is not installed; install the parquet extra: "
            "pip install 'gpt-trader[parquet]'"
        ) from None


class ParquetMarketData(FileMarketData):
    """Market data from ``<directory>/<SYMBOL>.parquet`` files (file names match in any case).

    Errors name the file, the column and the row (0-based) and say how to fix it; pyarrow is needed only
    when a file is read.
    """

    kind: ClassVar[str] = "parquet"
    suffixes: ClassVar[tuple[str, ...]] = (".parquet",)

    def read(self, symbol: str, path: Path) -> StoredBars:
        pa, pq, pc = _pyarrow(path)
        where = str(path)
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataSourceError(
                f"{where}: is not a readable parquet file ({exc}); write it with pandas.DataFrame.to_parquet "
                "or pyarrow.parquet.write_table"
            ) from None
        layout = find_columns(table.column_names, where)
        if table.num_rows == 0:
            raise DataSourceError(f"{where}: has columns but no rows; store one row per bar")

        def locate(i: int) -> str:
            return f"{where} row {i}"

        def column(index: int) -> Any:
            data = table.column(index)
            if data.null_count:
                row = int(np.argmax(np.asarray(pc.is_null(data).to_numpy(zero_copy_only=False))))
                raise DataSourceError(
                    f"{locate(row)}: column {layout.label(index)!r} is empty (null); fill it in or drop the row"
                )
            return data

        timestamps = _timestamps(pa, column(layout.time), layout.label(layout.time), locate)
        if layout.clock is not None:
            timestamps = _add_clock(pa, timestamps, column(layout.clock), layout.label(layout.clock), locate)
        numbers = [
            _numbers(pa, column(i), layout.label(i), locate)
            for i in (layout.open, layout.high, layout.low, layout.close)
        ]
        if layout.volume is None:
            volume = np.zeros(table.num_rows)
        else:
            volume = _numbers(pa, column(layout.volume), layout.label(layout.volume), locate)
        return build_bars(where, symbol, f"parquet:{path}", timestamps, [*numbers, volume])


def _timestamps(pa: Any, data: Any, name: str, locate: Locate) -> np.ndarray:
    kind = data.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return np.asarray(data.to_numpy()).astype("datetime64[ns]")  # tz-aware timestamps come out in UTC
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = np.asarray(data.to_numpy())
        if pa.types.is_integer(kind) and 18000101 <= int(values[0]) <= 22001231:
            return parse_timestamps([str(v) for v in values.tolist()], name, locate)  # YYYYMMDD numbers
        return epoch_to_datetime64(values, name, locate)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return parse_timestamps(data.to_pylist(), name, locate)
    raise DataSourceError(
        f"{locate(0)}: column {name!r} has type {kind}; store timestamps, dates, unix epoch numbers or ISO date strings"
    )


def _add_clock(pa: Any, timestamps: np.ndarray, data: Any, name: str, locate: Locate) -> np.ndarray:
    """Join a separate time-of-day column (``time32``/``time64`` or ``HH:MM[:SS]`` text) to the dates."""
    if pa.types.is_time(data.type):
        offsets = np.asarray(data.cast(pa.time64("ns")).cast(pa.int64()).to_numpy())
        joined: np.ndarray = (timestamps.view(np.int64) + offsets).view("datetime64[ns]")
        return joined
    if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
        days = np.datetime_as_string(timestamps, unit="D")
        texts = [f"{day} {clock}" for day, clock in zip(days.tolist(), data.to_pylist(), strict=True)]
        return parse_timestamps(texts, name, locate)
    raise DataSourceError(
        f"{locate(0)}: column {name!r} has type {data.type}; store the time of day as time64 or as HH:MM:SS text"
    )


def _numbers(pa: Any, data: Any, name: str, locate: Locate) -> np.ndarray:
    kind = data.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return np.asarray(data.cast(pa.float64()).to_numpy(), dtype=np.float64)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return parse_numbers(data.to_pylist(), name, locate)
    raise DataSourceError(f"{locate(0)}: column {name!r} has type {kind}; store prices and volumes as numbers")
