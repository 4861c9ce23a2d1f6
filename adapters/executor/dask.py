"""Dask executor: CPU work on a ``dask.distributed`` cluster.

``dask`` is an optional dependency: this module imports it only when the executor is first used.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from adapters.executor.local import ExecutorClosedError
from gpt_trader_core.errors import ConfigurationError

if TYPE_CHECKING:
    import distributed

T = TypeVar("T")
A = TypeVar("A")

_INSTALL_HINT = "install the dask extra: pip install 'gpt-trader[dask]'"


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigurationError(f"the Dask executor needs dask.distributed ({exc}); {_INSTALL_HINT}") from exc
    return distributed


class DaskExecutor:
    """Runs jobs on a Dask cluster through an asynchronous ``distributed.Client``.

    * ``scheduler_address`` (``tcp://host:8786``): connect on first use, giving up after
      ``connect_timeout`` seconds with a ``ConfigurationError`` naming the address. ``None`` uses
      dask's ``scheduler-address`` setting (``DASK_SCHEDULER_ADDRESS``) or, when that is unset,
      starts a private ``LocalCluster`` of ``workers`` single-threaded processes (one per CPU by
      default) that ``close`` stops.
    * ``client``: use this client instead (asynchronous or not); ``close`` leaves it open.
    * ``workers``: the threads the scheduler reports across its workers, once connected; before
      that (or while no worker has joined) the given ``workers``, else 1.
    * Each ``run`` is one task and each ``map`` item one task (``pure=False``: always computed);
      a job's exception is re-raised with its original type and message.
    * ``close`` closes the client (and cluster) created here: their queued and running tasks are
      cancelled and their callers get ``ExecutorClosedError`` (a task already running in a worker
      thread finishes there, unobserved). The next call connects again. The client is bound to the
      event loop it was created on.
    """

    def __init__(
        self,
        scheduler_address: str | None = None,
        *,
        workers: int | None = None,
        client: distributed.Client | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        if client is not None and scheduler_address is not None:
            raise ConfigurationError("give the Dask executor a scheduler address or a client, not both")
        if workers is not None and workers < 1:
            raise ConfigurationError(f"Dask executor workers must be >= 1, got {workers}")
        if connect_timeout <= 0:
            raise ConfigurationError(f"connect_timeout must be > 0 seconds, got {connect_timeout}")
        self._address = scheduler_address
        self._given_workers = workers
        self._given_client = client
        self.connect_timeout = connect_timeout
        # dask's API is only partly typed: the client and cluster are handled as Any inside.
        self._client: Any = client
        self._cluster: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        self._closes = 0  # counts ``close`` calls: tells "cancelled by close" from other cancellations

    @property
    def address(self) -> str | None:
        """The scheduler address in use (or configured), if any."""
        if self._client is not None and self._client.scheduler is not None:
            return str(self._client.scheduler.address)
        return self._address

    @property
    def workers(self) -> int:
        client = self._client
        if client is not None and client.status == "running":
            info = client.scheduler_info()
            threads = info.get("total_threads") or sum(w.get("nthreads", 0) for w in info.get("workers", {}).values())
            if threads:
                return int(threads)
        return self._given_workers or 1

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        closes = self._closes
        client = await self._get_client()
        future = client.submit(fn, *args, pure=False)
        try:
            result: T = await future if client.asynchronous else await asyncio.to_thread(future.result)
            return result
        except concurrent.futures.CancelledError as exc:
            if self._closes != closes:
                raise ExecutorClosedError("the executor was closed while the job was waiting or running") from exc
            raise
        finally:
            await self._release(client, [future])

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        items = list(items)
        if not items:
            return []
        closes = self._closes
        client = await self._get_client()
        futures = client.map(fn, items, pure=False)
        try:
            if client.asynchronous:
                return list(await client.gather(futures))
            return list(await asyncio.to_thread(client.gather, futures))
        except concurrent.futures.CancelledError as exc:
            if self._closes != closes:
                raise ExecutorClosedError("the executor was closed while the job was waiting or running") from exc
            raise
        finally:
            await self._release(client, futures)

    async def close(self) -> None:
        self._closes += 1
        client, self._client = self._client, self._given_client
        cluster, self._cluster = self._cluster, None
        self._loop = None
        if client is not None and client is not self._given_client:
            await client.close()
        if cluster is not None:
            await cluster.close()

    async def _release(self, client: Any, futures: list[Any]) -> None:
        """Drop the tasks of a finished or abandoned call (cancelling those still queued or running)."""
        pending = [f for f in futures if not f.done()]
        if pending:
            try:
                if client.asynchronous:
                    await asyncio.wait_for(client.cancel(pending), self.connect_timeout)
                else:
                    await asyncio.to_thread(client.cancel, pending)
            except Exception:  # best effort: the scheduler forgets them once released anyway
                pass
        for future in futures:
            future.release()

    async def _get_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None:
            if self._client is not self._given_client and self._loop is not loop:
                raise RuntimeError(
                    "this DaskExecutor's client belongs to another event loop; close it there or make one per loop"
                )
            return self._client
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                self._client = await self._connect()
                self._loop = loop
        return self._client

    async def _connect(self) -> Any:
        dd = _import_distributed()
        address = self._address
        if address is None:
            import dask

            address = dask.config.get("scheduler-address", None)
        if address is None:
            n_workers = self._given_workers or os.cpu_count() or 1
            with _workers_ignore_interrupts():
                self._cluster = await dd.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP endpoints on a free port, not 8787
                    asynchronous=True,
                    # A cancelled task's warning, or a worker's "failed to communicate with scheduler during
                    # heartbeat" traceback (ERROR) when Ctrl-C closes the cluster mid-heartbeat, would garble
                    # the terminal; a task's own failure still reaches the caller as its exception.
                    silence_logs=logging.CRITICAL,
                )
            address = self._cluster.scheduler_address
        client = None
        try:
            client = dd.Client(address, asynchronous=True, timeout=self.connect_timeout, set_as_default=False)
            await asyncio.wait_for(_started(client), self.connect_timeout + 2.0)
        except Exception as exc:
            if client is not None:
                await _close_quietly(client)
            if self._cluster is not None:
                await self._cluster.close()
                self._cluster = None
            raise ConfigurationError(
                f"cannot connect to the Dask scheduler at {address!r} within {self.connect_timeout:g} s "
                f"({type(exc).__name__}: {exc}); check executor.scheduler_address and that the scheduler runs"
            ) from exc
        return client


@contextlib.contextmanager
def _workers_ignore_interrupts() -> Iterator[None]:
    """Start the private cluster's processes with SIGINT ignored (they inherit it): a Ctrl-C in the
    terminal reaches the whole process group, and only this process decides what it means (cancel
    the search, keep finished work) — the workers would otherwise die printing tracebacks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _started(client: Any) -> None:
    await client


async def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close(), 2.0)
