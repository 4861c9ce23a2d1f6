"""The workflow engine: runs a ``WorkflowDefinition`` as a background asyncio task, stores its progress in an
``Execution`` and publishes every change on the event bus.

Cancellation. ``cancel`` stops an execution this engine runs at once: the cancel token in the context is set
and the asyncio task cancelled; running steps end ``cancelled``, steps not started ``not_run``, the
execution ``cancelled``, all persisted. An execution run by another process is cancelled through the
store: ``cancel`` adds a *cancel request* record (kind ``"workflow_cancel"``, id ``"{id}.cancel"``), which
the running engine polls for every ``poll_interval`` seconds; then it stops as above and marks
``result["cancel_requested"]``. A separate record, not a flag written into the running execution, because
the store replaces records whole: a second writer would race with the runner and could overwrite its
final state.

Storage, events and recovery: ``gpt_trader_core.workflows.executions``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from gpt_trader_core.context import execution_id as execution_context
from gpt_trader_core.domain.records import Execution, ExecutionStatus, utcnow
from gpt_trader_core.errors import ConflictError, GptTraderError, InvalidParameterError, NotFoundError
from gpt_trader_core.ports import EventBus, ExecutionStore, OwnerStore, Subscription
from gpt_trader_core.workflows.definition import StepState, StepStatus, WorkflowContext, WorkflowDefinition
from gpt_trader_core.workflows.executions import (
    CANCEL_KIND,
    EVENT_TYPES,
    FINAL_EVENT,
    INTERRUPTED,
    KIND,
    OPEN,
    cancel_request_id,
    closed,
    describe_error,
    execution_steps,
    one_line,
    orphaned,
    plain,
)

__all__ = [
    "CANCEL_KIND",
    "EVENT_TYPES",
    "INTERRUPTED",
    "KIND",
    "WorkflowEngine",
    "cancel_request_id",
    "describe_error",
    "execution_steps",
    "plain",
]

log = logging.getLogger(__name__)

_SCAN_LIMIT = 1000  # open executions looked at per status by ``recover``


class _Run:
    """An execution this engine runs: its definition, step states, context and task."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        execution: Execution,
        values: Mapping[str, Any],
        before_start: Callable[[str], Awaitable[None]],
    ) -> None:
        from gpt_trader_core.optimization.runner import CancelToken  # (on use: it imports numpy)

        self.definition = definition
        self.execution = execution
        self.states = {s.name: StepState(s.name, s.depends_on) for s in definition.steps}
        self.ctx = WorkflowContext(execution.id, definition.name, values, self.states, CancelToken(), before_start)
        self.task: asyncio.Task[None] | None = None
        self.started = False  # the task's body has begun (a task cancelled before that never runs it)
        self.stopping = False
        self.ended = False  # its final state is being stored (or stored): no longer running
        self.cancel_reason: str | None = None
        self.dirty = False  # step states changed since the last write
        self.flusher: asyncio.Task[None] | None = None
        self.last_write = time.monotonic()
        self.clock = time.perf_counter()


def _progress(run: _Run) -> float:
    """Finished steps / steps."""
    return sum(1 for s in run.states.values() if s.status.finished) / len(run.states)


def _initial_steps(definition: WorkflowDefinition) -> list[dict[str, Any]]:
    return [StepState(s.name, s.depends_on).to_dict() for s in definition.steps]


