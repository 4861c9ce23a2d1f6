"""The ``Cache`` port on aiocache: an in-process memory cache or a shared Redis.

Keys are ``{namespace}:{kind}:{key}``; values are pickled (numpy arrays, attrs objects). A cache
failure never reaches the caller: it is logged on ``gpt_trader.cache`` and behaves as a miss / no-op.

The memory backend unpickles an entry on its first hit and, when the copy cannot change (see
``_immutable``: frozen attrs records of read-only numpy arrays, tuples, numbers, strings — ``Bars``),
keeps that copy in place of the pickle and hands the same object to every later hit: a 10-year
``Bars`` took ~0.2 ms to unpickle and validate again on every backtest request. The copy is the
cache's own (nobody else holds it or its memory), and the entry keeps the size of its pickle.

No call is wrapped in aiocache's per-call ``asyncio.wait_for`` (a task and a timer per get/set, most
of a cached read's cost): the memory backend cannot hang, and Redis calls are bounded by the client's
own connect and socket timeouts, whose errors are failures like any other (logged, a miss).
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import sys
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from adapters.immutable import immutable as _immutable
from gpt_trader_core.ports import CacheStats


def _import_aiocache() -> tuple[Any, Any]:
    """aiocache's package imports ``redis`` (and ``aiomcache``) only to register those backends by name,
    which we never look up: the Redis backend is imported from its own module when asked for. With
    redis 8 that import is ~40 % of a CLI command's start-up, so unless redis is imported already they
    are hidden during aiocache's import (then unhidden: ``import redis`` works as usual afterwards)."""
    hidden = [name for name in ("redis", "aiomcache") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import redis" raises ImportError
    try:
        from aiocache import SimpleMemoryCache
        from aiocache.serializers import PickleSerializer
    finally:
        for name in hidden:
            del sys.modules[name]
    return SimpleMemoryCache, PickleSerializer


if TYPE_CHECKING:
    from aiocache import SimpleMemoryCache
    from aiocache.serializers import PickleSerializer
else:
    SimpleMemoryCache, PickleSerializer = _import_aiocache()

__all__ = ["AiocacheCache"]

_log = logging.getLogger("gpt_trader.cache")

# Repeated failures of the same kind (e.g. Redis down during an optimisation) are logged at DEBUG
# between two warnings, so an outage does not flood the log.
_WARN_INTERVAL_S: Final = 60.0
_SCAN_BATCH: Final = 1000
_EXPIRED: Final = object()
# What a memory entry holds (see _dumps): a pickle never read, a pickle read, the value itself.
_FRESH: Final = "fresh"
_PICKLED: Final = "pickled"
_SHARED: Final = "shared"
_SWEEP_INTERVAL_S: Final = 30.0


class _UnpicklableValueError(Exception):
    """The value given to ``set`` cannot be pickled."""


class _UndecodableEntryError(Exception):
    """A stored entry cannot be unpickled (e.g. written by an older version of a class)."""


class _TooLargeError(Exception):
    """The pickled value is larger than the memory backend's per-kind byte limit."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size:,} bytes pickled")


def _as_is(stored: Any) -> Any:
    return stored


def _seconds(value: float, what: str) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def _check_part(value: str, what: str) -> str:
    # A ':' would let one kind's (or namespace's) pattern match another's keys in clear().
    if not isinstance(value, str) or not value or ":" in value:
        raise ValueError(f"cache {what} must be a non-empty string without ':', got {value!r}")
    return value


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so a kind like ``a*`` only matches itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _redis_options(url: str) -> dict[str, Any]:
    """aiocache ``RedisCache`` arguments from ``redis[s]://[[user]:password@]host[:port][/db]``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r} (expected redis:// or rediss://)")
    path = parts.path.strip("/")
    query_db = urllib.parse.parse_qs(parts.query).get("db")
    db_text = path or (query_db[0] if query_db else "0")
    try:
        db = int(db_text)
        port = parts.port or 6379  # .port raises ValueError on a malformed port
    except ValueError as exc:  # the message names the bad part; the URL may hold a password
        raise ValueError(f"invalid port or db in Redis URL: {exc}") from exc
    options: dict[str, Any] = {
        "endpoint": parts.hostname or "127.0.0.1",
        "port": port,
        "db": db,
        "password": urllib.parse.unquote(parts.password) if parts.password is not None else None,
        "ssl": parts.scheme == "rediss",
    }
    if parts.username:
        options["connection_pool_kwargs"] = {"username": urllib.parse.unquote(parts.username)}
    return options


class AiocacheCache:
    """``Cache`` port on aiocache's ``SimpleMemoryCache`` (per process) or ``RedisCache`` (shared).

    ``ttl`` maps a kind to its time-to-live in seconds, other kinds use ``default_ttl``; ``0`` means
    no expiry. ``get``/``set``/``clear``/``stats`` never raise on a cache failure (they log a warning
    and behave as a miss / no-op / 0 / no entries); they do raise ``ValueError`` on programming errors
    (a kind containing ``':'``, a negative TTL). ``ping`` raises, for health checks. ``timeout`` bounds
    each Redis connect and socket read/write (seconds; 0 = none).

    The memory backend holds at most ``max_entries`` entries and ``max_bytes`` pickled bytes per kind
    (0 = no limit): storing past a limit first drops the kind's expired entries, then its least
    recently used ones; a value larger than ``max_bytes`` on its own is not cached. A Redis server
    bounds itself (its ``maxmemory`` policy).

    Hits, misses and sets are counted in this process since start or the last ``clear()`` of all
    kinds; ``entries`` counts live keys per kind in the backend (Redis: a SCAN of the namespace).
    Storing ``None`` is a no-op, since ``get`` could not tell it from a miss.

    Use an instance from one event loop: pooled Redis connections belong to the loop that opened
    them (on another loop each stale connection costs one logged miss before it is replaced).
    """

    def __init__(
        self,
        backend: Literal["memory", "redis"] = "memory",
        *,
        redis_url: str = "redis://127.0.0.1:6379/0",
        ttl: Mapping[str, float] | None = None,
        default_ttl: float = 300.0,
        namespace: str = "gpt-trader",
        timeout: float = 2.0,
        max_entries: int = 0,
        max_bytes: int = 0,
    ) -> None:
        self._namespace = _check_part(namespace, "namespace")
        self._ttl = {_check_part(k, "kind"): _seconds(v, f"ttl[{k!r}]") for k, v in (ttl or {}).items()}
        self._default_ttl = _seconds(default_ttl, "default_ttl")
        self._timeout = _seconds(timeout, "timeout") or None
        if not (isinstance(max_entries, int) and isinstance(max_bytes, int) and max_entries >= 0 and max_bytes >= 0):
            raise ValueError(f"max_entries and max_bytes must be integers >= 0, got {max_entries!r}, {max_bytes!r}")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        # Memory backend, per kind: full key -> pickled size, least recently used first.
        self._sizes: dict[str, OrderedDict[str, int]] = {}
        self._bytes: dict[str, int] = {}
        self._swept: dict[str, float] = {}
        self._serializer = PickleSerializer(protocol=pickle.HIGHEST_PROTOCOL)
        self._backend: Any
        if backend == "memory":
            self._backend = SimpleMemoryCache(serializer=self._serializer, timeout=None)
            self._store: dict[str, Any] = self._backend._cache  # aiocache has no public key listing
            self._where = "memory"
        elif backend == "redis":
            # Imported here: redis is an optional dependency.
            from aiocache.backends.redis import RedisCache
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            options = _redis_options(redis_url)
            pool_kwargs = options.pop("connection_pool_kwargs", {})
            # One immediate retry reconnects a pooled connection that a Redis restart broke; no
            # backoff, so a Redis that is down costs one refused connect, not seconds, per call.
            pool_kwargs.update(retry=Retry(NoBackoff(), 1), socket_timeout=self._timeout)
            self._backend = RedisCache(
                serializer=self._serializer,
                timeout=None,
                create_connection_timeout=self._timeout,
                connection_pool_kwargs=pool_kwargs,
                **options,
            )
            self._where = f"redis({options['endpoint']}:{options['port']}/{options['db']})"
        else:
            raise ValueError(f"unknown cache backend {backend!r} (expected 'memory' or 'redis')")
        self._kind: Literal["memory", "redis"] = backend
        self._hits = self._misses = self._sets = 0
        self._warned: dict[tuple[str, type[BaseException]], tuple[float, int]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"AiocacheCache({self._where}, namespace={self._namespace!r})"

    # -- the Cache port ---------------------------------------------------------------------------

    async def get(self, kind: str, key: str) -> Any | None:
        full_key = self._key(kind, key)
        value: Any = None
        try:
            if self._kind == "memory":
                # Straight from the store: aiocache's layers (plugins, enabled check, timeout wrapper)
                # cost more than the lookup, and SimpleMemoryCache.get does nothing else.
                stored = self._store.get(full_key)
                value = self._loads(stored)
                if stored is not None and stored[2] is _FRESH and value is not None and value is not _EXPIRED:
                    # The first hit: keep this copy in place of the pickle when it cannot change.
                    shared = _immutable(value)
                    self._store[full_key] = (stored[0], value if shared else stored[1], _SHARED if shared else _PICKLED)
            else:
                value = await self._backend.get(full_key, loads_fn=self._loads)
        except _UndecodableEntryError as exc:
            self._failed("get", exc.__cause__ or exc, kind, key, "treated as a miss; entry dropped")
            await self._drop(full_key)
            value = None
        except Exception as exc:
            self._failed("get", exc, kind, key, "treated as a miss")
        if value is _EXPIRED:
            # Only reachable when the memory backend's timer could not fire (see _loads).
            await self._drop(full_key)
            value = None
        if value is None:
            self._misses += 1
        else:
            self._hits += 1
            if self._kind == "memory" and (sizes := self._sizes.get(kind)) is not None and full_key in sizes:
                sizes.move_to_end(full_key)
        return value

    async def set(self, kind: str, key: str, value: Any, ttl: float | None = None) -> None:
        full_key = self._key(kind, key)
        seconds = self._ttl.get(kind, self._default_ttl) if ttl is None else _seconds(ttl, "ttl")
        if value is None:
            return
        if not seconds or self._kind == "memory":
            # Memory entries carry their deadline (see _dumps): no timer per set, and entries leave
            # the store only through _delete, so the per-kind accounting stays exact.
            backend_ttl: float | None = None
        else:
            backend_ttl = max(seconds, 0.001)  # aiocache sends PSETEX in whole ms; 0 ms is an error
        deadline = time.monotonic() + seconds if seconds else None
        try:
            if self._kind == "memory":
                stored = self._dumps(value, deadline)
                size = len(stored[1])
                if self._max_bytes and size > self._max_bytes:
                    self._failed("set", _TooLargeError(size), kind, key, f"larger than max_bytes={self._max_bytes}")
                    return
                await self._backend.set(full_key, stored, ttl=backend_ttl, dumps_fn=_as_is)
                await self._admit(kind, full_key, size)
            else:
                await self._backend.set(full_key, value, ttl=backend_ttl, dumps_fn=lambda v: self._dumps(v, deadline))
        except _UnpicklableValueError as exc:
            self._failed("set", exc.__cause__ or exc, kind, key, "value is not picklable; not cached")
        except Exception as exc:
            self._failed("set", exc, kind, key, "not cached")
        else:
            self._sets += 1

    async def clear(self, kind: str | None = None) -> int:
        prefix = f"{self._namespace}:" if kind is None else f"{self._namespace}:{_check_part(kind, 'kind')}:"
        if kind is None:
            self._hits = self._misses = self._sets = 0
        dropped = 0
        try:
            if self._kind == "memory":
                for full_key in await self._memory_keys(prefix):
                    dropped += await self._delete(full_key)
            else:
                # SCAN + UNLINK by pattern, never FLUSHDB: the db may hold other namespaces and data.
                client = self._backend.client
                batch: list[bytes] = []
                async for full_key in client.scan_iter(match=_glob_escape(prefix) + "*", count=_SCAN_BATCH):
                    batch.append(full_key)
                    if len(batch) >= _SCAN_BATCH:
                        dropped += await client.unlink(*batch)
                        batch = []
                if batch:
                    dropped += await client.unlink(*batch)
        except Exception as exc:
            self._failed("clear", exc, kind, None, f"{dropped} entries dropped before the failure")
        return dropped

    async def stats(self) -> CacheStats:
        prefix = f"{self._namespace}:"
        entries: dict[str, int] = {}
        try:
            if self._kind == "memory":
                keys: list[str] = await self._memory_keys(prefix)
            else:
                # SCAN may return a key twice: count distinct keys.
                pattern = _glob_escape(prefix) + "*"
                found = {k async for k in self._backend.client.scan_iter(match=pattern, count=_SCAN_BATCH)}
                keys = [k.decode("utf-8", "replace") for k in found]
            for full_key in keys:
                kind = full_key[len(prefix) :].split(":", 1)[0]
                entries[kind] = entries.get(kind, 0) + 1
        except Exception as exc:
            self._failed("stats", exc, None, None, "entries reported as empty")
            entries = {}
        return CacheStats(backend=self._kind, hits=self._hits, misses=self._misses, sets=self._sets, entries=entries)

    async def ping(self) -> None:
        """Raise if the cache cannot serve requests (for readiness checks); the memory cache always can."""
        if self._kind == "redis":
            await asyncio.wait_for(self._backend.client.ping(), self._timeout)

    async def close(self) -> None:
        """Release the Redis connections (idempotent); the memory cache keeps its entries."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._kind == "redis":
                # aiocache's close() calls redis-py's deprecated Redis.close(); aclose() also closes the pool.
                await self._backend.client.aclose()
            else:
                await self._backend.close()
        except Exception as exc:
            self._failed("close", exc, None, None, "ignored")

    # -- helpers ----------------------------------------------------------------------------------

    def _key(self, kind: str, key: str) -> str:
        return f"{self._namespace}:{_check_part(kind, 'kind')}:{key}"

    def _dumps(self, value: Any, deadline: float | None) -> Any:
        try:
            blob = self._serializer.dumps(value)
        except Exception as exc:
            raise _UnpicklableValueError from exc
        # The memory backend stores objects, so the deadline travels with the blob: TTL then holds
        # even when aiocache's call_later timer cannot fire (e.g. the loop that set it has closed).
        # The third item says what the second is: a pickle not read yet, one read (its value can
        # change: unpickled on every hit), or the unchangeable value itself (see get).
        return (deadline, blob, _FRESH) if self._kind == "memory" else blob

    def _loads(self, stored: Any) -> Any:
        if stored is None:
            return None
        if self._kind == "memory":
            deadline, stored, form = stored
            if deadline is not None and time.monotonic() >= deadline:
                return _EXPIRED
            if form is _SHARED:
                return stored
        try:
            return self._serializer.loads(stored)
        except Exception as exc:
            raise _UndecodableEntryError from exc

    async def _memory_keys(self, prefix: str) -> list[str]:
        """Live keys under ``prefix`` in the memory backend; drops expired ones the timer missed."""
        now = time.monotonic()
        store = self._store
        live = []
        for full_key, (deadline, *_) in list(store.items()):
            if not full_key.startswith(prefix):
                continue
            if deadline is not None and now >= deadline:
                await self._delete(full_key)  # also forgets aiocache's timer handle
            else:
                live.append(full_key)
        return live

    async def _admit(self, kind: str, full_key: str, size: int) -> None:
        """Account a stored memory entry; past the kind's limits drop expired, then least recently used."""
        sizes = self._sizes.setdefault(kind, OrderedDict())
        self._bytes[kind] = self._bytes.get(kind, 0) - sizes.pop(full_key, 0) + size
        sizes[full_key] = size
        now = time.monotonic()
        if now - self._swept.get(kind, 0.0) >= _SWEEP_INTERVAL_S:
            # Expired entries that nobody reads again would otherwise stay until evicted.
            self._swept[kind] = now
            store = self._store
            for stale in [k for k in sizes if (d := store[k][0]) is not None and now >= d]:
                await self._delete(stale)
        while self._over(kind) and len(sizes) > 1:
            await self._delete(next(iter(sizes)))

    def _over(self, kind: str) -> bool:
        return bool(
            (self._max_entries and len(self._sizes[kind]) > self._max_entries)
            or (self._max_bytes and self._bytes[kind] > self._max_bytes)
        )

    async def _delete(self, full_key: str) -> int:
        """Delete from the backend and, for memory, from the per-kind accounting."""
        if self._kind == "memory":
            kind = full_key[len(self._namespace) + 1 :].split(":", 1)[0]
            sizes = self._sizes.get(kind)
            if sizes is not None and full_key in sizes:
                self._bytes[kind] -= sizes.pop(full_key)
        return int(await self._backend.delete(full_key))

    async def _drop(self, full_key: str) -> None:
        try:
            await self._delete(full_key)
        except Exception as exc:
            _log.debug("cache: could not drop %s from %s: %r", full_key, self._where, exc)

    def _failed(self, op: str, exc: BaseException, kind: str | None, key: str | None, outcome: str) -> None:
        signature = (op, type(exc))
        now = time.monotonic()
        last, suppressed = self._warned.get(signature, (-math.inf, 0))
        if now - last < _WARN_INTERVAL_S:
            self._warned[signature] = (last, suppressed + 1)
            level = logging.DEBUG
            note = ""
        else:
            self._warned[signature] = (now, 0)
            level = logging.WARNING
            note = f" ({suppressed} similar failures since the last warning)" if suppressed else ""
        _log.log(
            level,
            "cache %s failed on %s (namespace=%s, kind=%s, key=%s): %s: %s; %s%s",
            op, self._where, self._namespace, kind, key, type(exc).__name__, exc, outcome, note,
        )  # fmt: skip
