"""``Idempotency-Key`` on POSTs that create work: the same key (and body) within 24 h answers the
first response again and starts nothing; the same key with another body is a 409. Responses are kept
through the Cache port (kind ``idempotency``); concurrent requests with one key are serialised here.

Several workers (``bus.backend: redis``): the responses and a claim per key live in Redis
(``RedisClaims``), so one key starts its work once whichever workers receive the request; a worker that
finds the key claimed elsewhere waits for the first response and answers it again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.problems import TYPE_BASE, problem
from entrypoints.http.requests import RequestInvalidError

TTL_S = 24 * 3600.0
KIND = "idempotency"


def _key(request: Request, key: str) -> str:
    principal = getattr(request.ctx, "principal", None)
    who = getattr(principal, "subject", "local")
    return hashlib.sha256(f"{who}\n{request.method}\n{request.path}\n{key}".encode()).hexdigest()


async def idempotent(request: Request, create: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    """``create()`` once per ``Idempotency-Key`` (every time when the header is absent)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await create()
    if not key or len(key) > 200:
        raise RequestInvalidError(
            400,
            "the Idempotency-Key header must have 1 to 200 characters",
            [{"field": "header.Idempotency-Key", "message": "1 to 200 characters"}],
        )
    cache = request.app.ctx.cache
    locks: dict[str, asyncio.Lock] = request.app.ctx.idempotency_locks
    slot = _key(request, key)
    digest = hashlib.sha256(request.body or b"").hexdigest()
    lock = locks.setdefault(slot, asyncio.Lock())
    claims = await request.app.ctx.container.adapters.work_claims()
    try:
        async with lock:
            if claims is not None:
                return await _once_shared(claims, slot, digest, create)
            return await _once(cache, slot, digest, create)
    finally:
        if not lock.locked():  # nobody else waits on this key
            locks.pop(slot, None)


CLAIM_TTL_S = 120.0  # a worker that dies while creating frees the key after this long


async def _once_shared(
    claims: Any, slot: str, digest: str, create: Callable[[], Awaitable[HTTPResponse]]
) -> HTTPResponse:
    """``_once`` across workers: the first to claim the key creates; the others answer its response."""
    key = f"{KIND}:{slot}"
    deadline = time.monotonic() + CLAIM_TTL_S
    while True:
        stored = await claims.get(key)
        if stored is None and await claims.claim(key, CLAIM_TTL_S):
            try:
                stored = await claims.get(key)  # finished by another worker just before the claim
                if stored is None:
                    response = await create()
                    if response.status < 500:
                        await claims.put(key, _record(digest, response, text=True), TTL_S)
                    return response
            finally:
                await claims.release(key)
        if stored is not None:
            stored = {**stored, "body": base64.b64decode(stored["body"])}
            return _replay(stored, digest)
        if time.monotonic() > deadline:
            return problem(
                409,
                "Conflict",
                "another worker is still processing a request with this Idempotency-Key; retry later",
                type_=TYPE_BASE + "idempotency-key-in-use",
            )
        await asyncio.sleep(0.05)


def _record(digest: str, response: HTTPResponse, *, text: bool = False) -> dict[str, Any]:
    body = bytes(response.body or b"")
    return {
        "digest": digest,
        "status": response.status,
        "body": base64.b64encode(body).decode("ascii") if text else body,
        "content_type": response.content_type,
        "headers": {k: v for k, v in response.headers.items() if k.lower() == "location"},
    }


async def _once(cache: Any, slot: str, digest: str, create: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    stored: Any = await cache.get(KIND, slot)
    if stored is not None:
        return _replay(stored, digest)
    response = await create()
    if response.status < 500:
        await cache.set(KIND, slot, _record(digest, response), TTL_S)
    return response


def _replay(stored: Any, digest: str) -> HTTPResponse:
    if stored["digest"] != digest:
        return problem(
            409,
            "Conflict",
            "this Idempotency-Key was used with another request body; use a new key",
            type_=TYPE_BASE + "idempotency-key-reused",
        )
    response = HTTPResponse(stored["body"], status=stored["status"], content_type=stored["content_type"])
    response.headers.update(stored["headers"])
    response.headers["idempotent-replayed"] = "true"
    return response