class WorkflowEngine:
    """Runs workflows in the background; persists executions in ``executions``, publishes on ``bus``.

    Step changes are published at once and stored at most ``flush_interval`` seconds later (several
    changes share one write); the start and the end of an execution are stored before they are published.
    ``poll_interval``: seconds between checks for a cancel request from another process (cancellation
    across processes takes at most about this long plus ``cancel_grace``). ``heartbeat_interval``:
    seconds between heartbeats of a running execution. ``stale_after``: seconds without a sign of life
    after which an execution whose runner cannot be checked is orphaned. ``cancel_grace``: seconds a
    cancelled step is given to stop before it is recorded as cancelled regardless.

    Owners: with ``owners``, work a step starts (a paper session: ``WorkflowContext.before_start``) gets
    the execution's owner (``execution:<id>``, recorded by whoever started it, before it started) as
    its own, recorded before that work starts: who may follow an execution may follow its sessions.
    """

    def __init__(
        self,
        executions: ExecutionStore,
        bus: EventBus,
        *,
        poll_interval: float = 0.5,
        flush_interval: float = 0.1,
        heartbeat_interval: float = 5.0,
        stale_after: float = 60.0,
        cancel_grace: float = 1.0,
        owners: OwnerStore | None = None,
    ) -> None:
        for name, value in (
            ("poll_interval", poll_interval),
            ("flush_interval", flush_interval),
            ("heartbeat_interval", heartbeat_interval),
            ("stale_after", stale_after),
            ("cancel_grace", cancel_grace),
        ):
            if not math.isfinite(value) or value < 0:
                raise InvalidParameterError(f"{name} must be a number of seconds >= 0, got {value!r}")
        self._store = executions
        self._bus = bus
        self._poll_interval = poll_interval
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._stale_after = stale_after
        self._cancel_grace = cancel_grace
        self._owners = owners
        self._host = socket.gethostname()
        self._runner = {"host": self._host, "pid": os.getpid(), "engine": uuid.uuid4().hex[:12]}
        self._runs: dict[str, _Run] = {}
        self._recovered = False

    # -- public API ------------------------------------------------------------------------------

    async def prepare(
        self,
        definition: WorkflowDefinition,
        params: Mapping[str, Any] | None = None,
        *,
        execution_id: str | None = None,
    ) -> Execution:
        """Validate the inputs and store a ``pending`` execution (not started: see ``start_prepared``)."""
        from gpt_trader_core.services.backtest import new_id  # (on use: it imports the backtester)

        await self._startup()
        values = definition.resolve(dict(params or {}))
        execution = Execution(
            id=execution_id or new_id("wf"),
            kind=KIND,
            name=definition.name,
            params=values,
            message="pending",
            result={"steps": _initial_steps(definition)},
        )
        await self._store.add_execution(execution)
        return execution

    async def start(self, definition: WorkflowDefinition, params: Mapping[str, Any] | None = None) -> Execution:
        """Validate, store ``pending`` and run in the background; returns at once (the pending execution)."""
        execution = await self.prepare(definition, params)
        return await self.start_prepared(definition, execution.id)

    async def start_prepared(self, definition: WorkflowDefinition, execution_id: str) -> Execution:
        """Run the stored ``pending`` execution ``execution_id`` of ``definition`` in the background.

        Its stored inputs are validated again; if they are invalid the execution is marked failed and
        ``InvalidParameterError`` raised. ``ConflictError`` when it is not pending.
        """
        await self._startup()
        execution = await self._get_workflow(execution_id)
        if execution.name != definition.name:
            raise InvalidParameterError(
                f"execution {execution_id!r} runs workflow {execution.name!r}, not {definition.name!r}"
            )
        if execution.status is not ExecutionStatus.PENDING or execution_id in self._runs:
            raise ConflictError(
                f"execution {execution_id!r} is {execution.status.value}; only a pending execution can be started"
            )
        try:
            values = definition.resolve(execution.params)
        except GptTraderError as exc:
            failed = attrs.evolve(
                execution,
                status=ExecutionStatus.FAILED,
                finished_at=utcnow(),
                error=describe_error(exc),
                message="failed",
            )
            await self._store.update_execution(failed)
            raise
        run = _Run(definition, execution, values, self._inheritance(execution_id))
        self._runs[execution_id] = run
        run.task = asyncio.create_task(self._drive(run), name=f"workflow:{execution_id}")
        return execution

    async def wait(self, execution_id: str, timeout: float | None = None) -> Execution:
        """The execution once finished (or as it is after ``timeout`` seconds). Waiting for an execution
        of another process polls the store. Cancelling the waiter does not cancel the execution."""
        run = self._runs.get(execution_id)
        if run is not None and run.task is not None:
            await asyncio.wait({run.task}, timeout=timeout)
            return await self._store.get_execution(execution_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            execution = await self.get(execution_id)
            if execution.status.finished or (deadline is not None and time.monotonic() >= deadline):
                return execution
            await asyncio.sleep(max(self._poll_interval, 0.05))

    async def run(self, definition: WorkflowDefinition, params: Mapping[str, Any] | None = None) -> Execution:
        """Start and wait: the finished execution (succeeded, failed or cancelled)."""
        execution = await self.start(definition, params)
        return await self.wait(execution.id)

    async def cancel(self, execution_id: str, *, timeout: float = 5.0) -> Execution:
        """Cancel a pending or running execution; returns it once cancelled (or as it is after ``timeout``
        seconds, when its runner in another process has not stopped yet). ``ConflictError`` if finished."""
        execution = await self.get(execution_id)
        if execution.status.finished:
            raise ConflictError(
                f"execution {execution_id!r} already {execution.status.value}; only a pending or running "
                "execution can be cancelled"
            )
        run = self._runs.get(execution_id)
        if run is not None:
            self._request_cancel(run, "cancelled on request")
            if run.task is not None:
                await asyncio.wait({run.task}, timeout=timeout)
            return await self._store.get_execution(execution_id)
        request = Execution(
            id=cancel_request_id(execution_id),
            kind=CANCEL_KIND,
            name=execution.name,
            status=ExecutionStatus.SUCCEEDED,
            params={"execution_id": execution_id},
            message="cancellation requested",
            finished_at=utcnow(),
        )
        with contextlib.suppress(ConflictError):  # asked before: the request stands
            await self._store.add_execution(request)
        if execution.status is ExecutionStatus.PENDING:
            # Not started: cancel it outright. A runner starting meanwhile finds the request first thing.
            return await self._close_foreign(execution, ExecutionStatus.CANCELLED, "cancelled before it started")
        deadline = time.monotonic() + timeout
        while True:
            execution = await self._store.get_execution(execution_id)
            if execution.status.finished:
                return execution
            if self._orphaned(execution):
                return await self._close_foreign(
                    execution, ExecutionStatus.CANCELLED, "cancelled; its process had stopped"
                )
            if time.monotonic() >= deadline:
                return execution
            await asyncio.sleep(0.1)

    async def get(self, execution_id: str) -> Execution:
        """The stored workflow execution; ``NotFoundError`` for an unknown id."""
        await self._startup()
        return await self._honest(await self._get_workflow(execution_id))

    async def list(self, *, status: ExecutionStatus | None = None, limit: int = 50) -> builtins.list[Execution]:
        """Workflow executions, newest first, optionally of one status."""
        await self._startup()
        stored = await self._store.list_executions(kind=KIND, status=status, limit=limit)
        executions = [await self._honest(e) for e in stored]
        return [e for e in executions if status is None or e.status is status]

    def subscribe(self, execution_id: str | None = None, *, max_queue: int = 1000) -> Subscription:
        """Events of one execution (topic ``execution:{id}``), or of all (``executions``)."""
        topic = "executions" if execution_id is None else f"execution:{execution_id}"
        return self._bus.subscribe(topic, max_queue=max_queue)

    async def recover(self) -> builtins.list[Execution]:
        """Mark orphaned ``pending``/``running`` executions failed (:data:`INTERRUPTED`); returns them."""
        self._recovered = True
        recovered = []
        for status in OPEN:
            for execution in await self._store.list_executions(kind=KIND, status=status, limit=_SCAN_LIMIT):
                if self._orphaned(execution):
                    recovered.append(await self._close_foreign(execution, ExecutionStatus.FAILED, INTERRUPTED))
        return recovered

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every execution this engine runs and wait (up to ``timeout`` s) until each is stored as
        cancelled. For a process that is about to exit."""
        runs = list(self._runs.values())
        for run in runs:
            self._request_cancel(run, "cancelled: the process running it shut down")
        tasks = {run.task for run in runs if run.task is not None}
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    @property
    def running(self) -> builtins.list[str]:
        """Ids of the executions this engine is running. An execution leaves this list as its final state
        is written, so whoever reads that state from the store (another process's ``cancel``) never finds
        it still listed here."""
        return [execution_id for execution_id, run in self._runs.items() if not run.ended]

    # -- running ---------------------------------------------------------------------------------

    async def _drive(self, run: _Run) -> None:
        execution_context.set(run.execution.id)  # this task and its step tasks log with the execution id
        run.started = True
        tasks: dict[asyncio.Task[None], str] = {}
        watcher = asyncio.create_task(self._watch(run), name=f"workflow-watch:{run.execution.id}")
        try:
            if run.cancel_reason is None and await self._cancel_requested(run.execution.id):
                run.cancel_reason = "cancelled on request"
            if run.cancel_reason is not None:
                await self._stop(run, tasks, ExecutionStatus.CANCELLED, run.cancel_reason)
                return
            await self._save(run, status=ExecutionStatus.RUNNING, started_at=utcnow())
            await self._publish(run, "execution_started")
            failure = await self._schedule(run, tasks)
            if failure is not None:
                await self._stop(run, tasks, ExecutionStatus.FAILED, failure)
                return
            try:
                report = plain(run.definition.report(run.ctx))
            except Exception as exc:
                log.warning("workflow %s (%s): the report failed", run.definition.name, run.execution.id, exc_info=True)
                await self._stop(run, tasks, ExecutionStatus.FAILED, f"the report failed: {describe_error(exc)}")
                return
            run.stopping = True
            await self._finish(run, ExecutionStatus.SUCCEEDED, None, report)
        except asyncio.CancelledError:
            reason = run.cancel_reason or "cancelled: the engine was stopped"
            await asyncio.shield(self._stop(run, tasks, ExecutionStatus.CANCELLED, reason))
        except Exception as exc:
            log.exception("workflow %s (%s): the engine failed", run.definition.name, run.execution.id)
            with contextlib.suppress(Exception):
                await self._stop(run, tasks, ExecutionStatus.FAILED, f"engine error: {describe_error(exc)}")
        finally:
            for helper in (watcher, run.flusher):
                if helper is not None:
                    helper.cancel()
                    await asyncio.gather(helper, return_exceptions=True)
            self._runs.pop(run.execution.id, None)

    async def _schedule(self, run: _Run, tasks: dict[asyncio.Task[None], str]) -> str | None:
        """Run the DAG; the one-line reason the workflow fails, or None when every step finished."""
        states = run.states
        while True:
            progressed = True
            while progressed:  # a skip may make further steps ready: pass again
                progressed = False
                for step in run.definition.steps:
                    state = states[step.name]
                    if state.status is not StepStatus.PENDING:
                        continue
                    if not all(states[dep].status.finished for dep in step.depends_on):
                        continue
                    if step.condition is not None:
                        try:
                            wanted = bool(step.condition(run.ctx))
                        except Exception as exc:
                            state.finish(StepStatus.FAILED, f"its condition raised {describe_error(exc)}")
                            await self._step_event(run, "step_failed", state, error=state.error)
                            if not step.continue_on_failure:
                                return f"step {step.name!r} failed: {state.error}"
                            progressed = True
                            continue
                        if not wanted:
                            state.finish(StepStatus.SKIPPED)
                            await self._step_event(run, "step_skipped", state)
                            progressed = True
                            continue
                    state.status = StepStatus.RUNNING
                    tasks[asyncio.create_task(self._run_step(run, step.name))] = step.name
            if not tasks:
                return None
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            failure = None
            for task in done:
                name = tasks.pop(task)
                task.result()  # _run_step records step failures; anything raised here is the engine's
                state = states[name]
                stops = state.status is StepStatus.FAILED and not run.definition.step(name).continue_on_failure
                if failure is None and stops:
                    failure = f"step {name!r} failed: {state.error}"
            if failure is not None:
                return failure

    async def _run_step(self, run: _Run, name: str) -> None:
        step = run.definition.step(name)
        state = run.states[name]
        state.started_at = utcnow()
        for attempt in range(1, step.retries + 2):
            state.attempts = attempt
            if attempt == 1:
                await self._step_event(run, "step_started", state, attempt=attempt)
            try:
                async with asyncio.timeout(step.timeout) as scope:
                    value = await step.run(run.ctx)
            except TimeoutError as exc:
                error = f"timed out after {step.timeout:g} s" if scope.expired() else describe_error(exc)
            except Exception as exc:
                error = describe_error(exc)
            else:
                run.ctx.set_result(name, value)
                state.error = None
                state.finish(StepStatus.SUCCEEDED)
                await self._step_event(run, "step_finished", state, attempt=attempt, duration_s=state.duration_s)
                return
            if run.cancel_reason is not None:  # the failure is the cancellation's doing: leave it to _stop
                return
            if attempt <= step.retries:
                delay = step.backoff(attempt)
                state.error = error
                await self._step_event(run, "step_retried", state, attempt=attempt, error=error, delay_s=delay)
                await asyncio.sleep(delay)
                continue
            state.finish(StepStatus.FAILED, error)
            await self._step_event(run, "step_failed", state, attempt=attempt, error=error, duration_s=state.duration_s)

    async def _watch(self, run: _Run) -> None:
        """Poll for a cancel request from another process; keep the heartbeat fresh."""
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                if run.cancel_reason is None and await self._cancel_requested(run.execution.id):
                    self._request_cancel(run, "cancelled on request")
                elif (
                    run.execution.status is ExecutionStatus.RUNNING
                    and not run.stopping
                    and time.monotonic() - run.last_write >= self._heartbeat_interval
                ):
                    await self._save(run)
            except Exception:
                log.warning("workflow execution %s: polling the store failed", run.execution.id, exc_info=True)

    def _request_cancel(self, run: _Run, reason: str) -> None:
        if run.cancel_reason is not None or run.stopping:
            return
        run.cancel_reason = reason
        run.ctx.cancel.cancel()
        if run.started and run.task is not None and not run.task.done():
            run.task.cancel()
        # not started yet: _drive sees cancel_reason first thing and stops without running a step

    def _inheritance(self, execution_id: str) -> Callable[[str], Awaitable[None]]:
        """The ``before_start`` of an execution's steps: the execution's owner becomes the owner of
        ``topic`` (nothing when no owner store is given or no owner was recorded)."""
        owners = self._owners

        async def inherit(topic: str) -> None:
            if owners is None:
                return
            owner = await owners.get_owner(f"execution:{execution_id}")
            if owner:
                await owners.set_owner(topic, owner)

        return inherit

    async def _cancel_requested(self, execution_id: str) -> bool:
        try:
            await self._store.get_execution(cancel_request_id(execution_id))
        except NotFoundError:
            return False
        return True

    async def _stop(self, run: _Run, tasks: dict[asyncio.Task[None], str], status: ExecutionStatus, error: str) -> None:
        """Cancel running steps, close every step state, store and announce the final status."""
        run.stopping = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self._cancel_grace)
        for state in run.states.values():
            if state.status is StepStatus.RUNNING:
                state.finish(StepStatus.CANCELLED)
            elif state.status is StepStatus.PENDING:
                state.finish(StepStatus.NOT_RUN)
        await self._finish(run, status, error, None)

    async def _finish(self, run: _Run, status: ExecutionStatus, error: str | None, report: Any) -> None:
        extra: dict[str, Any] = {"duration_s": time.perf_counter() - run.clock}
        if report is not None:
            extra["report"] = report
        run.ended = True
        await self._save(
            run,
            extra,
            status=status,
            finished_at=utcnow(),
            error=None if error is None else one_line(error),
            message=status.value,
        )
        await self._publish(run.execution, FINAL_EVENT[status], error=run.execution.error)

    # -- storing and publishing -------------------------------------------------------------------

    def _snapshot(self, run: _Run, extra: Mapping[str, Any] | None = None, **changes: Any) -> Execution:
        states = run.states.values()
        if "message" not in changes and changes.get("status", run.execution.status) is ExecutionStatus.RUNNING:
            running = [s.name for s in states if s.status is StepStatus.RUNNING]
            changes["message"] = f"running: {', '.join(running)}" if running else "running"
        result: dict[str, Any] = {
            **dict(run.execution.result or {}),
            "steps": [s.to_dict() for s in states],
            "runner": dict(self._runner),
            "heartbeat": utcnow(),
            **(extra or {}),
        }
        if run.cancel_reason is not None:
            result["cancel_requested"] = True
        run.execution = attrs.evolve(run.execution, progress=_progress(run), result=result, **changes)
        return run.execution

    async def _save(self, run: _Run, extra: Mapping[str, Any] | None = None, **changes: Any) -> None:
        execution = self._snapshot(run, extra, **changes)
        run.dirty = False
        run.last_write = time.monotonic()
        await self._store.update_execution(execution)

    async def _step_event(self, run: _Run, type_: str, state: StepState, **data: Any) -> None:
        """Announce a step's change at once; store it with the next write (within ``flush_interval``)."""
        run.dirty = True
        if run.flusher is None or run.flusher.done():
            run.flusher = asyncio.create_task(self._flush_soon(run))
        await self._publish(run, type_, step=state.name, **data)

    async def _flush_soon(self, run: _Run) -> None:
        """Write the step states ``flush_interval`` seconds after the previous write (changes meanwhile
        share the write, so the cost per step stays flat however many steps run)."""
        try:
            delay = self._flush_interval - (time.monotonic() - run.last_write)
            if delay > 0:
                await asyncio.sleep(delay)
            if run.dirty and not run.stopping:
                await self._save(run)
        except Exception:
            log.warning("workflow execution %s: storing its progress failed", run.execution.id, exc_info=True)

    async def _publish(self, source: _Run | Execution, type_: str, **data: Any) -> None:
        execution = source.execution if isinstance(source, _Run) else source
        payload = {
            "execution_id": execution.id,
            "workflow": execution.name,
            "status": execution.status.value,
            "progress": _progress(source) if isinstance(source, _Run) else execution.progress,
            **data,
        }
        for topic in (f"execution:{execution.id}", "executions"):
            try:
                await self._bus.publish(topic, type_, payload)
            except Exception:  # events are best effort: the stored execution is the truth
                log.warning("publishing %s on %s failed", type_, topic, exc_info=True)

    # -- recovery ----------------------------------------------------------------------------------

    async def _startup(self) -> None:
        if not self._recovered:
            await self.recover()

    async def _get_workflow(self, execution_id: str) -> Execution:
        execution = await self._store.get_execution(execution_id)
        if execution.kind != KIND:
            raise NotFoundError(
                f"execution {execution_id!r} is a {execution.kind} execution, not a workflow's (list them to check)"
            )
        return execution

    async def _honest(self, execution: Execution) -> Execution:
        if execution.status in OPEN and self._orphaned(execution):
            return await self._close_foreign(execution, ExecutionStatus.FAILED, INTERRUPTED)
        return execution

    def _orphaned(self, execution: Execution) -> bool:
        return execution.id not in self._runs and orphaned(execution, host=self._host, stale_after=self._stale_after)

    async def _close_foreign(self, execution: Execution, status: ExecutionStatus, error: str) -> Execution:
        """Finish an execution no process of ours runs: close its steps, store, announce."""
        finished = closed(execution, status, error)
        await self._store.update_execution(finished)
        await self._publish(finished, FINAL_EVENT[status], error=error)
        return finished
