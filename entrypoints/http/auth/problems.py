"""RFC 9457 problem responses for the auth layer.

Same signature as ``entrypoints.http.problems.problem`` of the REST API (HTTP_CONTRACT.md §4); this
twin serves until that module is on main, then the import in ``auth/__init__`` switches to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sanic.response import HTTPResponse

_TITLES = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    body: dict[str, Any] = {"type": type_ or "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = list(errors)
    return HTTPResponse(
        json.dumps(body), status=status, headers=dict(headers or {}), content_type="application/problem+json"
    )
