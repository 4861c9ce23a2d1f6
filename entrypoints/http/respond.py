"""Shaping responses: a presenter shape (attrs) → JSON with the right status and headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sanic.response import HTTPResponse

from entrypoints.presenters import dumps


def ok(shape: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    return HTTPResponse(dumps(shape), status=status, headers=dict(headers or {}), content_type="application/json")


def accepted(shape: Any, location: str) -> HTTPResponse:
    """202 for work started in the background; ``Location`` is its status resource."""
    return ok(shape, 202, {"location": location})
