"""``CsvMarketData``: a directory of ``SYMBOL.csv`` (or ``SYMBOL.csv.gz``) files. Stdlib ``csv`` + numpy.

What it reads:

* a header row naming the columns in any case and spacing — date/datetime/time/timestamp (or an unnamed
  first column, as pandas writes), open, high, low, close (``adj close`` only when there is no close),
  volume (optional: zeros) — or no header and 5/6 columns ``date,open,high,low,close[,volume]``;
* ``,`` ``;`` tab or ``|`` delimiters (sniffed); with ``;`` or tab, decimal commas (``101,25``);
* ISO dates and datetimes (``T`` or space, timezone offsets → UTC), ``YYYY/MM/DD``, ``DD.MM.YYYY``,
  ``YYYYMMDD``, unix epoch seconds or milliseconds; separate ``date`` and ``time`` columns are joined;
* newest-first files (reversed); blank lines and lines starting with ``#`` are skipped.

The bars' timeframe is inferred from the median spacing; coarser timeframes are aggregated on request.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import ClassVar

import numpy as np

from adapters.market_data._columns import ColumnLayout, find_columns, headerless_layout
from adapters.market_data._tabular import (
    FileMarketData,
    StoredBars,
    build_bars,
    parse_numbers,
    parse_timestamps,
)
from gpt_trader_core.errors import DataSourceError

__all__ = ["CsvMarketData"]

_DELIMITERS = (",", ";", "\t", "|")
_FIX_LAYOUT = "the file needs a header row (date,open,high,low,close,volume) and one row per bar"


class CsvMarketData(FileMarketData):
    """Market data from ``<directory>/<SYMBOL>.csv`` files (file names match in any case).

    ``history`` raises ``DataSourceError`` naming the file and line for a missing file (listing the
    available symbols), an empty file, missing columns (listing those found) and unreadable numbers or
    dates; broken bars (e.g. high below close) raise ``InvalidDataError`` naming the file and row.
    """

    kind: ClassVar[str] = "csv"
    suffixes: ClassVar[tuple[str, ...]] = (".csv", ".csv.gz")

    def read(self, symbol: str, path: Path) -> StoredBars:
        where = str(path)
        text = _read_text(path)
        sample = [line for line in text.splitlines()[:200] if line.strip() and not _is_comment(line)][:10]
        delimiter = _sniff_delimiter(sample) if sample else ","
        decimal_comma = delimiter != ","
        rows, lines = _rows(text, delimiter, where)
        if not rows:
            raise DataSourceError(f"{where}: the file is empty; {_FIX_LAYOUT}")
        if _looks_like_data(rows[0], decimal_comma):
            layout = headerless_layout(len(rows[0]), where)
        else:
            layout = find_columns(rows[0], where)
            rows, lines = rows[1:], lines[1:]
            if not rows:
                raise DataSourceError(f"{where}: has a header but no data rows; add one row per bar below it")
        _check_widths(rows, lines, layout, where)

        def locate(i: int) -> str:
            return f"{where}:{lines[i]}"

        if layout.clock is None:
            times = [row[layout.time] for row in rows]
        else:
            times = [f"{row[layout.time].strip()} {row[layout.clock].strip()}" for row in rows]
        timestamps = parse_timestamps(times, layout.label(layout.time), locate)
        columns = [
            parse_numbers([row[i] for row in rows], layout.label(i), locate, decimal_comma)
            for i in (layout.open, layout.high, layout.low, layout.close)
        ]
        if layout.volume is None:
            volume = np.zeros(len(rows))
        else:
            volume = parse_numbers(
                [row[layout.volume] for row in rows], layout.label(layout.volume), locate, decimal_comma
            )
        return build_bars(where, symbol, f"csv:{path}", timestamps, [*columns, volume])


def _read_text(path: Path) -> str:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"{path}: is not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
        ) from None
    except (OSError, EOFError) as exc:
        raise DataSourceError(f"{path}: cannot be read ({exc}); check the file and its permissions") from None


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _sniff_delimiter(sample: list[str]) -> str:
    """The delimiter found the most times on every sample line (``,`` when none is)."""
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        count = min(line.count(delimiter) for line in sample)
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _rows(text: str, delimiter: str, where: str) -> tuple[list[list[str]], list[int]]:
    """The non-blank, non-comment rows and the line number each ends on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row) or _is_comment(row[0]):
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataSourceError(f"{where}:{reader.line_num}: {exc}; fix the quoting on that line") from None
    return rows, lines


def _looks_like_data(row: list[str], decimal_comma: bool) -> bool:
    """A first row whose value fields are numbers is data, not a header."""
    values = row[1:5]
    if not values:
        return False
    for cell in values:
        try:
            float(cell.replace(",", ".") if decimal_comma else cell)
        except ValueError:
            return False
    return True


def _check_widths(rows: list[list[str]], lines: list[int], layout: ColumnLayout, where: str) -> None:
    width = layout.width
    for i, row in enumerate(rows):
        if len(row) < width:
            raise DataSourceError(
                f"{where}:{lines[i]}: has {len(row)} field{'s' if len(row) != 1 else ''} but the columns "
                f"({', '.join(layout.names)}) need {width}; fill in the missing fields or drop the line"
            )
