"""``Bars``: a validated OHLCV history of one symbol."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.errors import InvalidDataError

FloatArray = np.ndarray  # float64, 1-D
TimeArray = np.ndarray  # datetime64[ns], 1-D

#: Timeframe names and their length; "1d" bars are stamped at midnight of their day.
TIMEFRAMES: dict[str, np.timedelta64] = {
    "1m": np.timedelta64(1, "m"),
    "5m": np.timedelta64(5, "m"),
    "15m": np.timedelta64(15, "m"),
    "30m": np.timedelta64(30, "m"),
    "1h": np.timedelta64(1, "h"),
    "4h": np.timedelta64(4, "h"),
    "1d": np.timedelta64(1, "D"),
    "1w": np.timedelta64(7, "D"),
    "1mo": np.timedelta64(30, "D"),  # nominal: calendar months vary
}


def _as_float_array(name: str, values: Any) -> FloatArray:
    try:
        array = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 1:
        raise InvalidDataError(f"{name} must be one-dimensional, got shape {array.shape}")
    array.setflags(write=False)
    return array


def _as_time_array(values: Any) -> TimeArray:
    try:
        array = np.asarray(values)
        if array.dtype.kind == "M" or array.dtype.kind in "iu":
            array = array.astype("datetime64[ns]")
        else:
            array = np.array([_to_datetime64(v) for v in array], dtype="datetime64[ns]")
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"timestamps must be datetimes: {exc}") from None
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _to_datetime64(value: Any) -> np.datetime64:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return np.datetime64(value, "ns")


def _open(values: Any) -> FloatArray:
    return _as_float_array("open", values)


def _high(values: Any) -> FloatArray:
    return _as_float_array("high", values)


def _low(values: Any) -> FloatArray:
    return _as_float_array("low", values)


def _close(values: Any) -> FloatArray:
    return _as_float_array("close", values)


def _volume(values: Any) -> FloatArray:
    return _as_float_array("volume", values)


_NAT = np.datetime64("NaT", "ns").view(np.int64)


def _first_bad_row(mask: np.ndarray) -> int | None:
    if not mask.any():  # the common case, without building an index array
        return None
    bad = np.flatnonzero(mask)
    return int(bad[0]) if bad.size else None


@attrs.frozen(eq=False, repr=False)
class Bars:
    """OHLCV bars of one symbol, oldest first.

    Construction validates the data and refuses, naming the first bad row: empty data, arrays of
    different lengths, non-increasing timestamps, NaN/inf prices, non-positive prices,
    ``high < max(open, close)``, ``low > min(open, close)`` and negative or NaN volume.
    Timestamps are ``datetime64[ns]`` in UTC (naive). Arrays are read-only.
    """

    timestamps: TimeArray = attrs.field(converter=_as_time_array)
    open: FloatArray = attrs.field(converter=_open)
    high: FloatArray = attrs.field(converter=_high)
    low: FloatArray = attrs.field(converter=_low)
    close: FloatArray = attrs.field(converter=_close)
    volume: FloatArray = attrs.field(converter=_volume)
    symbol: str = "UNKNOWN"
    timeframe: str = "1d"
    #: Where the bars came from, e.g. ``synthetic(seed=0)``, ``csv:/data/AAPL.csv``, ``dataframe``.
    source: str = "unknown"
    #: True when the bars were generated, not observed; drivers label such output "SYNTHETIC".
    synthetic: bool = False

    def __attrs_post_init__(self) -> None:
        n = len(self.timestamps)
        if n == 0:
            raise InvalidDataError(f"{self.symbol}: no bars — the data is empty; give at least one row")
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise InvalidDataError(
                    f"{self.symbol}: {name} has {len(getattr(self, name))} values but there are {n} timestamps"
                )
        if self.timeframe not in TIMEFRAMES:
            raise InvalidDataError(
                f"{self.symbol}: unknown timeframe {self.timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
            )
        self._validate()

    def _looks_valid(self) -> bool:
        """Every rule of ``_validate`` in a few whole-array passes; ``False`` when any might fail (then
        ``_validate`` finds and names the first bad row). NaN fails every comparison here."""
        ticks = self.timestamps.view(np.int64)  # integer comparisons are faster than datetime ones
        # NaT is the smallest int64: anywhere but first it breaks the strict increase, first it is checked
        if ticks[0] == _NAT or not (ticks[1:] > ticks[:-1]).all():
            return False
        low, high = self.low, self.high
        # low > 0 and finite high bound low and high; open/close inside [low, high] are then positive
        # and finite too (NaN anywhere fails a comparison, and np.maximum/np.minimum propagate it).
        if not (low.min() > 0 and high.max() < np.inf):
            return False
        if not (np.maximum(self.open, self.close) <= high).all():
            return False
        if not (np.minimum(self.open, self.close) >= low).all():
            return False
        return bool(self.volume.min() >= 0)

    def _validate(self) -> None:
        if self._looks_valid():
            return
        ts = self.timestamps
        if np.isnat(ts).any():
            row = _first_bad_row(np.isnat(ts))
            raise InvalidDataError(f"{self.symbol}: row {row} has no timestamp")
        if len(ts) > 1:
            row = _first_bad_row(ts[1:] <= ts[:-1])
            if row is not None:
                raise InvalidDataError(
                    f"{self.symbol}: timestamps must increase strictly, but row {row + 1} ({ts[row + 1]}) "
                    f"is not after row {row} ({ts[row]}); sort the data and drop duplicates"
                )
        for name in ("open", "high", "low", "close"):
            values = getattr(self, name)
            row = _first_bad_row(~np.isfinite(values))
            if row is not None:
                raise InvalidDataError(
                    f"{self.symbol}: {name} at row {row} ({ts[row]}) is {values[row]}; prices must be finite"
                )
            row = _first_bad_row(values <= 0)
            if row is not None:
                raise InvalidDataError(
                    f"{self.symbol}: {name} at row {row} ({ts[row]}) is {values[row]}; prices must be positive"
                )
        body_top = np.maximum(self.open, self.close)
        body_bottom = np.minimum(self.open, self.close)
        row = _first_bad_row(self.high < body_top)
        if row is not None:
            raise InvalidDataError(
                f"{self.symbol}: row {row} ({ts[row]}) has high {self.high[row]} below max(open, close) {body_top[row]}"
            )
        row = _first_bad_row(self.low > body_bottom)
        if row is not None:
            raise InvalidDataError(
                f"{self.symbol}: row {row} ({ts[row]}) has low {self.low[row]} above min(open, close) "
                f"{body_bottom[row]}"
            )
        row = _first_bad_row(~(self.volume >= 0))
        if row is not None:
            raise InvalidDataError(
                f"{self.symbol}: volume at row {row} ({ts[row]}) is {self.volume[row]}; volume must be >= 0"
            )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild through the constructor so unpickled bars (cache, process pools) are validated
        # and read-only like any others.
        return (
            Bars,
            (
                self.timestamps,
                self.open,
                self.high,
                self.low,
                self.close,
                self.volume,
                self.symbol,
                self.timeframe,
                self.source,
                self.synthetic,
            ),
        )

    # -- views -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def start(self) -> dt.datetime:
        return to_datetime(self.timestamps[0])

    @property
    def end(self) -> dt.datetime:
        return to_datetime(self.timestamps[-1])

    def slice(self, start: int | None = None, stop: int | None = None) -> Bars:
        """Bars ``[start:stop]`` by position (no copy of the data)."""
        s = slice(start, stop)
        return attrs.evolve(
            self,
            timestamps=self.timestamps[s],
            open=self.open[s],
            high=self.high[s],
            low=self.low[s],
            close=self.close[s],
            volume=self.volume[s],
        )

    def between(self, start: dt.datetime | str | None = None, end: dt.datetime | str | None = None) -> Bars:
        """Bars with ``start <= timestamp <= end`` (either bound optional)."""
        lo = 0 if start is None else int(np.searchsorted(self.timestamps, np.datetime64(start, "ns"), "left"))
        hi = len(self) if end is None else int(np.searchsorted(self.timestamps, np.datetime64(end, "ns"), "right"))
        if hi <= lo:
            raise InvalidDataError(f"{self.symbol}: no bars between {start} and {end}")
        return self.slice(lo, hi)

    def fingerprint(self) -> str:
        """A content hash of the bars (sha256, hex, 16 chars): equal data ⇒ equal fingerprint."""
        digest = hashlib.sha256()
        digest.update(self.timestamps.view(np.int64).tobytes())
        for name in ("open", "high", "low", "close", "volume"):
            digest.update(getattr(self, name).tobytes())
        return digest.hexdigest()[:16]

    @property
    def label(self) -> str:
        """``SYMBOL 1d (synthetic)`` — what drivers print as the data's name."""
        tag = " (SYNTHETIC)" if self.synthetic else ""
        return f"{self.symbol} {self.timeframe}{tag}"

    def to_frame(self) -> Any:
        """A pandas DataFrame (Open/High/Low/Close/Volume, DatetimeIndex); needs pandas."""
        from gpt_trader_core.domain.dataframes import bars_to_frame

        return bars_to_frame(self)

    def __repr__(self) -> str:
        return (
            f"Bars({self.label}, {len(self)} bars, {np.datetime_as_string(self.timestamps[0], 's')} → "
            f"{np.datetime_as_string(self.timestamps[-1], 's')}, source={self.source})"
        )


def to_datetime(value: np.datetime64) -> dt.datetime:
    """numpy datetime64 → naive ``datetime`` (microsecond precision)."""
    micros = value.astype("datetime64[us]")
    as_object = micros.item()  # numpy's own conversion; an int outside datetime's years 1-9999, None for NaT
    if isinstance(as_object, dt.datetime):
        return as_object
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(micros.astype(np.int64)))


def to_timedelta(value: np.timedelta64) -> dt.timedelta:
    """numpy timedelta64 → ``timedelta`` (microsecond precision)."""
    return dt.timedelta(microseconds=int(value.astype("timedelta64[us]").astype(np.int64)))
