"""The workflow use case: the built-in workflows on the application's services, run by one engine.

Every driver (CLI, REST, WebSocket, ``gt.App``) lists, executes, inspects and cancels workflows through
``Workflows``; the engine stores each execution and publishes its progress on the event bus.

It lives at the top of the ``workflows`` layer, not in ``services``: a workflow composes use cases
(backtests, optimisations, sessions, monitoring), so the use case that runs workflows sits above both.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from gpt_trader_core.domain.records import Execution, ExecutionStatus
from gpt_trader_core.errors import InvalidParameterError, NotFoundError
from gpt_trader_core.ports import Subscription
from gpt_trader_core.workflows.common import WorkflowServices
from gpt_trader_core.workflows.definition import WorkflowDefinition
from gpt_trader_core.workflows.engine import WorkflowEngine
from gpt_trader_core.workflows.ensemble import multi_strategy_ensemble
from gpt_trader_core.workflows.optimization import strategy_optimization
from gpt_trader_core.workflows.simple_backtest import simple_backtest


class Workflows:
    """List, execute, inspect and cancel workflows.

    The built-ins are ``simple_backtest``, ``multi_strategy_ensemble`` and ``strategy_optimization``, on
    ``services`` (the use cases and ports they call); ``extra`` adds more definitions (a name may not be
    taken twice).
    """

    def __init__(
        self, engine: WorkflowEngine, services: WorkflowServices, *, extra: Iterable[WorkflowDefinition] = ()
    ) -> None:
        self._engine = engine
        self._definitions: dict[str, WorkflowDefinition] = {}
        builtins = (simple_backtest(services), multi_strategy_ensemble(services), strategy_optimization(services))
        for definition in (*builtins, *extra):
            if definition.name in self._definitions:
                raise InvalidParameterError(f"two workflows are named {definition.name!r}; names must be unique")
            self._definitions[definition.name] = definition

    @property
    def engine(self) -> WorkflowEngine:
        return self._engine

    def definitions(self) -> list[WorkflowDefinition]:
        """The available workflows, in registration order."""
        return list(self._definitions.values())

    async def catalogue(self) -> builtins.list[dict[str, Any]]:
        """Every workflow described (``WorkflowDefinition.describe``), in registration order: what drivers list,
        in this process or over the network."""
        return [d.describe() for d in self._definitions.values()]

    def definition(self, name: str) -> WorkflowDefinition:
        """The workflow ``name``; ``NotFoundError`` naming the available ones."""
        try:
            return self._definitions[name]
        except KeyError:
            raise NotFoundError(f"unknown workflow {name!r}; available: {', '.join(self._definitions)}") from None

    async def execute(self, name: str, params: Mapping[str, Any] | None = None, *, wait: bool = True) -> Execution:
        """Validate the inputs and run workflow ``name``: until it finishes (``wait``), or in the
        background of this process (returns the pending execution at once)."""
        definition = self.definition(name)
        if wait:
            return await self._engine.run(definition, params)
        return await self._engine.start(definition, params)

    async def prepare(self, name: str, params: Mapping[str, Any] | None = None) -> Execution:
        """Validate the inputs and store a pending execution for a runner to start (``run_prepared``)."""
        return await self._engine.prepare(self.definition(name), params)

    async def start_prepared(self, execution_id: str, name: str | None = None) -> Execution:
        """Start the stored pending execution ``execution_id`` (of workflow ``name``, when given) in the
        background of this process."""
        execution = await self._engine.get(execution_id)
        if name is not None and execution.name != name:
            raise InvalidParameterError(f"execution {execution_id!r} is of workflow {execution.name!r}, not {name!r}")
        return await self._engine.start_prepared(self.definition(execution.name), execution_id)

    async def run_prepared(self, execution_id: str, name: str | None = None) -> Execution:
        """Run the stored pending execution ``execution_id`` here until it finishes."""
        await self.start_prepared(execution_id, name)
        return await self._engine.wait(execution_id)

    async def wait(self, execution_id: str, timeout: float | None = None) -> Execution:
        return await self._engine.wait(execution_id, timeout)

    async def status(self, execution_id: str) -> Execution:
        """The stored execution (``NotFoundError`` for an unknown id)."""
        return await self._engine.get(execution_id)

    async def cancel(self, execution_id: str, *, timeout: float = 5.0) -> Execution:
        """Cancel a pending or running execution, in this process or another; ``ConflictError`` if finished."""
        return await self._engine.cancel(execution_id, timeout=timeout)

    async def list(self, limit: int = 50, status: ExecutionStatus | str | None = None) -> builtins.list[Execution]:
        """Workflow executions, newest first."""
        wanted = None
        if status is not None:
            try:
                wanted = ExecutionStatus(status)
            except ValueError:
                valid = ", ".join(s.value for s in ExecutionStatus)
                raise InvalidParameterError(f"unknown execution status {status!r}; use one of {valid}") from None
        return await self._engine.list(status=wanted, limit=limit)

    def events(self, execution_id: str | None = None) -> Subscription:
        """Progress events of one execution, or of all executions."""
        return self._engine.subscribe(execution_id)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel the executions this process runs and wait until they are stored as cancelled."""
        await self._engine.shutdown(timeout)
