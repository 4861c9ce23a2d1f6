"""Workflow definitions: steps in a DAG, declared inputs, and what a running step sees.

A :class:`WorkflowDefinition` is validated when it is built: step names are unique, every dependency
names a step of the workflow, the dependencies form no cycle, and every declared input's default
passes its own validation. Inputs are declared with the strategies' :class:`Param` (type, default,
range, choices) and coerced by :meth:`WorkflowDefinition.resolve`.

Scheduling rules (carried out by ``WorkflowEngine``):

- a step starts when every dependency has *finished*: succeeded, skipped, or failed with
  ``continue_on_failure``; steps whose dependencies are done run concurrently;
- a skipped dependency does not block: the dependant runs and sees ``ctx.status(dep) == "skipped"``
  (give it a ``condition`` to skip it too);
- ``condition(ctx)`` false → the step is ``skipped``; a condition that raises fails the step;
- an attempt that raises or outlasts ``timeout`` seconds is retried ``retries`` times; attempt ``k``
  (``k >= 1``) is retried after ``retry_backoff * 2 ** (k - 1)`` seconds;
- a step that fails for good fails the workflow unless ``continue_on_failure``: then the workflow goes
  on and dependants see ``ctx.failed(name)`` / ``ctx.error(name)``;
- when the workflow stops (failure or cancellation) running steps end ``cancelled`` and steps that
  never started end ``not_run``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from gpt_trader_core.domain.params import Param
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.errors import GptTraderError, InvalidParameterError

if TYPE_CHECKING:  # (imported on use: it imports numpy, which reading executions does not need)
    from gpt_trader_core.optimization.runner import CancelToken

__all__ = [
    "Param",
    "Step",
    "StepFn",
    "StepState",
    "StepStatus",
    "WorkflowContext",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
]


class WorkflowDefinitionError(GptTraderError):
    """A workflow that cannot run as written: duplicate or unknown step names, a dependency cycle."""

    code = "invalid_workflow"
    http_status = 500


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # was running when the workflow stopped
    NOT_RUN = "not_run"  # never started: the workflow stopped first

    @property
    def finished(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


StepFn = Callable[["WorkflowContext"], Awaitable[Any]]
Condition = Callable[["WorkflowContext"], bool]
ReportFn = Callable[["WorkflowContext"], Mapping[str, Any]]
CheckFn = Callable[[Mapping[str, Any]], None]


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _params(value: Iterable[Param]) -> tuple[Param, ...]:
    return tuple(value)


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(value)


def _check_name(what: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise WorkflowDefinitionError(
            f"{what} name must be a non-empty string without surrounding spaces, got {name!r}"
        )


@attrs.frozen
class Step:
    """One unit of work: ``await run(ctx)``; its return value is ``ctx[name]`` for the steps after it.

    ``timeout`` (seconds, per attempt) is enforced with ``asyncio.timeout``: work that blocks the event
    loop (an inline executor) is only interrupted when it yields.
    """

    name: str
    run: StepFn
    depends_on: tuple[str, ...] = attrs.field(default=(), converter=_names)
    condition: Condition | None = None
    timeout: float | None = None
    retries: int = 0
    retry_backoff: float = 0.5
    continue_on_failure: bool = False
    description: str = ""

    def __attrs_post_init__(self) -> None:
        _check_name("a step", self.name)
        where = f"step {self.name!r}"
        if not callable(self.run):
            raise WorkflowDefinitionError(f"{where}: run must be an async function of the context")
        if self.condition is not None and not callable(self.condition):
            raise WorkflowDefinitionError(f"{where}: condition must be a function of the context or None")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0):
            raise WorkflowDefinitionError(f"{where}: timeout must be a positive number of seconds or None, got {t!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise WorkflowDefinitionError(f"{where}: retries must be an integer >= 0, got {self.retries!r}")
        b = self.retry_backoff
        if isinstance(b, bool) or not isinstance(b, int | float) or not math.isfinite(b) or b < 0:
            raise WorkflowDefinitionError(f"{where}: retry_backoff must be a number of seconds >= 0, got {b!r}")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): ``retry_backoff * 2 ** (attempt - 1)``."""
        return float(self.retry_backoff) * 2.0 ** (attempt - 1)


