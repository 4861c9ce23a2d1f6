"""Printing results in the terminal: tables, JSON and CSV."""

from __future__ import annotations

import csv
import io as _io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cleo.commands.command import Command

from entrypoints.presenters.labels import human_label as human_label  # re-exported: commands import it from here

if TYPE_CHECKING:
    from gpt_trader_core.domain.results import BacktestResult

SYNTHETIC_BANNER = "SYNTHETIC DATA — generated prices, not a real market"


def write_table(command: Command, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    from gpt_trader_core.domain.formatting import format_value

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


# ---- report-style output shared by the commands (human labels in tables, snake_case in JSON/CSV) ----

#: The statistics shown first, as a headline, before the full list.
HEADLINE = ("return_pct", "sharpe_ratio", "max_drawdown_pct", "num_trades")

#: Columns whose sign is good or bad news (coloured when colours are on).
_SIGNED = ("return", "pnl", "p&l", "equity_change", "change")


def is_signed(key: str) -> bool:
    return any(part in key.lower() for part in _SIGNED) and "duration" not in key


def display(value: Any, key: str = "") -> str:
    """One value as a report shows it: durations in days, 2 decimals for percentages and money, 4 for
    ratios, thousands separators."""
    import datetime as dt
    import math

    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()  # numpy scalar
    if isinstance(value, dt.timedelta):
        days = value.total_seconds() / 86400
        return f"{days:,.0f}" if days == int(days) else f"{days:,.2f}"
    if isinstance(value, dt.datetime):
        midnight = (value.hour, value.minute, value.second) == (0, 0, 0)
        return value.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if key.endswith(("size", "units", "quantity")):
            return f"{value:,g}"
        money_or_pct = key.endswith(
            ("_pct", "equity", "pnl", "notional", "capital", "price", "commission", "commissions")
        )
        places = 0 if key.endswith(("volume", "obv")) else 2 if money_or_pct or abs(value) >= 1000 else 4
        return f"{value:,.{places}f}"
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(display(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={display(v)}" for k, v in value.items())
    return str(value)


def coloured(text: str, value: Any, key: str) -> str:
    """Gains green, losses red (plain text when the output is not decorated: Cleo strips the tags)."""
    if not is_signed(key) or not isinstance(value, (int, float)) or isinstance(value, bool):
        return text
    if value > 0:
        return f"<fg=green>{text}</>"
    if value < 0:
        return f"<fg=red>{text}</>"
    return text


def report_table(command: Command, keys: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table whose columns are the snake_case ``keys``, shown with human labels and units."""
    body: list[Any] = [[coloured(display(v, k), v, k) for k, v in zip(keys, row, strict=True)] for row in rows]
    table = command.table(rows=body or [["(none)"] + [""] * (len(keys) - 1)])
    table.set_headers([human_label(k) for k in keys])
    table.render()


def key_values(command: Command, items: Iterable[tuple[str, Any]], title: str | None = None) -> None:
    """A two-column report: ``Label [unit] | value``."""
    if title:
        command.line(f"<info>{title}</info>")
    rows: list[Any] = [[human_label(k), coloured(display(v, k), v, k)] for k, v in items]
    table = command.table(rows=rows)
    table.set_style("compact")
    table.render()


def headline(stats: Mapping[str, Any]) -> str:
    """``Return 232.18 % · Sharpe 1.34 · Max. drawdown -14.90 % · 32 trades``."""
    parts = []
    if "return_pct" in stats:
        parts.append(f"Return {coloured(display(stats['return_pct'], 'return_pct'), stats['return_pct'], 'return')} %")
    if "sharpe_ratio" in stats:
        parts.append(f"Sharpe {display(stats['sharpe_ratio'], 'sharpe_ratio')}")
    if "max_drawdown_pct" in stats:
        parts.append(f"Max. drawdown {display(stats['max_drawdown_pct'], 'max_drawdown_pct')} %")
    if "num_trades" in stats:
        parts.append(f"{display(stats['num_trades'])} trades")
    return " · ".join(parts)


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested mappings as ``(dotted.key, value)`` pairs (lists stay values)."""
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items += flatten(value, f"{name}.")
        else:
            items.append((name, value))
    return items


def plain_csv(keys: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV with the snake_case keys as header and plain values (durations in days)."""
    import datetime as dt

    def cell(v: Any) -> Any:
        if isinstance(v, dt.timedelta):
            return v.total_seconds() / 86400
        if isinstance(v, dt.datetime):
            return v.isoformat()
        if isinstance(v, (list, tuple)):
            return " ".join(str(x) for x in v)
        return v

    return to_csv(keys, ([cell(v) for v in row] for row in rows)).rstrip("\n")
