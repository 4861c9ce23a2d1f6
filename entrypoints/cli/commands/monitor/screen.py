"""Drawing the monitor in a terminal: a frame rendered off-screen, then written over the previous one
from the top-left corner; keys read without echo (``q`` quits), the terminal restored on the way out."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from cleo.io.outputs.buffered_output import BufferedOutput
from cleo.ui.table import Table

from entrypoints.cli.render import coloured, display, human_label

HOME, CLEAR_TO_END, CLEAR_LINE = "\x1b[H", "\x1b[J", "\x1b[K"
HIDE_CURSOR, SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"

SESSION_COLUMNS = ("id", "strategy", "symbols", "status", "equity", "pnl", "return_pct", "positions", "last_fill")
EXECUTION_COLUMNS = ("id", "name", "status", "progress", "message")


def progress_bar(fraction: float, width: int = 12) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled) + f" {fraction:4.0%}"


def _table(out: BufferedOutput, keys: tuple[str, ...], rows: list[list[Any]]) -> None:
    table = Table(out)
    table.set_headers([human_label(k) for k in keys])
    body: list[Any] = [[coloured(display(v, k), v, k) for k, v in zip(keys, row, strict=True)] for row in rows]
    table.set_rows(body or [["(none)"] + [""] * (len(keys) - 1)])
    table.render()


def _positions(session: dict[str, Any]) -> str:
    return ", ".join(f"{p['symbol']} {p['size']:g}" for p in session["positions"]) or "flat"


def _last_fill(session: dict[str, Any]) -> str:
    if not session["fills"]:
        return "—"
    f = session["fills"][0]
    return f"{f['side']} {f['quantity']:g} {f['symbol']} @ {f['price']:,.2f}"


def render(snapshot: dict[str, Any], *, decorated: bool, live: bool, interval: float) -> str:
    """The snapshot as the text a person reads (with colour tags resolved when ``decorated``)."""
    out = BufferedOutput(decorated=decorated)
    hint = f" · every {interval:g}s · q quits" if live else ""
    out.write_line(f"<info>gpt-trader monitor</info> · {snapshot['time'].replace('T', ' ')} UTC{hint}")
    sessions = snapshot["sessions"]
    out.write_line(f"\n<info>Sessions</info> ({len(sessions)})")
    rows = [
        [
            s["id"],
            s["strategy"],
            ",".join(s["symbols"]),
            s["status"],
            s["equity"],
            s["pnl"],
            s["return_pct"],
            _positions(s),
            _last_fill(s),
        ]
        for s in sessions
    ]
    _table(out, SESSION_COLUMNS, rows)
    executions = snapshot["executions"]
    out.write_line(f"\n<info>Workflow executions</info> ({len(executions)})")
    rows = [[e["id"], e["name"], e["status"], progress_bar(e["progress"]), e["message"][:40]] for e in executions]
    _table(out, EXECUTION_COLUMNS, rows)
    alerts = snapshot["alerts"]
    out.write_line(f"\n<info>Alerts</info> ({len(alerts)} firing)")
    for a in alerts:
        colour = "red" if a["severity"] == "critical" else "yellow"
        out.write_line(f"  <fg={colour}>{a['severity']}</> {a['rule']}: {a['message']}")
    if not alerts:
        out.write_line("  none firing")
    return out.fetch()


def frame(text: str) -> str:
    """``text`` drawn over the previous frame: each line cleared to its end, the rest of the screen below."""
    return HOME + "".join(f"{line}{CLEAR_LINE}\n" for line in text.rstrip("\n").split("\n")) + CLEAR_TO_END


@contextlib.contextmanager
def keys(stream: Any) -> Iterator[int | None]:
    """The file descriptor to read keys from, in cbreak mode (no echo, no line buffering, Ctrl-C still
    a signal), or None when ``stream`` is no terminal; the terminal settings are restored on exit."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        yield None
        return
    if not os.isatty(fd) or sys.platform == "win32":
        yield None
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