def _find_cycle(steps: Mapping[str, Step]) -> list[str] | None:
    """A dependency cycle as a path ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in steps[name].depends_on:
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in steps:
        if name not in state and (cycle := visit(name)) is not None:
            return cycle
    return None


def _coerce(workflow: str, param: Param, value: Any) -> Any:
    """``param.coerce``; an input declared with default ``None`` is optional and accepts ``None``."""
    if value is None and param.default is None:
        return None
    return param.coerce(workflow, value)


@attrs.frozen
class WorkflowDefinition:
    """A named DAG of steps with declared inputs and a report.

    ``params`` declare the inputs (coerced and range-checked by :meth:`resolve`); ``check`` adds rules
    between inputs (raise ``InvalidParameterError``); ``report(ctx)`` builds the JSON-like result of a
    successful execution from the steps' results.
    """

    name: str
    description: str
    params: tuple[Param, ...] = attrs.field(converter=_params)
    steps: tuple[Step, ...] = attrs.field(converter=_steps)
    report: ReportFn
    check: CheckFn | None = None

    def __attrs_post_init__(self) -> None:
        _check_name("a workflow", self.name)
        where = f"workflow {self.name!r}"
        if not self.steps:
            raise WorkflowDefinitionError(f"{where} has no steps")
        by_name: dict[str, Step] = {}
        for step in self.steps:
            if step.name in by_name:
                raise WorkflowDefinitionError(f"{where}: two steps are named {step.name!r}; step names must be unique")
            by_name[step.name] = step
        for step in self.steps:
            for dep in step.depends_on:
                if dep not in by_name:
                    raise WorkflowDefinitionError(
                        f"{where}: step {step.name!r} depends on unknown step {dep!r}; steps: {', '.join(by_name)}"
                    )
        cycle = _find_cycle(by_name)
        if cycle is not None:
            raise WorkflowDefinitionError(
                f"{where}: dependency cycle {' -> '.join(cycle)} (each step depends on the next)"
            )
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise WorkflowDefinitionError(f"{where}: duplicate input names in {names}")
        try:
            self.resolve({})
        except InvalidParameterError as exc:
            raise WorkflowDefinitionError(f"{where}: the default inputs are invalid: {exc}") from exc

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def layers(self) -> list[list[str]]:
        """Steps grouped by depth: a step's depth is 0 without dependencies, else 1 + its deepest
        dependency's. Steps of one layer can run in parallel."""
        depth: dict[str, int] = {}
        for step in self.steps:  # a definition may list a step before its dependencies: resolve on demand
            self._depth(step.name, depth)
        out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
        for step in self.steps:
            out[depth[step.name]].append(step.name)
        return out

    def _depth(self, name: str, depth: dict[str, int]) -> int:
        if name not in depth:
            deps = self.step(name).depends_on
            depth[name] = 1 + max(self._depth(dep, depth) for dep in deps) if deps else 0
        return depth[name]

    def resolve(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults merged with ``values``, each coerced to its declared type and range, then ``check``-ed."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidParameterError(
                f"{self.name}: unknown input {', '.join(map(repr, unknown))}; "
                f"valid inputs: {', '.join(known) or 'none'}"
            )
        resolved = {name: _coerce(self.name, p, p.default) for name, p in known.items()}
        resolved.update({name: _coerce(self.name, known[name], v) for name, v in values.items()})
        if self.check is not None:
            self.check(resolved)
        return resolved

    def describe(self) -> dict[str, Any]:
        """Name, description, inputs, steps and their layers (``layers()``) as JSON-like data (for listings)."""
        return {
            "name": self.name,
            "description": self.description,
            "params": [p.describe() for p in self.params],
            "steps": [
                {
                    "name": s.name,
                    "depends_on": list(s.depends_on),
                    "description": s.description,
                    "conditional": s.condition is not None,
                    "timeout": s.timeout,
                    "retries": s.retries,
                    "continue_on_failure": s.continue_on_failure,
                }
                for s in self.steps
            ],
            "layers": self.layers(),
        }


@attrs.define
class StepState:
    """Where one step of an execution has got to (stored in ``Execution.result["steps"]``)."""

    name: str
    depends_on: tuple[str, ...] = ()
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: Any = None  # datetime of the first attempt
    finished_at: Any = None
    error: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return float((self.finished_at - self.started_at).total_seconds())

    def finish(self, status: StepStatus, error: str | None = None) -> None:
        self.status = status
        self.finished_at = utcnow()
        if error is not None:
            self.error = error

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "depends_on": list(self.depends_on),
            "attempts": self.attempts,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "error": self.error,
        }


async def _nobody(topic: str) -> None:
    return None


class WorkflowContext:
    """What a step sees: the execution's id and inputs, earlier steps' results and states, a cancel
    token to hand to long jobs (set when the execution is cancelled), and ``before_start``: the hook to
    hand to whatever starts work of its own (``TradingSessions.start(..., before_start=...)``). It is
    awaited with that work's bus topic (``session:<id>``) before the work starts and records the
    execution's owner as the work's owner, so whoever started the workflow follows the work it started."""

    def __init__(
        self,
        execution_id: str,
        workflow: str,
        params: Mapping[str, Any],
        states: Mapping[str, StepState],
        cancel: CancelToken,
        before_start: Callable[[str], Awaitable[None]] = _nobody,
    ) -> None:
        self.execution_id = execution_id
        self.workflow = workflow
        self.params: Mapping[str, Any] = MappingProxyType(dict(params))
        self.cancel = cancel
        self.before_start = before_start
        self._states = states
        self._results: dict[str, Any] = {}

    def __getitem__(self, step: str) -> Any:
        """The result of ``step``; ``KeyError`` (naming its status) when it did not succeed."""
        if step not in self._results:
            status = self._states[step].status.value if step in self._states else "unknown"
            raise KeyError(f"step {step!r} has no result (it is {status})")
        return self._results[step]

    def get(self, step: str, default: Any = None) -> Any:
        return self._results.get(step, default)

    def status(self, step: str) -> StepStatus:
        return self._states[step].status

    def failed(self, step: str) -> bool:
        return self._states[step].status is StepStatus.FAILED

    def error(self, step: str) -> str | None:
        return self._states[step].error

    def set_result(self, step: str, value: Any) -> None:
        self._results[step] = value
