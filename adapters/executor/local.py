"""In-process and local process-pool executors."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal, TypeVar

from adapters.immutable import immutable
from gpt_trader_core.errors import ConfigurationError, ConflictError

T = TypeVar("T")
A = TypeVar("A")

MapMode = Literal["inline", "pool"]

#: Imported once by the forkserver so every worker starts with the core (and numpy) already loaded.
_PRELOAD = ["gpt_trader_core.functions"]


class RemoteJobError(Exception):
    """A job failed in a worker with an exception that cannot travel back as itself (it does not pickle).

    The message is ``"module.Type: original message"``; the worker's traceback is chained as the cause.
    """


class ExecutorClosedError(ConflictError):
    """The executor was closed while the job was waiting or running."""

    code = "executor_closed"
    http_status = 503


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a ``RemoteJobError`` carrying its type and message.

    An exception that cannot be unpickled in the parent would otherwise break the whole pool.
    """
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RemoteJobError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    return exc


def _call(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Worker side of ``run``."""
    try:
        return fn(*args)
    except Exception as exc:
        portable = _portable(exc)
        if portable is exc:
            raise
        raise portable  # noqa: B904 - the original stays as __context__ in the remote traceback


#: An argument of ``run`` holding at least this many bytes of numpy data, and immutable, is sent to each
#: worker once (``_Kept``): a 10-year ``Bars`` is 126 kB to pickle, send and unpickle (and validate) again
#: for every backtest of it, about a third of a backtest's own time.
KEEP_ARGUMENT_BYTES = 32 * 1024
#: Arguments each worker keeps, and most bytes of numpy data among them (least recently used dropped first).
KEPT_PER_WORKER = 16
KEPT_BYTES_PER_WORKER = 64 * 1024 * 1024
# Worker side: token -> (argument, its bytes of numpy data) (see _call_kept).
_KEPT: OrderedDict[str, tuple[Any, int]] = OrderedDict()


class _Kept:
    """Stands for an argument the worker may already keep (``token``); ``value`` travels only when it
    may not (the first call, or after a worker said it lacked it)."""

    __slots__ = ("token", "value")

    def __init__(self, token: str, value: Any = None) -> None:
        self.token = token
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Kept, (self.token, self.value))


class _NotKeptError(Exception):
    """A worker lacks kept arguments (it is new, or dropped them): the call is sent again with them."""


def _call_kept(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """Worker side of ``run`` with kept arguments: store the ones that came along, resolve the others."""
    missing = []
    resolved = []
    for arg in args:
        if not isinstance(arg, _Kept):
            resolved.append(arg)
        elif arg.value is not None:
            _keep(arg.token, arg.value)
            resolved.append(arg.value)
        elif arg.token in _KEPT:
            _KEPT.move_to_end(arg.token)
            resolved.append(_KEPT[arg.token][0])
        else:
            missing.append(arg.token)
    if missing:
        raise _NotKeptError(*missing)
    return _call(fn, tuple(resolved))


def _keep(token: str, value: Any) -> None:
    size = _numpy_bytes(value)
    if size > KEPT_BYTES_PER_WORKER:
        return
    _KEPT[token] = (value, size)
    while len(_KEPT) > KEPT_PER_WORKER or sum(n for _, n in _KEPT.values()) > KEPT_BYTES_PER_WORKER:
        _KEPT.popitem(last=False)


def _numpy_bytes(value: Any) -> int:
    """Bytes of numpy data in ``value``'s attrs fields (0 for anything else)."""
    numpy = sys.modules.get("numpy")
    fields = getattr(type(value), "__attrs_attrs__", None)
    if numpy is None or fields is None:
        return 0
    return sum(v.nbytes for a in fields if isinstance(v := getattr(value, a.name), numpy.ndarray))


def _apply_chunk(fn: Callable[[A], T], chunk: Sequence[A]) -> list[T]:
    """Worker side of ``map``: one task carries several items."""
    try:
        return [fn(item) for item in chunk]
    except Exception as exc:
        portable = _portable(exc)
        if portable is exc:
            raise
        raise portable  # noqa: B904


def _ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group, but only the parent decides what
    an interrupt means (cancel the search, keep finished work); a worker killed by it mid-job would
    fail that job with KeyboardInterrupt instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _timed(fn: Callable[[A], T], item: A) -> tuple[T, float]:
    """``fn(item)`` and the seconds it took (measured where it ran, without the thread hand-off)."""
    started = time.perf_counter()
    result = fn(item)
    return result, time.perf_counter() - started


def _apply_inline(fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
    return [fn(item) for item in items]


def chunk_size(n_items: int, workers: int) -> int:
    """Items per task so that each worker gets about four tasks: ``ceil(n / (workers × 4))``, at least 1."""
    return max(1, math.ceil(n_items / (max(workers, 1) * 4)))


class InlineExecutor:
    """Runs work in the calling thread: for the CLI, scripts and tests, where nothing else waits.

    It blocks the event loop while a job runs, so a server should use ``LocalProcessExecutor``.
    """

    workers = 1

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return fn(*args)

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        return [fn(item) for item in items]

    async def close(self) -> None:
        return None


class LocalProcessExecutor:
    """A pool of worker processes on this machine, created on first use.

    * ``workers``: pool size; ``0`` means one per CPU.
    * Workers start with ``forkserver`` (a server's threads and event loop are never forked) from a
      server process that has already imported ``gpt_trader_core.functions``.
    * ``map`` first runs one item in-process (in a thread, so the event loop keeps going) and times
      it. When that time × the number of items is below ``run_inline_below`` seconds, the remaining
      items run in-process as well: a process round trip would cost more than the work. Otherwise
      the rest goes to the pool in chunks of ``chunk_size(n, workers)`` items, about four tasks per
      worker. ``run_inline_below=0`` always uses the pool. ``last_map_mode`` and ``last_map_tasks``
      record the decision of the most recent ``map``.
    * A job's exception is re-raised in the caller with its type and message (the worker's
      traceback is chained as ``__cause__``); one that does not pickle becomes ``RemoteJobError``.
    * A worker that dies (killed, out of memory, ``os._exit``) fails its jobs with
      ``BrokenProcessPool``; the broken pool is dropped and the next call starts a new one.
    * ``close`` cancels jobs not yet started, waits up to ``close_timeout`` seconds for running
      ones (in a thread: the event loop is not blocked; not at all when their caller was cancelled,
      e.g. an interrupted optimisation), then terminates the workers.
    * Workers ignore SIGINT: a Ctrl-C in the terminal is the parent's to handle. Jobs it
      interrupts fail with ``ExecutorClosedError``. The executor stays usable: the next call
      starts a new pool.
    * ``run`` sends an argument that is immutable (``adapters.immutable``: e.g. ``Bars``) and holds at
      least ``KEEP_ARGUMENT_BYTES`` of numpy data to each worker once: the worker keeps it (the last
      ``KEPT_PER_WORKER``), later calls with the same object send a token. A worker that lacks it
      says so and the call goes again with the argument.
    """

    def __init__(self, workers: int = 0, *, run_inline_below: float = 0.05, close_timeout: float = 10.0) -> None:
        if workers < 0:
            raise ConfigurationError(f"executor workers must be >= 0 (0 = one per CPU), got {workers}")
        if run_inline_below < 0 or close_timeout < 0:
            raise ConfigurationError("run_inline_below and close_timeout must be >= 0 seconds")
        self._workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.run_inline_below = run_inline_below
        self.close_timeout = close_timeout
        self.last_map_mode: MapMode | None = None
        self.last_map_tasks = 0
        self._pool: ProcessPoolExecutor | None = None
        self._closing: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()
        # Pools whose caller stopped waiting (a cancelled search): ``close`` need not wait for their jobs.
        self._abandoned: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()
        self._lock = threading.Lock()
        # Arguments workers may keep: id(argument) -> (weak reference, token). A token is never reused,
        # so a worker's kept argument is always the object the token was made for.
        self._tokens: dict[int, tuple[weakref.ref[Any], str]] = {}
        self._token_ids = itertools.count()
        self._sent: set[str] = set()  # tokens already sent to the current pool (to at least one worker)

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def started(self) -> bool:
        """Whether the worker pool currently exists."""
        return self._pool is not None

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(self._workers, mp_context=context, initializer=_ignore_interrupts)
                self._sent = set()  # new workers keep nothing yet
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        tokens = [self._token(arg) for arg in args]
        if not any(tokens):
            results: list[T] = await self._submit(_call, [(fn, args)])
            return results[0]
        # Each argument as a token when a worker of this pool got it before, else with its value.
        self._get_pool()  # (a new pool starts a new record of what was sent)
        sent = self._sent
        kept = tuple(
            arg if token is None else _Kept(token, None if token in sent else arg)
            for arg, token in zip(args, tokens, strict=True)
        )
        try:
            results = await self._submit(_call_kept, [(fn, kept)])
        except _NotKeptError:
            # The worker that took the call lacked some (a new or another worker): send them along.
            kept = tuple(arg if token is None else _Kept(token, arg) for arg, token in zip(args, tokens, strict=True))
            results = await self._submit(_call_kept, [(fn, kept)])
        sent.update(t for t in tokens if t is not None)
        return results[0]

    def _token(self, arg: Any) -> str | None:
        """The token of ``arg`` when workers may keep it (see the class), else None."""
        entry = self._tokens.get(id(arg))
        if entry is not None and entry[0]() is arg:
            return entry[1]
        if _numpy_bytes(arg) < KEEP_ARGUMENT_BYTES or not immutable(arg):
            return None
        key = id(arg)

        def forget(dead: weakref.ref[Any]) -> None:
            if self._tokens.get(key, (None,))[0] is dead:
                del self._tokens[key]

        try:
            ref = weakref.ref(arg, forget)
        except TypeError:
            return None  # no weak references: once it is gone its id could name another object
        token = f"{os.getpid()}-{next(self._token_ids)}"
        self._tokens[key] = (ref, token)
        return token

    async def map(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        items = list(items)
        if not items:
            self.last_map_mode, self.last_map_tasks = "inline", 0
            return []
        pickle.dumps(fn)  # fail the same way whichever path is taken below
        results: list[T] = []
        rest = items
        if self.run_inline_below > 0:
            loop = asyncio.get_running_loop()
            first, elapsed = await loop.run_in_executor(None, _timed, fn, items[0])
            results.append(first)
            rest = items[1:]
            if elapsed * len(items) < self.run_inline_below:
                self.last_map_mode, self.last_map_tasks = "inline", 0
                if rest:
                    results.extend(await loop.run_in_executor(None, _apply_inline, fn, rest))
                return results
        self.last_map_mode = "pool"
        if not rest:
            self.last_map_tasks = 0
            return results
        size = chunk_size(len(rest), self._workers)
        chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
        self.last_map_tasks = len(chunks)
        for part in await self._submit(_apply_chunk, [(fn, chunk) for chunk in chunks]):
            results.extend(part)
        return results

    async def _submit(self, worker_fn: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
        """Run ``worker_fn(*call)`` for each call in the pool; results in order, fail fast."""
        pool = self._get_pool()
        futures: list[Future[T]] = []
        try:
            for call in calls:
                futures.append(pool.submit(worker_fn, *call))
            return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
        except BrokenProcessPool as exc:
            if pool in self._closing:
                raise ExecutorClosedError("the executor was closed while the job was running") from exc
            self._discard(pool)
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if pool in self._closing and task is not None and task.cancelling() == 0:
                raise ExecutorClosedError("the executor was closed before the job started") from None
            if any(not f.done() for f in futures):
                self._abandoned.add(pool)
            raise
        finally:
            for future in futures:
                future.cancel()  # tasks not started yet after a failure or cancellation; no-op when done

    async def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        self._closing.add(pool)
        processes = list((getattr(pool, "_processes", None) or {}).values())
        loop = asyncio.get_running_loop()
        shutdown = loop.run_in_executor(None, functools.partial(pool.shutdown, wait=True, cancel_futures=True))
        # Jobs nobody waits for any more (their caller was cancelled) are not worth waiting for.
        timeout = 0.0 if pool in self._abandoned else self.close_timeout
        try:
            await asyncio.wait_for(asyncio.shield(shutdown), timeout)
        except TimeoutError:
            for process in processes:
                process.terminate()
            _end_result_reads(pool)
            await shutdown


def _end_result_reads(pool: ProcessPoolExecutor) -> None:
    """After ``pool``'s workers were terminated: let its manager thread stop reading results.

    A worker killed while it sends a result bigger than the pipe's buffer (an optimisation chunk's
    statistics are ~180 kB, the buffer 64 kB) leaves that thread reading a message whose rest never
    comes; this process holds the pipe's other write end, so the read never sees end-of-file, and
    ``pool.shutdown`` (and the interpreter's exit, which joins that thread) waited forever: a cancelled
    workflow's runner process that never exited. With this process's write end closed, the read ends
    once the killed workers are gone: the pool is marked broken and its thread stops. Nothing in this
    process writes results (only workers do). CPython's ``concurrent.futures`` up to 3.13 at least.
    """
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        writer.close()
