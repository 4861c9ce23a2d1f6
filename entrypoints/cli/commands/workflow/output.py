"""What the workflow commands share: how an execution and its progress events are printed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cleo.commands.command import Command

    from gpt_trader_core.domain.records import Event, Execution


#: The output formats of workflow commands (``cli.default_format: csv`` leaves them on ``table``).
FORMATS = ("table", "json")


def check_format(fmt: str) -> str:
    from gpt_trader_core.errors import InvalidParameterError

    if fmt not in FORMATS:
        raise InvalidParameterError(f"--format must be table or json for workflow commands, got {fmt!r}")
    return fmt


def progress_line(event: Event) -> str | None:
    """One line per step event (``None`` for events the final summary covers)."""
    data = event.data
    step = data.get("step")
    when = event.time.strftime("%H:%M:%S")
    if event.type == "execution_started":
        return f"{when} <info>{data['workflow']}</info> started ({data['execution_id']})"
    if event.type == "step_started":
        return f"{when} ▶ {step} started"
    if event.type == "step_finished":
        return f"{when} <info>✓</info> {step} finished in {data.get('duration_s') or 0.0:.2f} s"
    if event.type == "step_failed":
        return f"{when} <error>✗</error> {step} failed: {data.get('error')}"
    if event.type == "step_retried":
        return (
            f"{when} ↻ {step} attempt {data.get('attempt')} failed ({data.get('error')}); "
            f"retrying in {data.get('delay_s') or 0.0:.1f} s"
        )
    if event.type == "step_skipped":
        return f"{when} – {step} skipped (its condition is false)"
    return None


def _duration(execution: Execution) -> str:
    if execution.started_at is None:
        return ""
    end = execution.finished_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return f"{(end - execution.started_at).total_seconds():.2f} s"


def execution_rows(executions: Sequence[Execution]) -> list[list[Any]]:
    return [
        [
            e.id,
            e.name,
            e.status.value,
            f"{e.progress:.0%}",
            e.created_at.replace(microsecond=0),
            _duration(e),
            e.error or "",
        ]
        for e in executions
    ]


EXECUTION_HEADERS = ("id", "workflow", "status", "progress", "created (UTC)", "duration", "error")


def _tree(command: Command, value: Any, indent: int = 1) -> None:
    """A JSON-like value as indented ``key: value`` lines."""
    from gpt_trader_core.domain.formatting import format_value

    pad = "  " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping) and item:
                command.line(f"{pad}{key}:")
                _tree(command, item, indent + 1)
            elif isinstance(item, list) and item and isinstance(item[0], Mapping):
                command.line(f"{pad}{key}:")
                for entry in item:
                    command.line(f"{pad}  - " + ", ".join(f"{k}={format_value(v)}" for k, v in entry.items()))
            elif isinstance(item, list) and sum(len(format_value(v)) for v in item) > 80:
                command.line(f"{pad}{key}:")
                for entry in item:
                    command.line(f"{pad}  - {format_value(entry)}")
            elif isinstance(item, list):
                command.line(f"{pad}{key}: {', '.join(format_value(v) for v in item) or '—'}")
            else:
                command.line(f"{pad}{key}: {format_value(item)}")


def show_execution(command: Command, execution: Execution, fmt: str, *, report: bool = True) -> None:
    """The execution: JSON, or a summary line, the steps table, the error and the report."""
    from entrypoints.cli.render import SYNTHETIC_BANNER, write_table
    from entrypoints.serialization import dumps, to_plain
    from gpt_trader_core.workflows import execution_steps

    if fmt == "json":
        command.line(dumps(to_plain(execution)))
        return
    style = {"succeeded": "info", "failed": "error", "cancelled": "comment"}.get(execution.status.value, "comment")
    command.line(
        f"<info>{execution.name}</info> {execution.id}: <{style}>{execution.status.value}</{style}> "
        f"({execution.progress:.0%} of the steps done{', ' + _duration(execution) if execution.started_at else ''})"
    )
    steps = execution_steps(execution)
    if steps:
        rows = [
            [s["name"], s["status"], s.get("attempts") or "", s.get("duration_s"), s.get("error") or ""] for s in steps
        ]
        write_table(command, ("step", "status", "attempts", "seconds", "error"), rows)
    if execution.error:
        command.line(f"<error>error:</error> {execution.error}")
    result = execution.result or {}
    if report and isinstance(result.get("report"), Mapping):
        data = result["report"].get("data")
        synthetic = isinstance(data, Mapping) and data.get("synthetic")
        command.line("<comment>report</comment>" + (f" — {SYNTHETIC_BANNER}" if synthetic else ""))
        _tree(command, result["report"])


def exit_code(execution: Execution) -> int:
    """0 when the execution succeeded, 1 otherwise."""
    return 0 if execution.status.value == "succeeded" else 1
