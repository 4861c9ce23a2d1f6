"""Cached reads: the rendered answer of a read (strategy list, market data, regime) is kept through the
Cache port (kind ``http``, keyed by path and query, ``max_age`` seconds), so a repeated read costs a
cache lookup, not a recomputation and re-serialisation; ``ETag`` / ``Cache-Control`` let clients
skip even that (``If-None-Match`` → 304)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse

KIND = "http"
_KEPT_HEADERS = ("x-synthetic-data", "x-data-source")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def conditional(request: Request, response: HTTPResponse, *, max_age: int, etag: str | None = None) -> HTTPResponse:
    """``response`` with its ETag and ``Cache-Control``, or an empty 304 when the client has it."""
    etag = etag or _etag(bytes(response.body or b""))
    headers = {"etag": etag, "cache-control": f"private, max-age={max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if etag in [t.strip() for t in wanted.split(",")] or wanted.strip() == "*":
        return HTTPResponse(status=304, headers=headers)
    response.headers.update(headers)
    return response


async def cached_read(
    request: Request, render: Callable[[], Awaitable[HTTPResponse]], *, max_age: int = 60
) -> HTTPResponse:
    """The answer of ``render()`` for this path and query, rendered at most once per ``max_age`` seconds."""
    cache = request.app.ctx.cache
    key = hashlib.sha256(f"{request.path}?{'&'.join(sorted(request.query_string.split('&')))}".encode()).hexdigest()
    hit = await cache.get(KIND, key)
    if hit is not None:
        body, content_type, headers, etag = hit
        response = HTTPResponse(body, content_type=content_type, headers=dict(headers))
        return conditional(request, response, max_age=max_age, etag=etag)
    response = await render()
    body = bytes(response.body or b"")
    etag = _etag(body)
    if response.status == 200:
        kept = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
        await cache.set(KIND, key, (body, response.content_type, kept, etag), float(max_age))
    return conditional(request, response, max_age=max_age, etag=etag)
