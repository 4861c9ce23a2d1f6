"""Cached reads: the rendered answer of a read (strategy list, market data, regime) is kept through the
Cache port (kind ``http``, keyed by path and query, ``max_age`` seconds), so a repeated read costs a
cache lookup, not a recomputation and re-serialisation; ``ETag`` / ``Cache-Control`` let clients
skip even that (``If-None-Match`` → 304).

Only 200s are kept, so a hit proves its query was valid: handlers parse and validate the query inside
``render`` (a miss), and a hit skips that work too."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.respond import Response

KIND = "http"
_KEPT_HEADERS = ("x-synthetic-data", "x-data-source")


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def conditional(request: Request, response: HTTPResponse, *, max_age: int, etag: str | None = None) -> HTTPResponse:
    """``response`` with its ETag and ``Cache-Control``, or an empty 304 when the client has it."""
    etag = etag or _etag(bytes(response.body or b""))
    cache_control = f"private, max-age={max_age}"
    wanted = request.headers.get("if-none-match")
    if wanted and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]):
        return Response(status=304, headers={"etag": etag, "cache-control": cache_control})
    response.headers["etag"] = etag
    response.headers["cache-control"] = cache_control
    return response


def _key(request: Request) -> str:
    query = request.query_string
    if "&" in query:
        query = "&".join(sorted(query.split("&")))
    return hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()


async def cached_read(
    request: Request, render: Callable[[], Awaitable[HTTPResponse]], *, max_age: int = 60
) -> HTTPResponse:
    """The answer of ``render()`` for this path and query, rendered at most once per ``max_age`` seconds."""
    cache = request.app.ctx.cache
    key = _key(request)
    hit = await cache.get(KIND, key)
    if hit is not None:
        body, content_type, headers, etag = hit
        return conditional(
            request, Response(body, content_type=content_type, headers=headers), max_age=max_age, etag=etag
        )
    response = await render()
    body = bytes(response.body or b"")
    etag = _etag(body)
    if response.status == 200:
        kept = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
        await cache.set(KIND, key, (body, response.content_type, kept, etag), float(max_age))
    return conditional(request, response, max_age=max_age, etag=etag)
