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

Commands for a session's holder (``ask``/``serve``): each process reads its inbox ``{ns}:inbox:{me}``
(a list, BLPOP) — the holder of an owner ``{me}:{counter}`` is found from the owner itself. A
request carries its own reply key ``{ns}:reply:{uuid}`` (the asker BLPOPs it until its timeout) and
a deadline: a request read after its deadline is dropped, not carried out late. Why lists, not
pub/sub: a request pushed while its holder is between two reads waits for it, and nothing is sent to
the processes it is not for. A timed-out ``ask`` may still have been carried out (its error says so).

The session scan reads every running session's lease with one MGET (``holding``), not one GET each.

Redis unreachable: ``holds`` answers True (it cannot tell; a session is never recovered twice),
``acquire``/``renew``/``release`` raise ``LeaseUnavailableError`` — the session keeps trading (nobody
can take its lease meanwhile) and the scan tries again. ``renew`` re-takes a key that expired while
Redis was away, unless another worker holds it by then.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any

from gpt_trader_core import errors
from gpt_trader_core.errors import ConflictError, GptTraderError
from gpt_trader_core.ports import SessionCommandHandler

__all__ = ["LeaseUnavailableError", "RedisClaims", "RedisLeases"]

log = logging.getLogger(__name__)

#: Errors a holder's answer can carry back, by name (anything else arrives as a GptTraderError).
_ERRORS: dict[str, type[GptTraderError]] = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, GptTraderError) and cls.__module__ == errors.__name__
}

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
        process: str | None = None,
    ) -> None:
        import redis.asyncio as aioredis

        if not 0 < renew_interval < ttl:
            raise ValueError(f"renew_interval ({renew_interval}) must be below the lease ttl ({ttl})")
        self._url = url
        self._ns = namespace
        self._ttl_ms = int(ttl * 1000)
        self.renew_interval = renew_interval
        self.scan_interval = scan_interval
        # ``process``: tests run two "processes" in one; the default tells processes and incarnations apart.
        self._me = process or f"{socket.gethostname()}:{os.getpid()}:{_process_token()}"
        # Typed Any: redis-py's stubs type replies as unions of every reply shape. Connects lazily,
        # in the event loop that first uses it (a server worker's).
        self._redis: Any = aioredis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=2.0
        )
        # BLPOP waits longer than the socket timeout above: its own connections, no read timeout.
        self._blocking: Any = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0)
        self._answering: set[asyncio.Task[None]] = set()
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

    async def holding(self, owners: Mapping[str, str | None]) -> set[str]:
        from redis.exceptions import RedisError

        asked = [(session_id, owner) for session_id, owner in owners.items() if owner is not None]
        if not asked:
            return set()
        try:
            held = await self._redis.mget([self._key(session_id) for session_id, _ in asked])
        except (RedisError, OSError):
            return {session_id for session_id, _ in asked}  # cannot tell: never recover a session twice
        return {session_id for (session_id, owner), now in zip(asked, held, strict=True) if now == owner}

    # -- commands for a session's holder -----------------------------------------------------------

    def _inbox(self, process: str) -> str:
        return f"{self._ns}:inbox:{process}"

    async def ask(
        self, owner: str, session_id: str, command: str, args: Mapping[str, Any], timeout: float
    ) -> Mapping[str, Any]:
        from redis.exceptions import RedisError

        process = owner.rpartition(":")[0]  # the owner is "{me}:{counter}" (see acquire)
        reply = f"{self._ns}:reply:{uuid.uuid4().hex}"
        request = {
            "session_id": session_id,
            "command": command,
            "args": dict(args),
            "reply": reply,
            "deadline": time.time() + timeout,
        }
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(self._inbox(process), json.dumps(request))
                pipe.pexpire(self._inbox(process), int(timeout * 1000) + 1000)  # a dead holder's inbox goes
                await pipe.execute()
            answered = await self._blocking.blpop([reply], timeout=timeout)
        except (RedisError, OSError) as exc:
            raise LeaseUnavailableError(
                f"cannot reach the process running session {session_id}: Redis at {self._url.split('@')[-1]} "
                f"unreachable ({exc})"
            ) from exc
        if answered is None:
            raise ConflictError(
                f"the process running session {session_id} did not answer {command!r} within {timeout:g} s "
                "(it may have carried it out: check the session before trying again)"
            )
        body = json.loads(answered[1])
        if "error" in body:
            raise _ERRORS.get(body["error"], GptTraderError)(body["message"])
        answer: Mapping[str, Any] = body["answer"]
        return answer

    async def serve(self, handler: SessionCommandHandler) -> None:
        from redis.exceptions import RedisError

        inbox = self._inbox(self._me)
        failing = False
        while True:
            try:
                item = await self._blocking.blpop([inbox], timeout=1)
            except (RedisError, OSError) as exc:
                if not failing:
                    log.warning("session commands: cannot read %s (%s); retrying", inbox, exc)
                failing = True
                await asyncio.sleep(1.0)
                continue
            failing = False
            if item is not None:
                task = asyncio.create_task(self._answer(handler, json.loads(item[1])), name="session-command")
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)

    async def _answer(self, handler: SessionCommandHandler, request: Mapping[str, Any]) -> None:
        from redis.exceptions import RedisError

        if time.time() > float(request["deadline"]):
            log.info(
                "session commands: dropped %s for %s (its asker gave up)", request["command"], request["session_id"]
            )
            return
        try:
            body: dict[str, Any] = {"answer": await handler(request["session_id"], request["command"], request["args"])}
        except GptTraderError as exc:
            body = {"error": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # a bug: the asker gets its one line, the log the traceback
            log.exception("session commands: %s for %s failed", request["command"], request["session_id"])
            body = {"error": "GptTraderError", "message": f"{type(exc).__name__}: {exc}"}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(request["reply"], json.dumps(body))
                pipe.expire(request["reply"], 60)
                await pipe.execute()
        except (RedisError, OSError) as exc:  # the asker times out with a clear message
            log.warning("session commands: cannot answer %s: %s", request["command"], exc)

    async def close(self) -> None:
        for task in list(self._answering):
            task.cancel()
        await self._redis.aclose()
        await self._blocking.aclose()


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
