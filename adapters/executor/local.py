"""In-process and local process-pool executors."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
A = TypeVar("A")


class InlineExecutor:
    """Runs work in the calling thread: for the CLI, scripts and tests, where nothing else waits."""

    workers = 1

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return fn(*args)

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        return [fn(item) for item in items]

    async def close(self) -> None:
        return None


class LocalProcessExecutor:
    """A process pool sized to the CPUs (or ``workers``), created on first use.

    Workers start with ``forkserver`` so a server's threads and event loop are never forked.
    """

    def __init__(self, workers: int = 0) -> None:
        self._workers = workers if workers > 0 else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["gpt_trader_core.api"])
            self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
        return self._pool

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._get_pool(), fn, *args)

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        loop = asyncio.get_running_loop()
        pool = self._get_pool()
        return list(await asyncio.gather(*(loop.run_in_executor(pool, fn, item) for item in items)))

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(None, lambda: pool.shutdown(cancel_futures=True))
