"""``Idempotency-Key`` on POSTs that create work: the same key (and body) within 24 h answers the
first response again and starts nothing; the same key with another body is a 409. Responses are kept
through the Cache port (kind ``idempotency``); concurrent requests with one key are serialised here."""

from __future__ import annotations

import asyncio
import hashlib
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
    try:
        async with lock:
            return await _once(cache, slot, digest, create)
    finally:
        if not lock.locked():  # nobody else waits on this key
            locks.pop(slot, None)


async def _once(cache: Any, slot: str, digest: str, create: Callable[[], Awaitable[HTTPResponse]]) -> HTTPResponse:
    stored: Any = await cache.get(KIND, slot)
    if stored is not None:
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
    response = await create()
    if response.status < 500:
        await cache.set(
            KIND,
            slot,
            {
                "digest": digest,
                "status": response.status,
                "body": bytes(response.body or b""),
                "content_type": response.content_type,
                "headers": {k: v for k, v in response.headers.items() if k.lower() == "location"},
            },
            TTL_S,
        )
    return response
