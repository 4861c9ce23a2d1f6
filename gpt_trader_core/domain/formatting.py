"""How drivers print one value, without numpy: the CLI's tables import it for every command that prints
one, and ``domain.results`` (numpy) re-exports it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

__all__ = ["format_value"]


def format_value(value: Any) -> str:
    """How drivers print one statistic."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:,.4f}" if abs(value) < 1e6 else f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)
