"""Which column holds what: OHLCV column-name matching shared by the CSV and Parquet adapters.

Names match in any case and ignoring spaces and punctuation (``Adj Close`` = ``adj_close`` = ``adjclose``,
``<DATE>`` = ``date``, pandas' ``Unnamed: 0`` / ``__index_level_0__`` are the unnamed index column).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from gpt_trader_core.errors import DataSourceError

_TIME_NAMES = (
    "datetime",
    "timestamp",
    "date",
    "time",
    "ts",
    "dt",
    "datetimeutc",
    "timestamputc",
    "dateutc",
    "timeutc",
    "gmttime",
    "opentime",
)
_INDEX_NAMES = ("", "unnamed0", "index", "indexlevel0")
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "closelast", "last"),
    "adj close": ("adjclose", "adjustedclose"),
    "volume": ("volume", "vol", "v", "tickvolume", "tickvol"),
}
#: A file without a header row must hold these columns in this order (volume optional).
HEADERLESS_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def normalise(name: str) -> str:
    """``" Adj Close "`` → ``"adjclose"``: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@attrs.frozen
class ColumnLayout:
    """Column positions of one table. ``clock`` is a separate time-of-day column to join to ``time``."""

    names: tuple[str, ...]
    time: int
    open: int
    high: int
    low: int
    close: int
    volume: int | None = None
    clock: int | None = None

    def label(self, index: int) -> str:
        """The column's name as written in the file (or ``column N`` when it has none)."""
        name = self.names[index].strip()
        return name or f"column {index + 1}"

    @property
    def width(self) -> int:
        """How many fields a row needs to hold every used column."""
        used = [self.time, self.open, self.high, self.low, self.close, self.volume, self.clock]
        return max(i for i in used if i is not None) + 1


def find_columns(names: Sequence[str], where: str) -> ColumnLayout:
    """Match a header to the OHLCV roles, or raise ``DataSourceError`` saying what is missing.

    Required: a date/time column (or an unnamed first column), open, high, low and close (``adj close`` is
    used only when there is no close). Volume is optional. Other columns are ignored.
    """
    keys = [normalise(name) for name in names]

    def first(candidates: Sequence[str]) -> int | None:
        for candidate in candidates:
            if candidate in keys:
                return keys.index(candidate)
        return None

    found = {role: first(candidates) for role, candidates in _ROLE_NAMES.items()}
    if found["close"] is None:
        found["close"] = found["adj close"]
    time = first(_TIME_NAMES)
    clock = None
    if time is not None and keys[time] == "date" and "time" in keys:
        clock = keys.index("time")  # separate date and time columns (MetaTrader-style exports)
    if time is None:
        time = first(_INDEX_NAMES)
    missing = [role for role in ("open", "high", "low", "close") if found[role] is None]
    if time is None:
        missing.insert(0, "date/time")
    if missing or time is None:
        shown = ", ".join(repr(name) for name in names) or "none"
        raise DataSourceError(
            f"{where}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {shown}); name the columns date, open, high, low, close and optionally volume "
            "(any case)"
        )
    located = {role: index for role, index in found.items() if index is not None}
    return ColumnLayout(
        names=tuple(str(name) for name in names),
        time=time,
        open=located["open"],
        high=located["high"],
        low=located["low"],
        close=located["close"],
        volume=located.get("volume"),
        clock=clock,
    )


def headerless_layout(n_columns: int, where: str) -> ColumnLayout:
    """The layout of a file without a header: date, open, high, low, close[, volume]."""
    if n_columns not in (5, 6):
        raise DataSourceError(
            f"{where}: the first row is not a header and has {n_columns} fields; add a header row naming the "
            "columns (date,open,high,low,close,volume) or use exactly 5 or 6 columns in that order"
        )
    return ColumnLayout(
        names=HEADERLESS_COLUMNS[:n_columns],
        time=0,
        open=1,
        high=2,
        low=3,
        close=4,
        volume=5 if n_columns == 6 else None,
    )
