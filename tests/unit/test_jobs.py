"""Background jobs on the real in-memory state store and event bus."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import ExecutionStatus
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError
from gpt_trader_core.services.jobs import JobProgress, Jobs
from gpt_trader_core.services.market_reads import check_window


async def _jobs() -> tuple[Jobs, InMemoryStateStore, InMemoryEventBus]:
    store, bus = InMemoryStateStore(), InMemoryEventBus()
    await store.open()
    return Jobs(store, bus), store, bus


async def test_a_job_reports_progress_on_the_bus_and_stores_its_result() -> None:
    jobs, _, bus = await _jobs()
    events = bus.subscribe("execution:*")

    async def work(progress: JobProgress) -> dict[str, int]:
        for i in range(4):
            progress.report((i + 1) / 4, f"{i + 1}/4")
            await asyncio.sleep(0)
        return {"answer": 42}

    execution = await jobs.start("backtest", "demo", {"x": 1}, work)
    assert execution.status is ExecutionStatus.PENDING
    while not (done := await jobs.get(execution.id)).status.finished:
        await asyncio.sleep(0.01)
    assert done.status is ExecutionStatus.SUCCEEDED and done.result == {"answer": 42} and done.progress == 1.0
    types = []
    while (event := await events.get(timeout=0.1)) is not None:
        types.append(event.type)
    assert types[0] == "job_started" and types.count("job_progressed") == 4 and types[-1] == "job_succeeded"
    with pytest.raises(ConflictError):
        await jobs.cancel(execution.id)
    with pytest.raises(NotFoundError):
        await jobs.get(execution.id, "optimization")


async def test_cancel_stops_a_running_job_and_stores_it_cancelled() -> None:
    jobs, _, _ = await _jobs()
    started = asyncio.Event()

    async def forever(progress: JobProgress) -> dict[str, int]:
        started.set()
        await asyncio.sleep(3600)
        return {}

    execution = await jobs.start("optimization", "slow", {}, forever)
    await started.wait()
    cancelled = await jobs.cancel(execution.id, "optimization")
    assert cancelled.status is ExecutionStatus.CANCELLED
    assert [e.id for e in await jobs.list("optimization")] == [execution.id]


async def test_a_failing_job_is_stored_failed_with_the_reason() -> None:
    jobs, _, _ = await _jobs()

    async def broken(progress: JobProgress) -> dict[str, int]:
        raise InvalidParameterError("no such parameter 'x'")

    execution = await jobs.start("backtest", "broken", {}, broken)
    while not (done := await jobs.get(execution.id)).status.finished:
        await asyncio.sleep(0.01)
    assert done.status is ExecutionStatus.FAILED and "no such parameter" in (done.error or "")


def test_windows_are_refused_before_any_data_is_read() -> None:
    day = dt.datetime(2024, 1, 1)
    check_window(day, day + dt.timedelta(days=30), "1m")  # 43,200 bars: fine
    with pytest.raises(InvalidParameterError, match="after end"):
        check_window(day, day - dt.timedelta(days=1), "1d")
    with pytest.raises(InvalidParameterError, match="start and end"):
        check_window(None, None, "5m")
    with pytest.raises(InvalidParameterError, match="more than"):
        check_window(day, day + dt.timedelta(days=365), "1m")
    check_window(None, None, "1d")
