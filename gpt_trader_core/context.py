"""Context the core carries through asyncio tasks for its drivers' logs (e.g. the execution id)."""

from __future__ import annotations

from contextvars import ContextVar

#: The workflow execution (or session) the current task works for; drivers' log formatters read it.
execution_id: ContextVar[str | None] = ContextVar("gpt_trader_execution_id", default=None)
