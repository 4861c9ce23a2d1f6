"""Pickling attrs values that hold read-only mappings (``MappingProxyType`` does not pickle).

A value computed in a worker process (the Executor port) must travel back to the event loop; give its class
``def __reduce__(self): return (rebuild, read_only_fields(self))``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import attrs


def read_only_fields(instance: Any) -> tuple[type, dict[str, Any]]:
    """The attrs values of ``instance`` with its read-only mappings as plain dicts (which pickle)."""
    values = {a.name: getattr(instance, a.name) for a in attrs.fields(type(instance))}
    return type(instance), {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in values.items()}


def rebuild(cls: type, values: dict[str, Any]) -> Any:
    """Unpickle such a value: its mappings become read-only again."""
    return cls(**{k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in values.items()})
