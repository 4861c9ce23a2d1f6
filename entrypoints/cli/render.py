"""Printing results in the terminal: tables, JSON and CSV."""

from __future__ import annotations

import csv
import io as _io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cleo.commands.command import Command

if TYPE_CHECKING:
    from gpt_trader_core.domain.results import BacktestResult

SYNTHETIC_BANNER = "SYNTHETIC DATA — generated prices, not a real market"


def write_table(command: Command, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from gpt_trader_core.domain.results import format_value  # numpy: not needed for --help

    table = command.table(rows=[[format_value(v) for v in row] for row in rows])
    table.set_headers(list(headers))
    table.render()


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


TRADE_COLUMNS = (
    "size",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "pnl",
    "return_pct",
    "commission",
    "exit_reason",
)


def trade_rows(result: BacktestResult) -> list[list[Any]]:
    return [
        [
            t.size,
            t.entry_time,
            t.exit_time,
            t.entry_price,
            t.exit_price,
            t.pnl,
            t.return_pct,
            t.commission,
            t.exit_reason.value,
        ]
        for t in result.trades
    ]
