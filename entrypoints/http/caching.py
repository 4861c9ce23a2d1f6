"""``ETag`` / ``Cache-Control`` for cached reads: a strong ETag of the body; ``If-None-Match`` → 304."""

from __future__ import annotations

import hashlib

from sanic import Request
from sanic.response import HTTPResponse


def conditional(request: Request, response: HTTPResponse, *, max_age: int) -> HTTPResponse:
    """``response`` with its ETag and ``Cache-Control``, or an empty 304 when the client has it."""
    etag = '"' + hashlib.blake2b(bytes(response.body or b""), digest_size=12).hexdigest() + '"'
    headers = {"etag": etag, "cache-control": f"private, max-age={max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if etag in [t.strip() for t in wanted.split(",")] or wanted.strip() == "*":
        return HTTPResponse(status=304, headers=headers)
    response.headers.update(headers)
    return response
