"""Background jobs for the drivers: long work (a large backtest, an optimisation) runs as an asyncio task
tracked as an ``Execution`` in the execution store, its progress stored and published on the event bus
(topic ``execution:<id>``), cancellable, and cancelled cleanly when the process stops."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.records import Execution, ExecutionStatus, utcnow
from gpt_trader_core.errors import CancelledError, ConflictError, GptTraderError
from gpt_trader_core.ports import EventBus, ExecutionStore
from gpt_trader_core.services.backtest import new_id

log = logging.getLogger("gpt_trader.jobs")

#: Progress is stored at most this often (seconds); every update is still published.
STORE_EVERY_S = 0.5


class JobProgress:
    """Handed to a job: ``report(fraction, message)`` records progress; ``cancelled`` says stop."""

    def __init__(self, jobs: Jobs, execution_id: str) -> None:
        self._jobs = jobs
        self.execution_id = execution_id
        self.cancelled = False
        self._stored_at = 0.0
        self._pending: set[asyncio.Future[None]] = set()

    def report(self, fraction: float, message: str = "", **data: Any) -> None:
        """Safe to call from synchronous callbacks on the loop: the write is scheduled, not awaited."""
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        store = now - self._stored_at >= STORE_EVERY_S
        if store:
            self._stored_at = now
        write = asyncio.ensure_future(self._jobs.record_progress(self.execution_id, fraction, message, data, store))
        self._pending.add(write)
        write.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the progress writes still in flight (so none lands after the final state)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


Job = Callable[[JobProgress], Awaitable[Mapping[str, Any]]]


class Jobs:
    """Start, inspect, list and cancel background jobs of this process."""

    def __init__(self, store: ExecutionStore, bus: EventBus) -> None:
        self._store = store
        self._bus = bus
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._reporters: dict[str, JobProgress] = {}

    async def start(
        self,
        kind: str,
        name: str,
        params: Mapping[str, Any],
        job: Job,
        *,
        before_start: Callable[[str], Awaitable[None]] | None = None,
    ) -> Execution:
        """Store a pending execution and run ``job`` in the background; returns at once.
        ``before_start`` is awaited with the execution's bus topic (``execution:<id>``) before anything
        runs: where the caller records who started it, so its first event finds its owner."""
        execution = Execution(id=new_id(kind[:3]), kind=kind, name=name, params=dict(params))
        if before_start is not None:
            await before_start(f"execution:{execution.id}")
        await self._store.add_execution(execution)
        progress = JobProgress(self, execution.id)
        self._reporters[execution.id] = progress
        self._tasks[execution.id] = asyncio.create_task(self._run(execution, job, progress), name=f"job-{execution.id}")
        return execution

    async def _run(self, execution: Execution, job: Job, progress: JobProgress) -> None:
        execution = attrs.evolve(execution, status=ExecutionStatus.RUNNING, started_at=utcnow())
        await self._store.update_execution(execution)
        await self._publish(execution, "job_started")
        try:
            result = await job(progress)
            await progress.drain()
            execution = attrs.evolve(
                await self._store.get_execution(execution.id),
                status=ExecutionStatus.SUCCEEDED,
                progress=1.0,
                message="finished",
                result=dict(result),
                finished_at=utcnow(),
            )
        except (asyncio.CancelledError, CancelledError):
            await progress.drain()
            execution = attrs.evolve(
                await self._store.get_execution(execution.id),
                status=ExecutionStatus.CANCELLED,
                error="cancelled",
                finished_at=utcnow(),
            )
        except GptTraderError as exc:
            execution = attrs.evolve(execution, status=ExecutionStatus.FAILED, error=str(exc), finished_at=utcnow())
        except Exception as exc:
            log.exception("job %s failed", execution.id)
            execution = attrs.evolve(
                execution, status=ExecutionStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=utcnow()
            )
        finally:
            self._tasks.pop(execution.id, None)
            self._reporters.pop(execution.id, None)
        await self._store.update_execution(execution)
        await self._publish(execution, f"job_{execution.status.value}")

    async def record_progress(
        self, execution_id: str, fraction: float, message: str, data: Mapping[str, Any], store: bool
    ) -> None:
        await self._bus.publish(
            f"execution:{execution_id}",
            "job_progressed",
            {"id": execution_id, "progress": fraction, "message": message, **data},
        )
        if store and execution_id in self._tasks:
            current = await self._store.get_execution(execution_id)
            if not current.status.finished:
                await self._store.update_execution(attrs.evolve(current, progress=fraction, message=message))

    async def _publish(self, execution: Execution, type_: str) -> None:
        data = {
            "id": execution.id,
            "kind": execution.kind,
            "status": execution.status.value,
            "progress": execution.progress,
        }
        await self._bus.publish(f"execution:{execution.id}", type_, data)

    async def get(self, execution_id: str, kind: str | None = None) -> Execution:
        """The stored execution (``NotFoundError`` for an unknown id, or one of another kind)."""
        execution = await self._store.get_execution(execution_id)
        if kind is not None and execution.kind != kind:
            from gpt_trader_core.errors import NotFoundError

            raise NotFoundError(f"no {kind} job {execution_id!r}")
        return execution

    async def list(self, kind: str, limit: int = 50) -> builtins.list[Execution]:
        return await self._store.list_executions(kind=kind, limit=limit)

    def progress_of(self, execution_id: str) -> JobProgress | None:
        return self._reporters.get(execution_id)

    async def cancel(self, execution_id: str, kind: str | None = None, timeout: float = 5.0) -> Execution:
        """Cancel a running job of this process; ``ConflictError`` when it has finished already."""
        execution = await self.get(execution_id, kind)
        if execution.status.finished:
            raise ConflictError(f"job {execution_id} has already {execution.status.value}; nothing to cancel")
        task = self._tasks.get(execution_id)
        progress = self._reporters.get(execution_id)
        if progress is not None:
            progress.cancelled = True
        if task is None:  # started by another process that is gone: record the cancellation
            execution = attrs.evolve(
                execution, status=ExecutionStatus.CANCELLED, error="cancelled", finished_at=utcnow()
            )
            await self._store.update_execution(execution)
            return execution
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)
        return await self._store.get_execution(execution_id)

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every job of this process and wait until each is stored as cancelled."""
        tasks = list(self._tasks.values())
        for progress in self._reporters.values():
            progress.cancelled = True
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
