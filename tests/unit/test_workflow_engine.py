"""The workflow engine on the in-memory adapters: DAG scheduling, conditions, timeouts, retries, failure
policy, cancellation (in process and through the store), events, validation and crash recovery."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import Event, Execution, ExecutionStatus, utcnow
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError
from gpt_trader_core.workflows import (
    INTERRUPTED,
    Param,
    Step,
    StepStatus,
    WorkflowContext,
    WorkflowDefinition,
    WorkflowDefinitionError,
    WorkflowEngine,
    execution_steps,
)
from gpt_trader_core.workflows.executions import plain


@pytest.fixture
async def store() -> AsyncIterator[InMemoryStateStore]:
    store = InMemoryStateStore()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


@pytest.fixture
async def engine(store: InMemoryStateStore, bus: InMemoryEventBus) -> AsyncIterator[WorkflowEngine]:
    engine = WorkflowEngine(store, bus, poll_interval=0.05)
    yield engine
    await engine.shutdown()


def value(result: Any) -> Callable[[WorkflowContext], Any]:
    async def run(ctx: WorkflowContext) -> Any:
        return result

    return run


def sleeper(seconds: float, log: dict[str, tuple[float, float]] | None = None, name: str = "") -> Any:
    async def run(ctx: WorkflowContext) -> str:
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        if log is not None:
            log[name] = (started, time.perf_counter())
        return name

    return run


def definition(
    *steps: Step, params: tuple[Param, ...] = (), report: Any = None, check: Any = None
) -> WorkflowDefinition:
    return WorkflowDefinition(
        "test", "a test workflow", params, steps, report or (lambda ctx: {"ok": True}), check=check
    )


def steps_of(execution: Execution) -> dict[str, Any]:
    return {s["name"]: s for s in execution_steps(execution)}


async def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


# -- definitions -----------------------------------------------------------------------------------


def test_a_cycle_is_refused_with_its_path() -> None:
    with pytest.raises(
        WorkflowDefinitionError, match=r"dependency cycle a -> c -> b -> a \(each step depends on the next\)"
    ):
        definition(
            Step("a", value(1), depends_on="c"),
            Step("b", value(1), depends_on="a"),
            Step("c", value(1), depends_on="b"),
        )


def test_unknown_dependency_and_duplicate_names_are_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="step 'b' depends on unknown step 'x'; steps: a, b"):
        definition(Step("a", value(1)), Step("b", value(1), depends_on=("a", "x")))
    with pytest.raises(WorkflowDefinitionError, match="two steps are named 'a'"):
        definition(Step("a", value(1)), Step("a", value(2)))
    with pytest.raises(WorkflowDefinitionError, match="dependency cycle a -> a"):
        definition(Step("a", value(1), depends_on="a"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"retries": -1}, "retries must be an integer >= 0"),
        ({"retry_backoff": float("nan")}, "retry_backoff must be a number"),
        ({"name": " padded"}, "without surrounding spaces"),
    ],
)
def test_bad_step_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match=message):
        Step(**{"name": "a", "run": value(1), **kwargs})


def test_layers_group_parallel_steps() -> None:
    d = definition(
        Step("d", value(1), depends_on=("b", "c")),
        Step("a", value(1)),
        Step("b", value(1), depends_on="a"),
        Step("c", value(1), depends_on="a"),
    )
    assert d.layers() == [["a"], ["b", "c"], ["d"]]


def test_invalid_defaults_are_refused_at_definition() -> None:
    with pytest.raises(WorkflowDefinitionError, match="default inputs are invalid"):
        definition(Step("a", value(1)), params=(Param("n", int, 0, 1, 10),))


# -- inputs ----------------------------------------------------------------------------------------


async def test_inputs_are_coerced_and_validated_before_anything_is_stored(
    engine: WorkflowEngine, store: InMemoryStateStore
) -> None:
    def check(values: Any) -> None:
        if values["low"] >= values["high"]:
            raise InvalidParameterError("test: low must be below high")

    d = definition(
        Step("a", value(1)),
        params=(
            Param("low", int, 1, 0, 100),
            Param("high", int, 10, 0, 100),
            Param("mode", str, "x", choices=("x", "y")),
            Param("flag", bool, False),
        ),
        check=check,
    )
    done = await engine.run(d, {"low": "3", "flag": "yes"})
    assert done.params == {"low": 3, "high": 10, "mode": "x", "flag": True}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"speed": 1}, "unknown input 'speed'; valid inputs: low, high, mode, flag"),
        ({"low": "many"}, "parameter 'low' must be int"),
        ({"high": 1000}, "out of range"),
        ({"mode": "z"}, "must be one of"),
        ({"low": 50, "high": 5}, "low must be below high"),
    ]
    for params, message in cases:
        with pytest.raises(InvalidParameterError, match=message):
            await engine.start(d, params)
    assert len(await store.list_executions()) == 1


# -- scheduling ------------------------------------------------------------------------------------


async def test_dependencies_order_the_steps_and_independent_steps_overlap(engine: WorkflowEngine) -> None:
    log: dict[str, tuple[float, float]] = {}

    async def total(ctx: WorkflowContext) -> int:
        log["d"] = (time.perf_counter(), time.perf_counter())
        return int(ctx["a"] + len(ctx["b"]) + len(ctx["c"]))

    d = WorkflowDefinition(
        "diamond",
        "a → (b ∥ c) → d",
        (),
        (
            Step("a", value(10)),
            Step("b", sleeper(0.3, log, "bb"), depends_on="a"),
            Step("c", sleeper(0.3, log, "ccc"), depends_on="a"),
            Step("d", total, depends_on=("b", "c")),
        ),
        lambda ctx: {"total": ctx["d"]},
    )
    started = time.perf_counter()
    done = await engine.run(d)
    elapsed = time.perf_counter() - started
    assert done.status is ExecutionStatus.SUCCEEDED and done.progress == 1.0
    assert done.result is not None and done.result["report"] == {"total": 15}
    (b0, b1), (c0, c1), (d0, _) = log["bb"], log["ccc"], log["d"]
    assert b0 < c1 and c0 < b1, "b and c ran one after the other"
    assert d0 >= max(b1, c1)
    assert elapsed < 0.55, f"parallel steps took {elapsed:.2f} s"
    assert all(s["status"] == "succeeded" and s["duration_s"] >= 0 for s in execution_steps(done))


async def test_a_false_condition_skips_a_step_and_its_dependants_still_run(engine: WorkflowEngine) -> None:
    seen: dict[str, Any] = {}

    async def after(ctx: WorkflowContext) -> str:
        seen["status"] = ctx.status("maybe")
        seen["result"] = ctx.get("maybe", "default")
        return "ran"

    d = definition(
        Step("maybe", value(1), condition=lambda ctx: ctx.params["go"]),
        Step("after", after, depends_on="maybe"),
        Step("also_skipped", value(2), depends_on="maybe", condition=lambda ctx: ctx.status("maybe") != "skipped"),
        params=(Param("go", bool, False),),
    )
    done = await engine.run(d)
    assert done.status is ExecutionStatus.SUCCEEDED
    steps = steps_of(done)
    assert steps["maybe"]["status"] == "skipped" and steps["also_skipped"]["status"] == "skipped"
    assert steps["after"]["status"] == "succeeded"
    assert seen == {"status": StepStatus.SKIPPED, "result": "default"}
    ran = await engine.run(d, {"go": True})
    assert {s["status"] for s in execution_steps(ran)} == {"succeeded"}


async def test_a_condition_that_raises_fails_the_step(engine: WorkflowEngine) -> None:
    d = definition(Step("a", value(1), condition=lambda ctx: ctx["missing"]))
    done = await engine.run(d)
    assert done.status is ExecutionStatus.FAILED
    assert done.error is not None and done.error.startswith("step 'a' failed: its condition raised KeyError")


async def test_a_step_that_outlasts_its_timeout_fails(engine: WorkflowEngine) -> None:
    d = definition(Step("slow", sleeper(10), timeout=0.1), Step("after", value(1), depends_on="slow"))
    started = time.perf_counter()
    done = await engine.run(d)
    assert time.perf_counter() - started < 1.0
    assert done.status is ExecutionStatus.FAILED
    assert done.error == "step 'slow' failed: timed out after 0.1 s"
    steps = steps_of(done)
    assert steps["slow"]["status"] == "failed" and steps["after"]["status"] == "not_run"


def flaky(failures: int, calls: list[float]) -> Any:
    async def run(ctx: WorkflowContext) -> str:
        calls.append(time.perf_counter())
        if len(calls) <= failures:
            raise ConnectionError(f"attempt {len(calls)} lost the connection")
        return "finally"

    return run


async def test_retry_with_backoff_then_success(engine: WorkflowEngine, bus: InMemoryEventBus) -> None:
    calls: list[float] = []
    events = bus.subscribe("executions")
    done = await engine.run(definition(Step("flaky", flaky(2, calls), retries=3, retry_backoff=0.05)))
    assert done.status is ExecutionStatus.SUCCEEDED
    step = steps_of(done)["flaky"]
    assert step["attempts"] == 3 and step["error"] is None
    assert calls[1] - calls[0] >= 0.05 and calls[2] - calls[1] >= 0.1  # backoff 0.05 * 2 ** (k - 1)
    retried = [e for e in await drain(events) if e.type == "step_retried"]
    assert [(e.data["attempt"], e.data["delay_s"]) for e in retried] == [(1, 0.05), (2, 0.1)]
    assert retried[0].data["error"] == "ConnectionError: attempt 1 lost the connection"


async def test_retries_exhausted_fail_the_workflow(engine: WorkflowEngine) -> None:
    calls: list[float] = []
    done = await engine.run(definition(Step("flaky", flaky(5, calls), retries=1, retry_backoff=0.01)))
    assert done.status is ExecutionStatus.FAILED and len(calls) == 2
    assert done.error == "step 'flaky' failed: ConnectionError: attempt 2 lost the connection"
    assert steps_of(done)["flaky"]["attempts"] == 2


async def test_continue_on_failure_lets_dependants_see_the_failure(engine: WorkflowEngine) -> None:
    async def broken(ctx: WorkflowContext) -> None:
        raise InvalidParameterError("no data for that symbol")

    async def after(ctx: WorkflowContext) -> dict[str, Any]:
        return {"failed": ctx.failed("optional"), "error": ctx.error("optional")}

    d = definition(
        Step("optional", broken, continue_on_failure=True),
        Step("after", after, depends_on="optional"),
        report=lambda ctx: ctx["after"],
    )
    done = await engine.run(d)
    assert done.status is ExecutionStatus.SUCCEEDED and done.error is None
    assert done.result is not None
    assert done.result["report"] == {"failed": True, "error": "no data for that symbol"}
    assert steps_of(done)["optional"]["status"] == "failed"


async def test_a_failure_cancels_running_siblings_and_skips_the_rest(engine: WorkflowEngine) -> None:
    async def broken(ctx: WorkflowContext) -> None:
        await asyncio.sleep(0.05)
        raise ValueError("bad")

    d = definition(
        Step("broken", broken), Step("long", sleeper(30)), Step("after", value(1), depends_on=("broken", "long"))
    )
    started = time.perf_counter()
    done = await engine.run(d)
    assert time.perf_counter() - started < 1.0
    assert done.status is ExecutionStatus.FAILED and done.error == "step 'broken' failed: ValueError: bad"
    assert {k: v["status"] for k, v in steps_of(done).items()} == {
        "broken": "failed",
        "long": "cancelled",
        "after": "not_run",
    }


async def test_a_failing_report_fails_the_execution(engine: WorkflowEngine) -> None:
    done = await engine.run(definition(Step("a", value(1)), report=lambda ctx: {"bad": object()}))
    assert done.status is ExecutionStatus.FAILED
    assert done.error is not None and done.error.startswith("the report failed: TypeError: a workflow report holds")


# -- progress, events ------------------------------------------------------------------------------


async def test_start_returns_at_once_and_progress_is_stored_while_running(engine: WorkflowEngine) -> None:
    gate = asyncio.Event()

    async def held(ctx: WorkflowContext) -> int:
        await gate.wait()
        return 1

    d = definition(Step("a", value(1)), Step("b", held, depends_on="a"), Step("c", value(1), depends_on="b"))
    started = time.perf_counter()
    pending = await engine.start(d, {})
    assert time.perf_counter() - started < 0.1
    assert pending.status is ExecutionStatus.PENDING and pending.kind == "workflow"

    async def b_running() -> bool:
        return bool(steps_of(await engine.get(pending.id))["b"]["status"] == "running")

    await wait_until(b_running)
    running = await engine.get(pending.id)
    assert running.status is ExecutionStatus.RUNNING and running.started_at is not None
    assert running.progress == pytest.approx(1 / 3) and running.message == "running: b"
    assert running.result is not None
    assert running.result["runner"]["pid"] == os.getpid()
    assert isinstance(running.result["heartbeat"], dt.datetime)
    assert steps_of(running)["a"]["status"] == "succeeded" and steps_of(running)["c"]["status"] == "pending"
    assert [e.id for e in await engine.list(status=ExecutionStatus.RUNNING)] == [pending.id]
    gate.set()
    done = await engine.wait(pending.id)
    assert done.status is ExecutionStatus.SUCCEEDED and done.finished_at is not None
    assert done.result is not None and done.result["duration_s"] > 0


async def drain(subscription: Any) -> list[Event]:
    events = []
    while (event := await subscription.get(timeout=0.05)) is not None:
        events.append(event)
    return events


async def test_events_are_published_in_order_on_both_topics(engine: WorkflowEngine, bus: InMemoryEventBus) -> None:
    everything = bus.subscribe("executions")
    d = definition(
        Step("a", value(1)),
        Step("b", value(2), depends_on="a"),
        Step("skip", value(3), depends_on="b", condition=lambda ctx: False),
    )
    pending = await engine.start(d, {})
    mine = bus.subscribe(f"execution:{pending.id}")
    await engine.wait(pending.id)
    events = await drain(mine)
    assert [(e.type, e.data.get("step")) for e in events] == [
        ("execution_started", None),
        ("step_started", "a"),
        ("step_finished", "a"),
        ("step_started", "b"),
        ("step_finished", "b"),
        ("step_skipped", "skip"),
        ("execution_finished", None),
    ]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert events[-1].data["status"] == "succeeded" and events[-1].data["progress"] == 1.0
    assert [e.type for e in await drain(everything)] == [e.type for e in events]


# -- cancellation ----------------------------------------------------------------------------------


async def test_cancel_mid_step_stops_within_two_seconds_with_consistent_state(
    engine: WorkflowEngine, store: InMemoryStateStore, bus: InMemoryEventBus
) -> None:
    cleaned: list[bool] = []
    started = asyncio.Event()

    async def long(ctx: WorkflowContext) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append(ctx.cancel.cancelled)

    d = definition(Step("a", value(1)), Step("long", long, depends_on="a"), Step("c", value(1), depends_on="long"))
    pending = await engine.start(d, {})
    events = bus.subscribe(f"execution:{pending.id}")
    await asyncio.wait_for(started.wait(), 2)
    t0 = time.perf_counter()
    cancelled = await engine.cancel(pending.id)
    assert time.perf_counter() - t0 < 2.0
    assert cancelled.status is ExecutionStatus.CANCELLED and cancelled.error == "cancelled on request"
    stored = await store.get_execution(pending.id)
    assert stored == cancelled and stored.finished_at is not None
    assert {k: v["status"] for k, v in steps_of(stored).items()} == {
        "a": "succeeded",
        "long": "cancelled",
        "c": "not_run",
    }
    assert stored.result is not None and stored.result["cancel_requested"] is True
    assert cleaned == [True]  # the step's own clean-up ran, and it saw the cancel token set
    assert (await drain(events))[-1].type == "execution_cancelled"
    assert engine.running == []
    with pytest.raises(ConflictError, match="already cancelled"):
        await engine.cancel(pending.id)


async def test_cancel_from_another_engine_goes_through_the_store(store: InMemoryStateStore) -> None:
    """Two engines on one store stand for two processes: the canceller only writes a cancel request."""
    runner = WorkflowEngine(store, InMemoryEventBus(), poll_interval=0.5)
    other = WorkflowEngine(store, InMemoryEventBus())
    started = asyncio.Event()

    async def long(ctx: WorkflowContext) -> None:
        started.set()
        await asyncio.sleep(60)

    pending = await runner.start(definition(Step("long", long)), {})
    await asyncio.wait_for(started.wait(), 2)
    t0 = time.perf_counter()
    done = await other.cancel(pending.id, timeout=5)
    assert time.perf_counter() - t0 < 2.0
    assert done.status is ExecutionStatus.CANCELLED and steps_of(done)["long"]["status"] == "cancelled"
    assert runner.running == []
    request = await store.get_execution(f"{pending.id}.cancel")
    assert request.kind == "workflow_cancel" and request.params == {"execution_id": pending.id}
    assert [e.id for e in await other.list()] == [pending.id]  # requests are not listed as workflows


class CommitThenReturn(InMemoryStateStore):
    """A store whose final writes are visible to readers before the writer's call returns, as with a database:
    the commit, then the round trip back."""

    async def update_execution(self, execution: Execution) -> None:
        await super().update_execution(execution)
        if execution.status.finished and execution.kind == "workflow":
            await asyncio.sleep(0.3)


async def test_an_execution_seen_cancelled_in_the_store_is_no_longer_running() -> None:
    """The race behind a flaky ``runner.running == []``: the canceller saw the stored end while the runner was
    still between that write and forgetting the run."""
    store = CommitThenReturn()
    await store.open()
    runner = WorkflowEngine(store, InMemoryEventBus(), poll_interval=0.05)
    other = WorkflowEngine(store, InMemoryEventBus())
    started = asyncio.Event()

    async def long(ctx: WorkflowContext) -> None:
        started.set()
        await asyncio.sleep(60)

    pending = await runner.start(definition(Step("long", long)), {})
    await asyncio.wait_for(started.wait(), 5)
    done = await other.cancel(pending.id, timeout=5)
    assert done.status is ExecutionStatus.CANCELLED
    assert runner.running == []
    finished = await runner.wait(pending.id)
    assert finished.status is ExecutionStatus.CANCELLED and runner.running == []
    await store.close()


async def test_a_prepared_execution_cancelled_before_it_starts_runs_no_step(store: InMemoryStateStore) -> None:
    runner = WorkflowEngine(store, InMemoryEventBus())
    canceller = WorkflowEngine(store, InMemoryEventBus())
    ran: list[str] = []

    async def record(ctx: WorkflowContext) -> None:
        ran.append("a")

    d = definition(Step("a", record))
    prepared = await runner.prepare(d, {})
    cancelled = await canceller.cancel(prepared.id)
    assert cancelled.status is ExecutionStatus.CANCELLED and cancelled.error == "cancelled before it started"
    with pytest.raises(ConflictError, match="only a pending execution can be started"):
        await runner.start_prepared(d, prepared.id)
    # The race the request record covers: the runner read "pending" just before the canceller wrote.
    again = await runner.prepare(d, {})
    await store.add_execution(Execution(id=f"{again.id}.cancel", kind="workflow_cancel", name="test"))
    await runner.start_prepared(d, again.id)
    done = await runner.wait(again.id)
    assert done.status is ExecutionStatus.CANCELLED and ran == []
    assert steps_of(done)["a"]["status"] == "not_run"


async def test_shutdown_stores_running_executions_as_cancelled(engine: WorkflowEngine) -> None:
    pending = await engine.start(definition(Step("long", sleeper(60))), {})
    await asyncio.sleep(0.05)
    await engine.shutdown()
    done = await engine.get(pending.id)
    assert done.status is ExecutionStatus.CANCELLED
    assert done.error == "cancelled: the process running it shut down"


async def test_unknown_and_foreign_ids(engine: WorkflowEngine, store: InMemoryStateStore) -> None:
    with pytest.raises(NotFoundError, match="'wf_nope' not found"):
        await engine.get("wf_nope")
    await store.add_execution(Execution(id="opt_1", kind="optimization", name="x"))
    with pytest.raises(NotFoundError, match="is a optimization execution, not a workflow's"):
        await engine.get("opt_1")


# -- recovery --------------------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_recovery_marks_executions_of_stopped_processes_failed(store: InMemoryStateStore) -> None:
    import socket

    here = socket.gethostname()
    now = utcnow()
    old = now - dt.timedelta(hours=2)
    steps = [
        {"name": "a", "status": "succeeded"},
        {"name": "b", "status": "running"},
        {"name": "c", "status": "pending"},
    ]

    def record(id_: str, status: ExecutionStatus, **result: Any) -> Execution:
        return Execution(
            id=id_, kind="workflow", name="test", status=status, created_at=old, result={"steps": steps, **result}
        )

    await store.add_execution(record("dead_pid", ExecutionStatus.RUNNING, runner={"host": here, "pid": dead_pid()}))
    await store.add_execution(record("alive_pid", ExecutionStatus.RUNNING, runner={"host": here, "pid": os.getpid()}))
    await store.add_execution(record("old_pending", ExecutionStatus.PENDING))
    await store.add_execution(
        record("fresh_elsewhere", ExecutionStatus.RUNNING, runner={"host": "other", "pid": 1}, heartbeat=now)
    )
    await store.add_execution(
        record("stale_elsewhere", ExecutionStatus.RUNNING, runner={"host": "other", "pid": 1}, heartbeat=old)
    )
    await store.add_execution(record("done", ExecutionStatus.SUCCEEDED))

    engine = WorkflowEngine(store, InMemoryEventBus(), stale_after=60)
    listed = {e.id: e for e in await engine.list()}  # the engine's first use recovers
    failed = {k for k, e in listed.items() if e.status is ExecutionStatus.FAILED}
    assert failed == {"dead_pid", "old_pending", "stale_elsewhere"}
    assert listed["alive_pid"].status is ExecutionStatus.RUNNING
    assert listed["fresh_elsewhere"].status is ExecutionStatus.RUNNING
    assert listed["done"].status is ExecutionStatus.SUCCEEDED
    recovered = await store.get_execution("dead_pid")
    assert recovered.error == INTERRUPTED and recovered.finished_at is not None
    assert [s["status"] for s in execution_steps(recovered)] == ["succeeded", "cancelled", "not_run"]
    assert await engine.recover() == []  # idempotent


# -- helpers ---------------------------------------------------------------------------------------


def test_plain_turns_numpy_and_tuples_into_json_like_values() -> None:
    assert plain({"a": np.float64(1.5), 2: (np.int64(3), np.array([1.0, 2.0])), "s": StepStatus.FAILED}) == {
        "a": 1.5,
        "2": [3, [1.0, 2.0]],
        "s": "failed",
    }
    with pytest.raises(TypeError, match="JSON-like values only"):
        plain({"x": {1, 2}})
