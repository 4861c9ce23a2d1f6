"""What a workflow execution is in the store and on the event bus, and when it is orphaned.

Storage. An execution is stored under kind ``"workflow"``. While it runs, ``Execution.result`` holds
``steps`` (one entry per step: status, attempts, times, duration, error), ``runner`` (host, pid and engine
that run it) and ``heartbeat`` (refreshed at least every ``heartbeat_interval`` seconds); a successful
execution adds ``report`` and ``duration_s``. ``progress`` = finished steps / steps. ``error`` is one line.
The start and the end of an execution are stored before they are announced; step changes are announced at
once and stored within ``flush_interval`` seconds (changes in between share one write, so a workflow of
many short steps costs a bounded number of writes). Work that blocks the event loop (an inline executor)
delays those writes and the cancel polling until it yields: a process that must stay cancellable runs
CPU work on a process-pool executor.

Events, on topic ``execution:{id}`` and on ``executions``: ``execution_started``, ``step_started``,
``step_retried``, ``step_finished``, ``step_failed``, ``step_skipped``, ``execution_finished``,
``execution_failed``, ``execution_cancelled``. Each carries ``execution_id``, ``workflow``, ``status`` and
``progress``; step events add ``step`` (and ``attempt``, ``duration_s``, ``error``, ``delay_s`` as relevant).

Recovery. An execution left ``pending`` or ``running`` is *orphaned* when no process runs it any more:
its runner is on this host and its process is gone, or (another host, or no runner recorded) its last
sign of life (heartbeat, else start, else creation) is older than ``stale_after`` seconds. ``recover``
(run on the engine's first use) and every ``get``/``list`` mark orphaned executions ``failed`` with
:data:`INTERRUPTED`, so listings stay honest after a crash.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from gpt_trader_core.domain.records import Execution, ExecutionStatus, utcnow
from gpt_trader_core.errors import GptTraderError
from gpt_trader_core.workflows.definition import StepStatus

#: ``Execution.kind`` of workflow executions and of cancel requests.
KIND = "workflow"
CANCEL_KIND = "workflow_cancel"
#: The error of an execution whose process stopped while it ran.
INTERRUPTED = "interrupted: the process stopped while this execution was running"
EVENT_TYPES: tuple[str, ...] = (
    "execution_started",
    "step_started",
    "step_retried",
    "step_finished",
    "step_failed",
    "step_skipped",
    "execution_finished",
    "execution_failed",
    "execution_cancelled",
)
FINAL_EVENT = {
    ExecutionStatus.SUCCEEDED: "execution_finished",
    ExecutionStatus.FAILED: "execution_failed",
    ExecutionStatus.CANCELLED: "execution_cancelled",
}
OPEN = (ExecutionStatus.RUNNING, ExecutionStatus.PENDING)


def cancel_request_id(execution_id: str) -> str:
    """Id of the record that asks the runner of ``execution_id`` to cancel it."""
    return f"{execution_id}.cancel"


def one_line(text: str, limit: int = 500) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe_error(exc: BaseException) -> str:
    """One line: a ``GptTraderError``'s own message, otherwise ``Type: message``."""
    if isinstance(exc, GptTraderError):
        return one_line(str(exc))
    text = str(exc)
    return one_line(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def plain(value: Any) -> Any:
    """``value`` as JSON-like data the state store keeps: mappings → dicts with str keys, sequences →
    lists, numpy scalars and arrays → numbers and lists, enums → their value. Datetimes, durations
    and non-finite floats are kept (the store encodes them). Anything else is a ``TypeError``."""
    if value is None or isinstance(value, str | bool | int | float | dt.datetime | dt.date | dt.timedelta):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    np = sys.modules.get("numpy")  # not imported: no value is a numpy one (reading executions needs no numpy)
    if np is not None and isinstance(value, np.generic):
        return plain(value.item())
    if np is not None and isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"a workflow report holds JSON-like values only, got {type(value).__name__}: {value!r}")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs (a zombie counts as stopped)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it on Windows; rely on heartbeats there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError), open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        return f.read().rpartition(")")[2].split()[0] != "Z"
    return True


def orphaned(execution: Execution, *, host: str, stale_after: float, now: dt.datetime | None = None) -> bool:
    """No process runs this open execution any more (see the module docstring); an engine asks only
    about executions it does not run itself."""
    if execution.status.finished:
        return False
    result = execution.result or {}
    runner = result.get("runner")
    if isinstance(runner, Mapping) and runner.get("host") == host and isinstance(runner.get("pid"), int):
        return not _pid_alive(runner["pid"])
    heartbeat = result.get("heartbeat")
    last = heartbeat if isinstance(heartbeat, dt.datetime) else (execution.started_at or execution.created_at)
    return ((now or utcnow()) - last).total_seconds() > stale_after


def closed(execution: Execution, status: ExecutionStatus, error: str) -> Execution:
    """``execution`` finished as ``status`` by someone other than its runner: running steps cancelled,
    steps never started ``not_run``."""
    result = dict(execution.result or {})
    steps = []
    for step in result.get("steps") or ():
        step = dict(step)
        if step.get("status") == StepStatus.RUNNING.value:
            step["status"] = StepStatus.CANCELLED.value
        elif step.get("status") == StepStatus.PENDING.value:
            step["status"] = StepStatus.NOT_RUN.value
        steps.append(step)
    result["steps"] = steps
    if status is ExecutionStatus.CANCELLED:
        result["cancel_requested"] = True
    return attrs.evolve(
        execution, status=status, finished_at=utcnow(), error=error, message=status.value, result=result
    )


def execution_steps(execution: Execution) -> Sequence[Mapping[str, Any]]:
    """The stored step entries of a workflow execution (empty when it has none)."""
    steps = (execution.result or {}).get("steps")
    return list(steps) if isinstance(steps, list | tuple) else []
