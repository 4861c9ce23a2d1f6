"""Shared by the file adapters: date and number parsing with located errors, timeframe inference, serving.

Every error names the file and the line (CSV) or row (Parquet), the column and the value, and says how to
fix it.
"""

from __future__ import annotations

import abc
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import attrs
import numpy as np

from gpt_trader_core.data.resample import TimeBound, describe_time, parse_time_bound, resample
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.errors import DataSourceError, InvalidDataError, InvalidParameterError

#: ``locate(i)`` → where data row ``i`` is, e.g. ``/data/AAPL.csv:12`` or ``/data/AAPL.parquet row 10``.
Locate = Callable[[int], str]

_NS = 10**9
_NS_PER_DAY = 86_400 * _NS
_TIME = r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9})\d*)?)?)?"
_ZONE = r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_EITHER_ORDER = "DD/MM/YYYY or MM/DD/YYYY"  # settled by the data: a first part above 12 is a day
#: Date layouts, tried on the first value; every other value of the column must use the same layout.
_LAYOUTS: dict[str, re.Pattern[str]] = {
    "YYYY-MM-DD": re.compile(rf"(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){_TIME}{_ZONE}"),
    "YYYY/MM/DD": re.compile(rf"(?P<y>\d{{4}})/(?P<m>\d{{1,2}})/(?P<d>\d{{1,2}}){_TIME}{_ZONE}"),
    "YYYY.MM.DD": re.compile(rf"(?P<y>\d{{4}})\.(?P<m>\d{{1,2}})\.(?P<d>\d{{1,2}}){_TIME}{_ZONE}"),
    "DD.MM.YYYY": re.compile(rf"(?P<d>\d{{1,2}})\.(?P<m>\d{{1,2}})\.(?P<y>\d{{4}}){_TIME}{_ZONE}"),
    _EITHER_ORDER: re.compile(rf"(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<y>\d{{4}}){_TIME}{_ZONE}"),
    "YYYYMMDD": re.compile(rf"(?P<y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}}){_TIME}{_ZONE}"),
}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_FIX_DATES = "write dates like 2024-01-31 or 2024-01-31 15:30:00 (or unix epoch seconds/milliseconds)"


# -- dates -------------------------------------------------------------------------------------------


def parse_timestamps(cells: Sequence[str], column: str, locate: Locate) -> np.ndarray:
    """Text dates/datetimes → ``datetime64[ns]`` naive UTC (timezone offsets are applied).

    Accepts ISO dates and datetimes (``T`` or space, optional seconds, fraction and ``Z``/``±HH:MM``),
    ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``DD.MM.YYYY``, ``DD/MM/YYYY`` or ``MM/DD/YYYY`` (when the data make the
    order unambiguous), ``YYYYMMDD`` and unix epoch seconds, milliseconds, microseconds or nanoseconds.
    """
    texts = [cell.strip() for cell in cells]
    for i, text in enumerate(texts):
        if not text:
            raise DataSourceError(f"{locate(i)}: column {column!r} is empty; every row needs a date")
    first = texts[0]
    if _NUMBER.fullmatch(first) and not (len(first) == 8 and first.isdigit() and _plausible_yyyymmdd(first)):
        return _parse_epoch(texts, column, locate)
    for layout, pattern in _LAYOUTS.items():
        if pattern.fullmatch(first):
            return _parse_layout(texts, layout, pattern, column, locate)
    raise DataSourceError(f"{locate(0)}: column {column!r}: cannot read {first!r} as a date; {_FIX_DATES}")


def _plausible_yyyymmdd(text: str) -> bool:
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:])
    return 1800 <= year <= 2200 and 1 <= month <= 12 and 1 <= day <= 31


def _parse_epoch(texts: list[str], column: str, locate: Locate) -> np.ndarray:
    for i, text in enumerate(texts):
        if not _NUMBER.fullmatch(text):
            raise DataSourceError(
                f"{locate(i)}: column {column!r}: cannot read {text!r} as a unix timestamp like the first "
                f"row's {texts[0]!r}; use one date format in the whole column"
            )
    integral = all(text.lstrip("+-").isdigit() and len(text) < 19 for text in texts)
    values = np.array(texts, dtype=np.int64 if integral else np.float64)
    return epoch_to_datetime64(values, column, locate)


