"""The remote edge's converter: a server's JSON back into the core's values.

The server writes values with the JSON edge's rules (datetimes ISO 8601, durations in seconds,
non-finite floats as ``null``, numpy arrays as lists); this converter reads them back, so that a
command prints a value fetched from a server exactly as it prints one computed here.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import cattrs


def _datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=None) if parsed.tzinfo is not None else parsed


def _float(value: Any, _: type) -> float:
    return math.nan if value is None else float(value)


@functools.cache
def remote_converter() -> cattrs.Converter:
    """The remote edge's converter (built once, on first use). ``null`` floats read as NaN (the JSON
    edge writes NaN as ``null``)."""
    converter = cattrs.Converter()
    converter.register_structure_hook(dt.datetime, _datetime)
    converter.register_structure_hook(dt.date, lambda v, _: dt.date.fromisoformat(str(v)))
    converter.register_structure_hook(dt.timedelta, lambda v, _: dt.timedelta(seconds=float(v)))
    converter.register_structure_hook(float, _float)
    converter.register_structure_hook(Any, lambda v, _: v)
    return converter


def structure(value: Any, cls: Any) -> Any:
    """``value`` (JSON data) as ``cls``; a shape the server should not send is a clear error."""
    from adapters.remote.errors import RemoteError

    try:
        return remote_converter().structure(value, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        name = getattr(cls, "__name__", str(cls))
        raise RemoteError(
            f"the server's answer is not a {name} this client understands ({type(exc).__name__}: {exc}); "
            "are the server and this command the same gpt-trader version?"
        ) from None
