"""Whether a value can never change, so one object may serve every reader (the memory cache's entries,
the local executor's arguments kept in its workers) instead of a copy each."""

from __future__ import annotations

import datetime as dt
import enum
import sys
from types import MappingProxyType
from typing import Any, Final

import attr
import attrs

_ATOMS: Final = (str, bytes, int, float, complex, type(None), dt.date, dt.time, dt.timedelta, enum.Enum)
#: What ``__setattr__`` of a frozen attrs class is (attrs has no public test; None: no record is shared).
_FROZEN_SETATTR: Final = getattr(getattr(attr, "_make", None), "_frozen_setattrs", None)
#: Most objects ``immutable`` looks at before it gives up (a huge tuple is not worth the walk).
_WALK_LIMIT: Final = 10_000


def immutable(value: Any) -> bool:
    """Whether ``value`` cannot change, so one object may be handed to every reader: atoms (numbers,
    strings, dates, enum members, numpy scalars), read-only numpy arrays of numbers whose memory is
    read-only too, and tuples, frozensets, mapping proxies and frozen attrs records of such values.
    Anything else (a dict, a list, a writeable array, an unknown object) may change."""
    seen = 0
    todo = [value]
    while todo:
        seen += 1
        if seen > _WALK_LIMIT:
            return False
        item = todo.pop()
        if isinstance(item, _ATOMS):
            continue
        cls = type(item)
        if cls is tuple or cls is frozenset:
            todo.extend(item)
        elif cls is MappingProxyType:
            todo.extend(item.keys())
            todo.extend(item.values())
        elif attrs.has(cls):
            if _FROZEN_SETATTR is None or cls.__setattr__ is not _FROZEN_SETATTR or hasattr(item, "__dict__"):
                return False  # settable, or extra attributes besides the frozen fields
            todo.extend(getattr(item, a.name) for a in attrs.fields(cls))
        elif not _frozen_numpy(item):
            return False
    return True


def _frozen_numpy(item: Any) -> bool:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    if isinstance(item, numpy.generic):
        return item.dtype.kind != "O"
    if type(item) is not numpy.ndarray or item.flags.writeable or item.dtype.kind == "O":
        return False
    base = item.base
    while isinstance(base, numpy.ndarray):  # a read-only view of a writeable array could still change
        if base.flags.writeable:
            return False
        base = base.base
    return base is None or isinstance(base, bytes)