def epoch_to_datetime64(values: np.ndarray, column: str, locate: Locate) -> np.ndarray:
    """Unix epoch numbers → ``datetime64[ns]``; the unit (s, ms, µs, ns) follows from the magnitude."""
    if values.size == 0:
        return values.astype("datetime64[ns]")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataSourceError(f"{locate(row)}: column {column!r} is {values[row]}; every row needs a timestamp")
    magnitude = np.abs(values.astype(np.float64))
    biggest = float(magnitude.max())
    scale = 1 if biggest >= 1e17 else 1_000 if biggest >= 1e14 else 1_000_000 if biggest >= 1e11 else _NS
    if biggest * scale >= 9.2e18:
        row = int(np.argmax(magnitude))
        raise DataSourceError(
            f"{locate(row)}: column {column!r}: unix timestamp {values[row]} is out of range; dates must "
            "fall between the years 1678 and 2261"
        )
    if values.dtype.kind == "f":
        ns = np.rint(values.astype(np.float64) * scale).astype(np.int64)
    else:
        ns = values.astype(np.int64) * scale
    return ns.view("datetime64[ns]")


def _parse_layout(texts: list[str], layout: str, pattern: re.Pattern[str], column: str, locate: Locate) -> np.ndarray:
    groups = []
    for i, text in enumerate(texts):
        match = pattern.fullmatch(text)
        if match is None:
            raise DataSourceError(
                f"{locate(i)}: column {column!r}: cannot read {text!r} as a date like the first row's "
                f"{texts[0]!r} ({layout}); use one date format in the whole column"
            )
        groups.append(match.groupdict(default="0"))
    if layout == _EITHER_ORDER:
        layout = _day_month_order(texts, groups, column, locate)
        for group in groups:
            group["d"], group["m"] = (group["a"], group["b"]) if layout == "DD/MM/YYYY" else (group["b"], group["a"])

    def ints(key: str) -> np.ndarray:
        return np.array([group[key] for group in groups], dtype=np.int64)

    year, month, day = ints("y"), ints("m"), ints("d")
    hour, minute, second = ints("H"), ints("M"), ints("S")
    fraction = np.array([group["F"].ljust(9, "0") for group in groups], dtype=np.int64)
    bad = (year < 1678) | (year > 2261) | (month < 1) | (month > 12) | (day < 1)
    bad |= (hour > 23) | (minute > 59) | (second > 59)
    months = np.where(bad, 0, (year - 1970) * 12 + month - 1)
    month_start = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    month_days = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - month_start
    bad |= day > month_days
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataSourceError(
            f"{locate(row)}: column {column!r}: {texts[row]!r} is not a valid date/time ({layout}); "
            "fix the value or drop the row"
        )
    seconds = ((month_start + day - 1) * 24 + hour) * 3600 + minute * 60 + second
    ns = seconds * _NS + fraction
    zones = [group["tz"] for group in groups]
    if any(zone != "0" for zone in zones):
        ns = ns - np.array([_zone_offset_ns(zone) for zone in zones], dtype=np.int64)
    stamps: np.ndarray = ns.view("datetime64[ns]")
    return stamps


def _day_month_order(texts: list[str], groups: list[dict[str, str]], column: str, locate: Locate) -> str:
    first = [int(group["a"]) for group in groups]
    second = [int(group["b"]) for group in groups]
    if max(first) > 12 >= max(second):
        return "DD/MM/YYYY"
    if max(second) > 12 >= max(first):
        return "MM/DD/YYYY"
    if max(first) > 12 and max(second) > 12:
        day_first, month_first = texts[first.index(max(first))], texts[second.index(max(second))]
        raise DataSourceError(
            f"{locate(0)}: column {column!r}: the dates mix day/month ({day_first!r}) and month/day "
            f"({month_first!r}) orders; write them as YYYY-MM-DD"
        )
    raise DataSourceError(
        f"{locate(0)}: column {column!r}: dates like {texts[0]!r} are ambiguous (day/month or month/day); "
        "write them as YYYY-MM-DD"
    )


def _zone_offset_ns(zone: str) -> int:
    if zone in ("0", "Z", "UTC", "GMT"):
        return 0
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return sign * minutes * 60 * _NS


# -- numbers -----------------------------------------------------------------------------------------


