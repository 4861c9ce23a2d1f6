"""Session leases on Redis: ``SET key owner NX PX ttl``, renewed by the holder, with a fencing token.

Why Redis and not PostgreSQL advisory locks: several workers already need Redis (the event bus that
carries WebSocket events between them), and a lease there works whatever the state store is —
SQLite on one machine or PostgreSQL across machines. An advisory lock exists only on PostgreSQL,
lives as long as the database session that took it (so each running trading session would pin one
pooled connection for its whole life), and its loss is noticed only when that connection is next
used. A Redis lease is one key per session with an expiry: a holder that dies (SIGKILL, machine
gone) stops renewing, the key expires ``ttl`` seconds later, and the next worker to scan takes the
session over (within ``ttl + scan_interval`` plus the time to rebuild the engine).

Keys (under ``namespace``, default ``gpt-trader:lease``): ``{ns}:session:{id}`` holds the owner of
the session's lease; ``{ns}:fence`` is a counter. ``acquire`` runs one Lua script: when the key is
free it INCRs the counter and stores ``{me}:{counter}`` with the expiry. That owner name is unique to
this claim and is stored on the session (``SessionRecord.owner``): the state store refuses a bar whose
owner is not the stored one, so even a holder that was only paused (not dead) past its expiry cannot
store a bar after another worker took the session over — the lease gives liveness, the store's
compare-and-set gives safety.

Redis unreachable: ``holds`` answers True (it cannot tell; a session is never recovered twice),
``acquire``/``renew``/``release`` raise ``LeaseUnavailableError`` — the session keeps trading (nobody
can take its lease meanwhile) and the scan tries again. ``renew`` re-takes a key that expired while
Redis was away, unless another worker holds it by then.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import uuid
from typing import Any

from gpt_trader_core.errors import GptTraderError

__all__ = ["LeaseUnavailableError", "RedisClaims", "RedisLeases"]

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local owner = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], owner, 'PX', ARGV[2])
return owner
"""
_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseUnavailableError(GptTraderError):
    """The lease backend (Redis) cannot be reached."""

    code = "lease_backend_unavailable"
    http_status = 503


@functools.cache
def _process_token() -> str:
    return uuid.uuid4().hex[:12]


class RedisLeases:
    """``SessionLeases`` shared by every process on one Redis (see the module docstring)."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "gpt-trader:lease",
        ttl: float = 3.0,
        renew_interval: float = 1.0,
        scan_interval: float = 0.5,
    ) -> None:
        import redis.asyncio as aioredis

        if not 0 < renew_interval < ttl:
            raise ValueError(f"renew_interval ({renew_interval}) must be below the lease ttl ({ttl})")
        self._url = url
        self._ns = namespace
        self._ttl_ms = int(ttl * 1000)
        self.renew_interval = renew_interval
        self.scan_interval = scan_interval
        self._me = f"{socket.gethostname()}:{os.getpid()}:{_process_token()}"
        # Typed Any: redis-py's stubs type replies as unions of every reply shape. Connects lazily,
        # in the event loop that first uses it (a server worker's).
        self._redis: Any = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=2.0
        )
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._renew: Any = self._redis.register_script(_RENEW)
        self._release: Any = self._redis.register_script(_RELEASE)

    @property
    def me(self) -> str:
        return self._me

    def _key(self, session_id: str) -> str:
        return f"{self._ns}:session:{session_id}"

    async def _call(self, what: str, script: Any, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import RedisError

        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise LeaseUnavailableError(
                f"cannot {what}: Redis at {self._url.split('@')[-1]} unreachable ({exc})"
            ) from exc

    async def acquire(self, session_id: str) -> str | None:
        owner = await self._call(
            f"take the lease of session {session_id}",
            self._acquire,
            [self._key(session_id), f"{self._ns}:fence"],
            [self._me, self._ttl_ms],
        )
        return str(owner) if owner else None

    async def renew(self, session_id: str, owner: str) -> bool:
        kept = await self._call(
            f"renew the lease of session {session_id}", self._renew, [self._key(session_id)], [owner, self._ttl_ms]
        )
        return bool(kept)

    async def release(self, session_id: str, owner: str) -> None:
        await self._call(f"release the lease of session {session_id}", self._release, [self._key(session_id)], [owner])

    async def holds(self, session_id: str, owner: str | None) -> bool:
        from redis.exceptions import RedisError

        if owner is None:
            return False
        try:
            held = await self._redis.get(self._key(session_id))
        except (RedisError, OSError):
            return True  # cannot tell: never recover a session twice
        return bool(held == owner)

    async def close(self) -> None:
        await self._redis.aclose()


class RedisClaims:
    """One-time claims and their results shared by every worker: ``claim(key, ttl)`` is ``SET NX PX``
    (True for exactly one caller until ``release`` or the expiry), ``put``/``get`` keep a JSON value
    for ``ttl`` seconds. The HTTP layer uses them so that one ``Idempotency-Key`` starts its work once
    whichever workers receive the request."""

    def __init__(self, url: str, *, namespace: str = "gpt-trader:claim") -> None:
        import redis.asyncio as aioredis

        self._url = url
        self._ns = namespace
        self._redis: Any = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0
        )

    async def _do(self, what: str, command: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await command
        except (RedisError, OSError) as exc:
            raise LeaseUnavailableError(
                f"cannot {what}: Redis at {self._url.split('@')[-1]} unreachable ({exc})"
            ) from exc

    async def claim(self, key: str, ttl: float) -> bool:
        return bool(
            await self._do("claim work", self._redis.set(f"{self._ns}:{key}:claim", "1", nx=True, px=int(ttl * 1000)))
        )

    async def release(self, key: str) -> None:
        await self._do("release a claim", self._redis.delete(f"{self._ns}:{key}:claim"))

    async def put(self, key: str, value: Any, ttl: float) -> None:
        await self._do("store a result", self._redis.set(f"{self._ns}:{key}", json.dumps(value), px=int(ttl * 1000)))

    async def get(self, key: str) -> Any:
        raw = await self._do("read a result", self._redis.get(f"{self._ns}:{key}"))
        return None if raw is None else json.loads(raw)

    async def close(self) -> None:
        await self._redis.aclose()
