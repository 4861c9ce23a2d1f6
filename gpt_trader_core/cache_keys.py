"""Content keys for cached values: equal inputs ⇒ equal key, whatever the argument order."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "__attrs_attrs__"):
        return {a.name: getattr(value, a.name) for a in value.__attrs_attrs__}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)


def content_key(kind: str, **parts: Any) -> str:
    """``kind:<sha256 of the parts as canonical JSON>`` (32 hex chars)."""
    blob = json.dumps(parts, sort_keys=True, default=_default, separators=(",", ":"))
    return f"{kind}:{hashlib.sha256(blob.encode()).hexdigest()[:32]}"