def parse_numbers(cells: Sequence[str], column: str, locate: Locate, decimal_comma: bool = False) -> np.ndarray:
    """Text numbers → ``float64``; ``decimal_comma`` reads ``101,25`` as 101.25.

    ``nan``/``inf`` pass here (they are numbers); ``Bars`` then refuses them, naming the row.
    """
    texts = [cell.replace(",", ".") for cell in cells] if decimal_comma else list(cells)
    try:
        return np.array(texts, dtype=np.float64)
    except ValueError:
        pass
    for i, text in enumerate(texts):
        try:
            float(text)
        except ValueError:
            shown = cells[i].strip()
            problem = "is empty" if not shown else f"has {shown!r}, which is not a number"
            raise DataSourceError(
                f"{locate(i)}: column {column!r} {problem}; use plain decimals such as 101.25"
            ) from None
    raise DataSourceError(f"{locate(0)}: column {column!r} cannot be read as numbers")  # pragma: no cover


# -- timeframe ---------------------------------------------------------------------------------------


def infer_timeframe(timestamps: np.ndarray, where: str) -> str | None:
    """The timeframe of sorted bars, from the smallest gap between them (``None`` for a single bar).

    The smallest gap is the bar length whatever bars are missing (weekends, holidays, quiet hours); it
    must be within a factor 1.5 of a supported timeframe, and gaps of 2 to 4 days are daily bars around
    weekends and holidays.
    """
    if len(timestamps) < 2:
        return None
    spacing = max(float(np.min(np.diff(timestamps.view(np.int64)))), 1.0)
    lengths = {name: float(length / np.timedelta64(1, "ns")) for name, length in TIMEFRAMES.items()}
    best = min(lengths, key=lambda name: abs(math.log(spacing / lengths[name])))
    if abs(math.log(spacing / lengths[best])) <= math.log(1.5):
        return best
    if 2 * _NS_PER_DAY <= spacing <= 4 * _NS_PER_DAY:
        return "1d"
    raise DataSourceError(
        f"{where}: consecutive bars are at least {_duration(spacing)} apart, which matches no supported "
        f"timeframe ({', '.join(TIMEFRAMES)}); store bars of one of these lengths"
    )


