"""Response shapes shared by every driver that prints JSON (REST API, CLI ``--format json``).

Each shape is a frozen attrs class built from domain values by a function here; the REST API's
OpenAPI document is generated from the same classes, so what the CLI prints, the API answers and
the document describes cannot drift apart. ``plain`` turns a shape into JSON-ready data.
"""

from __future__ import annotations

import json
from typing import Any

from entrypoints.serialization import to_plain


def plain(value: Any) -> Any:
    """A shape (or a list of shapes) as JSON-ready data (non-finite floats as null)."""
    return to_plain(value)


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(plain(value), indent=indent, allow_nan=False, ensure_ascii=False)
