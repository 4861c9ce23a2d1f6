"""Reading workflow executions without the workflows: what ``workflow status`` shows.

``Workflows`` holds every workflow's definition, built on the use cases its steps call (backtests,
optimisations, sessions, monitoring), so building it imports those slices and starts their adapters. A
driver that only looks at executions uses ``WorkflowExecutions``: the same ``status`` and ``list`` on the
same engine over the same store and bus, so an execution whose process stopped while it ran is recovered
and shown as failed ("interrupted") exactly as ``Workflows`` shows it.
"""

from __future__ import annotations

import builtins

from gpt_trader_core.domain.records import Execution, ExecutionStatus
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.workflows.engine import WorkflowEngine


def execution_status(status: ExecutionStatus | str | None) -> ExecutionStatus | None:
    """``status`` as an ``ExecutionStatus`` (``None`` stays ``None``); one clear error naming the valid ones."""
    if status is None:
        return None
    try:
        return ExecutionStatus(status)
    except ValueError:
        valid = ", ".join(s.value for s in ExecutionStatus)
        raise InvalidParameterError(f"unknown execution status {status!r}; use one of {valid}") from None


class WorkflowExecutions:
    """The stored workflow executions (``Workflows.status`` and ``Workflows.list``), read through ``engine``."""

    def __init__(self, engine: WorkflowEngine) -> None:
        self._engine = engine

    async def status(self, execution_id: str) -> Execution:
        """The stored execution (``NotFoundError`` for an unknown id)."""
        return await self._engine.get(execution_id)

    async def list(self, limit: int = 50, status: ExecutionStatus | str | None = None) -> builtins.list[Execution]:
        """Workflow executions, newest first."""
        return await self._engine.list(status=execution_status(status), limit=limit)
