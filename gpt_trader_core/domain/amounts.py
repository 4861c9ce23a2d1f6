"""Numbers a trader types and reads: checked inputs, money and unit counts as text, units that fit a
budget. One module for the risk, sizing and portfolio slices (each used to keep its own drifted copy)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Final

from gpt_trader_core.errors import InvalidParameterError

#: Safety bound on the floating-point fitting loops (they converge within a few ulps).
FIT_STEPS: Final = 64


def finite_number(name: str, value: object, error: type[Exception] = InvalidParameterError) -> float:
    """``value`` as a float; ``error`` naming ``name`` unless it is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise error(f"{name} must be a finite number, got {value!r}")
    return float(value)


def real_number(name: str, value: object) -> float:
    """``value`` as a float; ±infinity allowed (an open bound), NaN and non-numbers rejected."""
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(float(value)):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    return float(value)


def format_money(value: float) -> str:
    """``12,345.68``; ``∞`` for an unbounded amount."""
    return "∞" if math.isinf(value) else f"{value:,.2f}"


def format_units(value: float) -> str:
    """A quantity of units with up to six significant digits: ``1,234.5``, ``0.00012``."""
    return f"{value:,.6g}"


def max_units(budget: float, price: float) -> float:
    """The largest float ``x >= 0`` with ``x * price <= budget`` (exact in floating point)."""
    if budget <= 0:
        return 0.0
    count = budget / price
    for _ in range(FIT_STEPS):
        if count <= 0 or count * price <= budget:
            break
        count = math.nextafter(count, 0.0)
    return count