def _duration(ns: float) -> str:
    seconds = ns / _NS
    for unit, size in (("days", 86_400.0), ("hours", 3_600.0), ("minutes", 60.0)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


# -- building and serving ----------------------------------------------------------------------------


@attrs.frozen(eq=False)
class StoredBars:
    """The bars of one stored file at their own timeframe; ``known`` is False when it was not inferable."""

    bars: Bars
    known: bool


def build_bars(
    where: str,
    symbol: str,
    source: str,
    timestamps: np.ndarray,
    columns: Sequence[np.ndarray],
) -> StoredBars:
    """Validated ``Bars`` from parsed open, high, low, close, volume; newest-first data are reversed."""
    if len(timestamps) > 1 and bool((timestamps[1:] < timestamps[:-1]).all()):
        timestamps = timestamps[::-1]
        columns = [column[::-1] for column in columns]
    increasing = bool((timestamps[1:] > timestamps[:-1]).all())
    # Unsorted data get no timeframe guess: ``Bars`` refuses them below, naming the row.
    timeframe = infer_timeframe(timestamps, where) if increasing else None
    open_, high, low, close, volume = columns
    try:
        bars = Bars(
            timestamps=timestamps,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
            symbol=symbol,
            timeframe=timeframe or "1d",
            source=source,
        )
    except InvalidDataError as exc:
        raise InvalidDataError(f"{where}: {exc}") from None
    return StoredBars(bars=bars, known=timeframe is not None)


def serve(
    stored: StoredBars,
    start: TimeBound | None,
    end: TimeBound | None,
    timeframe: str | None,
    where: str,
) -> Bars:
    """``stored`` at ``timeframe`` (aggregated when coarser; ``None``: the stored bars' own, never
    aggregated unasked) with ``start <= timestamp <= end``."""
    if timeframe is None:
        timeframe = stored.bars.timeframe
    if timeframe not in TIMEFRAMES:
        raise DataSourceError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    lo, hi = parse_time_bound(start, end=False), parse_time_bound(end, end=True)
    if lo is not None and hi is not None and hi < lo:
        raise InvalidParameterError(
            f"end ({describe_time(hi)}) is before start ({describe_time(lo)}); swap them or move end later"
        )
    bars = stored.bars if stored.known else attrs.evolve(stored.bars, timeframe=timeframe)
    if TIMEFRAMES[timeframe] < TIMEFRAMES[bars.timeframe]:
        raise DataSourceError(
            f"{where}: holds {bars.timeframe} bars, which cannot be split into {timeframe} bars; ask for "
            f"{bars.timeframe} or a coarser timeframe"
        )
    try:
        bars = resample(bars, timeframe)
    except InvalidParameterError as exc:
        raise DataSourceError(f"{where}: {exc}") from None
    first = 0 if lo is None else int(np.searchsorted(bars.timestamps, lo, side="left"))
    stop = len(bars) if hi is None else int(np.searchsorted(bars.timestamps, hi, side="right"))
    if stop <= first:
        raise DataSourceError(
            f"{where}: no {timeframe} bars between {_show(lo)} and {_show(hi)}; the data cover "
            f"{_show(bars.timestamps[0])} to {_show(bars.timestamps[-1])}"
        )
    return bars if (first, stop) == (0, len(bars)) else bars.slice(first, stop)


def _show(value: np.datetime64 | None) -> str:
    return "the open end" if value is None else describe_time(value)


# -- a directory of one file per symbol -------------------------------------------------------------


def file_stem(symbol: str) -> str:
    """The file name (without suffix) of a symbol: ``EUR/USD`` is stored as ``EURUSD.csv`` — a ``/``
    cannot be part of a file name."""
    return symbol.replace("/", "")


def symbol_files(directory: Path, suffixes: Sequence[str], kind: str) -> dict[str, Path]:
    """``{SYMBOL: path}`` of the files in ``directory`` ending with one of ``suffixes`` (any case)."""
    if not directory.is_dir():
        raise DataSourceError(
            f"{kind} data directory {directory} does not exist or is not a directory; create it or point the "
            "data source at the folder that holds the files"
        )
    files: dict[str, Path] = {}
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        lower = entry.name.lower()
        for suffix in suffixes:
            if lower.endswith(suffix) and len(lower) > len(suffix) and entry.is_file():
                files.setdefault(entry.name[: -len(suffix)].upper(), Path(entry.path))
                break
    return files


def find_symbol_file(directory: Path, symbol: str, suffixes: Sequence[str], kind: str) -> tuple[str, Path]:
    """The file of ``symbol`` (matched case-insensitively, see ``file_stem``), or ``DataSourceError``
    listing the symbols; a symbol that breaks the one symbol rule is refused first."""
    key = normalize_symbol(symbol)
    stem = file_stem(key)
    files = symbol_files(directory, suffixes, kind)
    if stem not in files:
        raise DataSourceError(
            f"no {kind} file for symbol {key!r} in {directory} (expected {stem}{suffixes[0]}); "
            f"available symbols: {_listing(list(files))}"
        )
    return key, files[stem]


def _listing(symbols: list[str], limit: int = 30) -> str:
    if not symbols:
        return "none"
    shown = ", ".join(symbols[:limit])
    return shown if len(symbols) <= limit else f"{shown} and {len(symbols) - limit} more"


def file_signature(path: Path) -> tuple[str, int, int]:
    """What identifies a file version for caching: path, modification time and size."""
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


class FileMarketData(abc.ABC):
    """A directory with one file per symbol (``AAPL.csv``); parsed files are cached until they change."""

    kind: ClassVar[str] = "file"
    suffixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = Path(directory)
        self._cache: dict[Path, tuple[tuple[str, int, int], StoredBars]] = {}

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def name(self) -> str:
        return f"{self.kind}:{self._directory}"

    def symbols(self) -> list[str]:
        """The symbols with a file in the directory (file names without the suffix, upper case)."""
        return list(symbol_files(self._directory, self.suffixes, self.kind))

    def history(
        self,
        symbol: str,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        timeframe: str | None = None,
    ) -> Bars:
        """The file's bars at ``timeframe`` (aggregated when coarser than the file's; ``None``: the
        file's own timeframe) within the range."""
        if timeframe is not None and timeframe not in TIMEFRAMES:
            raise DataSourceError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
        key, path = find_symbol_file(self._directory, symbol, self.suffixes, self.kind)
        bars = serve(self._load(key, path), start, end, timeframe, str(path))
        return bars if bars.symbol == key else attrs.evolve(bars, symbol=key)  # EURUSD.csv read as EUR/USD

    def _load(self, symbol: str, path: Path) -> StoredBars:
        signature = file_signature(path)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        stored = self.read(symbol, path)
        self._cache[path] = (signature, stored)
        return stored

    @abc.abstractmethod
    def read(self, symbol: str, path: Path) -> StoredBars:
        """Parse one file (each file format implements it)."""
