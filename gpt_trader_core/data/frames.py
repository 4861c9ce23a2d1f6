"""pandas interop by duck typing: the core never imports pandas at module level.

DataFrames coming in are read through their public attributes (``columns``, ``index``, ``to_numpy``);
DataFrames going out are built by ``gpt_trader_core.domain.dataframes`` (pandas loaded lazily there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.errors import InvalidDataError

_COLUMNS = ("open", "high", "low", "close", "volume")


def is_frame(data: Any) -> bool:
    return hasattr(data, "columns") and hasattr(data, "index") and hasattr(data, "to_numpy")


_TIMEFRAME_NS = {name: float(length.astype("timedelta64[ns]").astype(np.int64)) for name, length in TIMEFRAMES.items()}
_TIMEFRAME_OF_STEP = {step: name for name, step in reversed(_TIMEFRAME_NS.items())}


def infer_timeframe(timestamps: np.ndarray) -> str:
    """The named timeframe closest (in log ratio) to the median spacing of the last 500 bars."""
    if len(timestamps) < 2:
        return "1d"
    tail = timestamps[-501:].astype("datetime64[ns]", copy=False).view(np.int64)
    gaps = tail[1:] - tail[:-1]  # np.diff without its overhead
    k = len(gaps)
    # float(np.median(...)) without its overhead: the middle value(s) of a partition, as of a sort
    if k % 2:
        step = float(np.partition(gaps, k // 2)[k // 2])
    else:
        middle = np.partition(gaps, (k // 2 - 1, k // 2))
        step = (float(middle[k // 2 - 1]) + float(middle[k // 2])) / 2
    exact = _TIMEFRAME_OF_STEP.get(step)  # the usual case: the spacing is one of the timeframes
    if exact is not None:
        return exact
    if step <= 0:
        return "1d"
    return min(_TIMEFRAME_NS, key=lambda name: abs(np.log(step / _TIMEFRAME_NS[name])))


def bars_from_frame(frame: Any, symbol: str = "DATA", timeframe: str | None = None) -> Bars:
    """``Bars`` from a DataFrame with Open/High/Low/Close[/Volume] columns (any case) and a datetime index."""
    by_lower: dict[str, Any] = {}
    position: dict[str, int] = {}
    for i, col in enumerate(frame.columns.tolist()):
        key = str(col).strip().lower()
        if key not in by_lower:
            by_lower[key], position[key] = col, i
    missing = [c for c in _COLUMNS[:4] if c not in by_lower]
    if missing:
        raise InvalidDataError(
            f"the DataFrame lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, frame.columns))}. "
            "Name them Open, High, Low, Close (and optionally Volume), in any case"
        )
    if len(frame) == 0:
        raise InvalidDataError(f"{symbol}: no bars — the DataFrame is empty; give at least one row")
    index = frame.index
    tz = getattr(index, "tz", None)
    if tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    # ``values`` is the index's own numpy array (no copy, and ~10 µs cheaper than ``to_numpy()``)
    stamps = np.asarray(getattr(index, "values", index))
    if stamps.dtype.kind != "M":
        raise InvalidDataError(
            f"the DataFrame index must hold datetimes, got {stamps.dtype}; "
            "e.g. df.index = pandas.to_datetime(df.index) or df.set_index('Date')"
        )
    try:  # all columns at once (one conversion instead of one per column: the common, all-numeric frame)
        # one transposing copy: each column a contiguous row, which Bars then keeps without copying it.
        # No ``na_value``: a nullable column holding NA refuses the conversion and is read below.
        block = np.ascontiguousarray(np.asarray(frame.to_numpy(dtype="float64")).T)
        columns = {name: block[position[name]] for name in _COLUMNS if name in by_lower}
    except (TypeError, ValueError):  # some column is not numeric: convert ours one by one, naming a bad value
        columns = {
            name: _numeric_column(frame, by_lower[name], stamps, symbol) for name in _COLUMNS if name in by_lower
        }
    volume = columns["volume"] if "volume" in columns else np.zeros(len(frame))
    return Bars(
        timestamps=stamps,
        open=columns["open"],
        high=columns["high"],
        low=columns["low"],
        close=columns["close"],
        volume=volume if volume.min() >= 0 else np.nan_to_num(volume, nan=0.0),  # NaN fails >= (rare path)
        symbol=symbol,
        timeframe=timeframe or infer_timeframe(stamps),
        source="dataframe",
    )


def _numeric_column(frame: Any, column: Any, stamps: np.ndarray, symbol: str) -> np.ndarray:
    """One column as float64; a value that is not a number is refused, naming its row and time."""
    series = frame[column]
    try:
        return np.asarray(series.to_numpy(dtype="float64", na_value=np.nan))
    except (TypeError, ValueError):
        pass
    for row, value in enumerate(series.tolist()):
        try:
            float(value)
        except (TypeError, ValueError):
            shown = str(value)
            shown = shown if len(shown) <= 40 else shown[:40] + "…"
            raise InvalidDataError(
                f"{symbol}: column {column!r} at row {row} ({np.datetime_as_string(stamps[row], 's')}) has "
                f"{shown!r}, which is not a number; convert it first, e.g. "
                f"df[{str(column)!r}] = pandas.to_numeric(df[{str(column)!r}], errors='coerce') and drop the NaN rows"
            ) from None
    raise InvalidDataError(f"{symbol}: column {column!r} cannot be read as numbers")
