"""A declared strategy parameter: its type, default, range and choices. A plain value (no numpy), so what
only describes or checks inputs — the workflow catalogue, reading executions — need not load the strategies."""

from __future__ import annotations

import math
from typing import Any

import attrs

from gpt_trader_core.errors import InvalidParameterError

__all__ = ["Param"]

_TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str"}


@attrs.frozen
class Param:
    """One declared strategy parameter: drives validation, optimisation spaces, CLI help and API schema."""

    name: str
    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    description: str = ""
    #: Default optimisation step over [low, high] for grid search (None: a sensible default).
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def type_name(self) -> str:
        return _TYPE_NAMES.get(self.type, self.type.__name__)

    def coerce(self, strategy: str, value: Any) -> Any:
        """``value`` converted to this parameter's type and checked against its range."""
        where = f"{strategy}: parameter {self.name!r}"
        try:
            if self.type is bool:
                value = _to_bool(value)
            elif self.type is int:
                if isinstance(value, bool):
                    raise ValueError(value)
                number = float(value) if isinstance(value, str) else value
                if isinstance(number, float) and not number.is_integer():
                    raise ValueError(value)
                value = int(number)
            elif self.type is float:
                if isinstance(value, bool):
                    raise ValueError(value)
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError(value)
            else:
                value = self.type(value)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{where} must be {self.type_name}, got {value!r}{self._range_hint()}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise InvalidParameterError(f"{where} must be one of {list(self.choices)}, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise InvalidParameterError(f"{where} is {value!r}, out of range{self._range_hint()}")
        return value

    def _range_hint(self) -> str:
        if self.low is None and self.high is None:
            return ""
        return f" (valid range {self.low} .. {self.high})"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "choices": list(self.choices) if self.choices is not None else None,
            "description": self.description,
        }


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
        return value.lower() in {"true", "1", "yes", "on"}
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(value)
