"""Executions of long work (workflows, large backtests, optimisations) and their pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from gpt_trader_core.domain.records import Execution

Status = Literal["pending", "running", "succeeded", "failed", "cancelled"]


@attrs.frozen
class ExecutionView:
    """One run of long work: status, progress in [0, 1], the result on success, the error otherwise."""

    id: str
    kind: str
    name: str
    status: Status
    params: Mapping[str, Any]
    progress: float
    message: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: Mapping[str, Any] | None
    error: str | None


@attrs.frozen
class ExecutionPage:
    """A page of executions, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: tuple[ExecutionView, ...]
    next_cursor: str | None


def execution_view(execution: Execution) -> ExecutionView:
    return ExecutionView(
        execution.id,
        execution.kind,
        execution.name,
        execution.status.value,
        dict(execution.params),
        execution.progress,
        execution.message,
        execution.created_at,
        execution.started_at,
        execution.finished_at,
        dict(execution.result) if execution.result is not None else None,
        execution.error,
    )
