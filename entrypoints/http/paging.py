"""``limit`` + opaque ``cursor`` pagination over the stores' newest-first lists."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from entrypoints.http.requests import RequestInvalidError

T = TypeVar("T")

#: What a cursor looks like (unpadded base64url).
CURSOR = r"^[A-Za-z0-9_-]{1,200}$"


def encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(offset)
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        # Well-formed (the schema's pattern) but not one of ours: 422, like any value the API cannot use.
        raise RequestInvalidError(
            422 if re.fullmatch(CURSOR, cursor) else 400,
            "query.cursor is not a cursor this API issued; pass next_cursor from the previous page",
            [{"field": "query.cursor", "message": "not a cursor this API issued"}],
        ) from None


async def page(
    fetch: Callable[[int], Awaitable[Sequence[T]]], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """The items of one page and the cursor of the next (None on the last page). ``fetch(n)`` returns
    the newest ``n`` items; a cursor is the offset into that order."""
    offset = decode(cursor)
    items = list(await fetch(offset + limit + 1))
    window = items[offset : offset + limit]
    more = len(items) > offset + limit
    return window, encode(offset + limit) if more else None
