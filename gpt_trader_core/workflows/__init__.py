"""Workflows: DAGs of steps run in the background, with progress stored and published as they go.

    from gpt_trader_core.workflows import Step, WorkflowDefinition, WorkflowEngine
    definition = WorkflowDefinition("hello", "two steps", params=(), steps=(
        Step("a", fetch), Step("b", compute, depends_on="a", timeout=10, retries=2)), report=make_report)
    engine = WorkflowEngine(state_store, event_bus)
    execution = await engine.run(definition, {})      # or start(...) and later get/cancel/wait

Scheduling rules: ``gpt_trader_core.workflows.definition``; running and cancellation:
``gpt_trader_core.workflows.engine``; storage, events and recovery: ``gpt_trader_core.workflows.executions``.
The built-in workflows (``simple_backtest``, ``multi_strategy_ensemble``, ``strategy_optimization``) are
built on the use cases by ``gpt_trader_core.workflows.use_case.Workflows`` (the use case drivers call; it
sits at the top of this layer because it composes the workflows, which compose the services below).
"""

from gpt_trader_core.domain.params import Param
from gpt_trader_core.workflows.definition import (
    Step,
    StepState,
    StepStatus,
    WorkflowContext,
    WorkflowDefinition,
    WorkflowDefinitionError,
)
from gpt_trader_core.workflows.engine import WorkflowEngine
from gpt_trader_core.workflows.executions import (
    CANCEL_KIND,
    EVENT_TYPES,
    INTERRUPTED,
    KIND,
    cancel_request_id,
    execution_steps,
)

__all__ = [
    "CANCEL_KIND",
    "EVENT_TYPES",
    "INTERRUPTED",
    "KIND",
    "Param",
    "Step",
    "StepState",
    "StepStatus",
    "WorkflowContext",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "WorkflowEngine",
    "cancel_request_id",
    "execution_steps",
]
