"""Contract tests of the ``Executor`` port: in-process, a local process pool and a real Dask cluster.

The Dask tests share one ``LocalCluster`` per module (2 worker processes × 1 thread, ~1 s to start).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest

from adapters.executor import (
    DaskExecutor,
    ExecutorClosedError,
    InlineExecutor,
    LocalProcessExecutor,
    RemoteJobError,
    chunk_size,
)
from gpt_trader_core.errors import ConfigurationError, InvalidParameterError
from gpt_trader_core.ports import Executor
from tests.adapters import _executor_jobs as jobs

KINDS = ["inline", "local", "dask"]


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")  # only the tests on a Dask cluster need the dask extra
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},  # the scheduler's HTTP endpoints on a free port, not 8787
    ) as cluster:
        yield cluster


@pytest.fixture(params=KINDS)
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[Executor]:
    made: Executor
    if request.param == "inline":
        made = InlineExecutor()
    elif request.param == "local":
        made = LocalProcessExecutor(2)
    else:
        made = DaskExecutor(request.getfixturevalue("dask_cluster").scheduler_address)
    yield made
    await made.close()


@pytest.fixture
async def pool() -> AsyncIterator[LocalProcessExecutor]:
    made = LocalProcessExecutor(2)
    yield made
    await made.close()


# ---------------------------------------------------------------------------------------------- contract


async def test_run_returns_the_value(executor: Executor) -> None:
    assert await executor.run(jobs.add, 2, 3) == 5
    assert await executor.run(jobs.square, 7) == 49
    assert executor.workers >= 1


async def test_map_keeps_input_order(executor: Executor) -> None:
    # Later items are quicker, so they finish first wherever work runs in parallel.
    items = [(0.02 - 0.001 * i, i) for i in range(20)]
    results = await executor.map(jobs.slow_identity, items)
    assert [value for value, _ in results] == list(range(20))
    assert await executor.map(jobs.square, []) == []
    assert await executor.map(jobs.square, range(5)) == [0, 1, 4, 9, 16]  # any Sequence


async def test_exceptions_keep_their_type_and_message(executor: Executor) -> None:
    with pytest.raises(ValueError, match=r"^bad input: 42$"):
        await executor.run(jobs.fail, "bad input: 42")
    with pytest.raises(InvalidParameterError, match=r"^window must be > 0$"):
        await executor.run(jobs.fail_domain, "window must be > 0")
    with pytest.raises(KeyError, match="item 3"):
        await executor.map(jobs.fail_on_three, list(range(12)))
    assert await executor.run(jobs.add, 1, 1) == 2  # still usable


async def test_numpy_arrays_round_trip(executor: Executor) -> None:
    array = np.arange(12, dtype=np.float32).reshape(4, 3)
    doubled = await executor.run(jobs.scale, array, 2.0)
    assert doubled.dtype == np.float32
    assert doubled.shape == (4, 3)
    np.testing.assert_array_equal(doubled, array * 2)

    arrays: list[np.ndarray] = [array, array.astype(np.int64)]
    described = await executor.map(jobs.describe, arrays)
    np.testing.assert_array_equal(described[0]["cumsum"], np.cumsum(array, axis=0))
    assert [str(d["dtype"]) for d in described] == ["float32", "int64"]


async def test_deterministic_numpy_work_gives_identical_results(executor: Executor) -> None:
    seeds = list(range(12))
    expected = np.stack([jobs.walk_stats(seed) for seed in seeds])  # computed here, in this process
    got = np.stack(await executor.map(jobs.walk_stats, seeds))
    np.testing.assert_array_equal(got, expected)  # bit for bit, not approximately
    if isinstance(executor, LocalProcessExecutor):
        assert executor.last_map_mode == "pool"  # ~15 ms × 12 items: worth the pool


async def test_close_then_use_again(executor: Executor) -> None:
    await executor.close()  # before any use
    assert await executor.run(jobs.add, 1, 2) == 3
    await executor.close()
    await executor.close()  # idempotent
    assert await executor.run(jobs.add, 2, 2) == 4  # a closed executor starts again on demand
    assert await executor.map(jobs.square, [1, 2, 3]) == [1, 4, 9]


# ---------------------------------------------------------------------------------------------- local pool


def test_chunk_size_gives_about_four_tasks_per_worker() -> None:
    assert chunk_size(100, 2) == 13
    assert chunk_size(8, 2) == 1
    assert chunk_size(1, 8) == 1
    assert chunk_size(0, 2) == 1
    assert chunk_size(1000, 4) == 63


async def test_tiny_map_runs_in_process_without_starting_the_pool(pool: LocalProcessExecutor) -> None:
    assert await pool.map(jobs.square, list(range(200))) == [x * x for x in range(200)]
    assert pool.last_map_mode == "inline"
    assert not pool.started
    assert set(await pool.map(jobs.pid, range(10))) == {os.getpid()}


async def test_larger_map_goes_to_the_pool_in_chunks(pool: LocalProcessExecutor) -> None:
    items = [(0.02, i) for i in range(17)]  # first item ~20 ms × 17 > 50 ms
    results = await pool.map(jobs.slow_identity, items)
    assert pool.last_map_mode == "pool"
    assert pool.started
    assert [value for value, _ in results] == list(range(17))
    pids = [worker for _, worker in results]
    assert pids[0] == os.getpid()  # the timed first item
    assert os.getpid() not in pids[1:]
    assert pool.last_map_tasks == 8  # 16 items / (2 workers × 4) = 2 per task


async def test_threshold_zero_always_uses_the_pool() -> None:
    executor = LocalProcessExecutor(2, run_inline_below=0)
    try:
        pids = await executor.map(jobs.pid, list(range(100)))
        assert executor.last_map_mode == "pool"
        assert executor.last_map_tasks == 8  # chunks of 13
        assert os.getpid() not in pids
    finally:
        await executor.close()


async def test_map_refuses_an_unpicklable_function_whatever_the_size(pool: LocalProcessExecutor) -> None:
    with pytest.raises(Exception, match="pickle"):
        await pool.map(lambda x: x, [1, 2])


async def test_event_loop_keeps_ticking_during_cpu_heavy_run(pool: LocalProcessExecutor) -> None:
    await pool.run(jobs.add, 0, 0)  # start the pool first: only the job is measured
    ticks: list[float] = []

    async def heartbeat() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    try:
        iterations = await pool.run(jobs.burn_cpu, 0.8)
    finally:
        beating.cancel()
    assert iterations > 0
    gaps = np.diff(ticks)
    assert len(ticks) >= 30, f"only {len(ticks)} heartbeats in 0.8 s"
    assert gaps.max() < 0.2, f"the event loop stalled for {gaps.max():.3f} s"


async def test_unpicklable_exception_becomes_remote_job_error(pool: LocalProcessExecutor) -> None:
    with pytest.raises(RemoteJobError, match=r"UnpicklableError: code 7: boom$"):
        await pool.run(jobs.fail_unpicklable, "boom")
    assert await pool.run(jobs.add, 1, 1) == 2  # the pool survived


async def test_a_dead_worker_fails_its_job_and_the_next_call_gets_a_new_pool(pool: LocalProcessExecutor) -> None:
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool):
        await pool.run(jobs.die, 3)
    assert await pool.run(jobs.add, 1, 2) == 3


async def test_close_cancels_pending_jobs_and_stops_running_ones_without_blocking() -> None:
    executor = LocalProcessExecutor(2, close_timeout=0.3)
    await executor.run(jobs.add, 0, 0)
    jobs_in_flight = [asyncio.create_task(executor.run(jobs.sleep, 20.0)) for _ in range(4)]
    await asyncio.sleep(0.3)  # two are running, two are queued

    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    await executor.close()
    elapsed = time.perf_counter() - started
    beating.cancel()

    assert elapsed < 3.0
    assert ticks >= 10  # the loop ran while close waited
    outcomes = await asyncio.gather(*jobs_in_flight, return_exceptions=True)
    assert all(isinstance(outcome, ExecutorClosedError) for outcome in outcomes), outcomes
    assert await executor.run(jobs.add, 2, 3) == 5  # and it starts again
    await executor.close()


async def test_cancelling_the_caller_propagates_as_cancellation(pool: LocalProcessExecutor) -> None:
    task = asyncio.create_task(pool.run(jobs.sleep, 0.5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        LocalProcessExecutor(-1)
    with pytest.raises(ConfigurationError):
        LocalProcessExecutor(2, run_inline_below=-1)
    assert LocalProcessExecutor().workers == (os.cpu_count() or 1)
    assert InlineExecutor().workers == 1


# ---------------------------------------------------------------------------------------------- dask


async def test_dask_workers_come_from_the_scheduler(dask_cluster: Any) -> None:
    executor = DaskExecutor(dask_cluster.scheduler_address, workers=5)
    try:
        assert executor.workers == 5  # not connected yet: the given value
        await executor.run(jobs.add, 1, 1)
        assert executor.workers == 2  # 2 workers × 1 thread
    finally:
        await executor.close()
    assert DaskExecutor("tcp://127.0.0.1:1").workers == 1


async def test_dask_leaves_a_given_client_open(dask_cluster: Any) -> None:
    import distributed

    async with distributed.Client(dask_cluster.scheduler_address, asynchronous=True, set_as_default=False) as client:
        executor = DaskExecutor(client=client)
        assert await executor.map(jobs.square, [1, 2, 3]) == [1, 4, 9]
        await executor.close()
        assert client.status == "running"
        assert await executor.run(jobs.add, 1, 2) == 3


async def test_dask_accepts_a_synchronous_client(dask_cluster: Any) -> None:
    import distributed

    client = await asyncio.to_thread(distributed.Client, dask_cluster.scheduler_address, set_as_default=False)
    try:
        executor = DaskExecutor(client=client)
        assert await executor.map(jobs.square, [1, 2, 3]) == [1, 4, 9]
        with pytest.raises(ValueError, match=r"^nope$"):
            await executor.run(jobs.fail, "nope")
        await executor.close()
    finally:
        await asyncio.to_thread(client.close)


async def test_dask_unreachable_scheduler_is_a_clear_configuration_error() -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
        executor = DaskExecutor(address, connect_timeout=1.0)
        started = time.perf_counter()
        with pytest.raises(ConfigurationError, match=f"Dask scheduler at '{address}'"):
            await executor.run(jobs.add, 1, 1)
        assert time.perf_counter() - started < 5.0
    with pytest.raises(ConfigurationError, match="'not-an-address'"):
        await DaskExecutor("not-an-address", connect_timeout=1.0).run(jobs.add, 1, 1)


async def test_dask_missing_is_a_configuration_error_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(ConfigurationError, match=r"pip install 'gpt-trader\[dask\]'"):
        await DaskExecutor("tcp://127.0.0.1:8786").run(jobs.add, 1, 1)


async def test_dask_close_fails_the_jobs_in_flight_with_executor_closed(dask_cluster: Any) -> None:
    executor = DaskExecutor(dask_cluster.scheduler_address)
    await executor.run(jobs.add, 0, 0)
    in_flight: list[asyncio.Task[Any]] = [asyncio.create_task(executor.run(jobs.sleep, 1.0)) for _ in range(3)]
    in_flight.append(asyncio.create_task(executor.map(jobs.sleep, [1.0, 1.0])))
    await asyncio.sleep(0.3)  # two running on the workers, the rest queued
    await executor.close()
    outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
    assert all(isinstance(outcome, ExecutorClosedError) for outcome in outcomes), outcomes
    assert await executor.run(jobs.add, 2, 3) == 5  # reconnects
    await executor.close()


async def test_dask_without_an_address_runs_a_private_local_cluster() -> None:
    pytest.importorskip("distributed")
    import dask

    with dask.config.set({"scheduler-address": None}):
        executor = DaskExecutor(workers=1)
        try:
            assert await executor.run(jobs.add, 1, 2) == 3
            assert executor.workers == 1
            address = executor.address
        finally:
            await executor.close()
    assert address is not None
    host, port = address.removeprefix("tcp://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):  # close stopped the cluster's scheduler
        socket.create_connection((host, int(port)), timeout=1.0).close()


def test_importing_the_executors_does_not_import_dask() -> None:
    code = (
        "import sys, adapters.executor\n"
        "sys.exit(any(name.split('.')[0] in ('dask', 'distributed') for name in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_dask_refuses_address_and_client_together() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        DaskExecutor("tcp://127.0.0.1:8786", client=object())  # type: ignore[arg-type]
