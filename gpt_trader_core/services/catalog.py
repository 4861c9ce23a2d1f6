"""The strategy catalogue as drivers present it: each registered strategy's description, parameters and
their JSON Schema, through the cache.

Its own module so that listing strategies (``gpt-trader strategies``, ``GET /strategies/list``) does not
import what ``services.research`` needs for backtests and studies (optimisation, jobs, the samplers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from gpt_trader_core.ports import Cache
    from gpt_trader_core.strategy.base import Param
    from gpt_trader_core.strategy.registry import StrategyRegistry

__all__ = ["StrategyCatalog", "StrategyInfo", "param_schema"]

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def param_schema(params: Sequence[Param]) -> dict[str, Any]:
    """A strategy's parameters as a JSON Schema object (types, ranges, choices, defaults)."""
    properties: dict[str, Any] = {}
    for p in params:
        schema: dict[str, Any] = {"type": _JSON_TYPES.get(p.type, "string"), "default": p.default}
        if p.low is not None:
            schema["minimum"] = p.low
        if p.high is not None:
            schema["maximum"] = p.high
        if p.choices is not None:
            schema["enum"] = list(p.choices)
        if p.description:
            schema["description"] = p.description
        properties[p.name] = schema
    return {"type": "object", "properties": properties, "additionalProperties": False}


@attrs.frozen
class StrategyInfo:
    """A registered strategy: its description, parameters and their JSON Schema."""

    name: str
    description: str
    params: tuple[Mapping[str, Any], ...]
    params_schema: Mapping[str, Any]


class StrategyCatalog:
    """The registry as drivers present it, through the cache (kind ``strategies``)."""

    def __init__(self, registry: StrategyRegistry, cache: Cache | None = None) -> None:
        self._registry = registry
        self._cache = cache

    async def list(self) -> tuple[StrategyInfo, ...]:
        key = "strategies:" + ",".join(self._registry)
        if self._cache is not None:
            hit = await self._cache.get("strategies", key)
            if isinstance(hit, tuple):
                return hit
        infos = tuple(
            StrategyInfo(
                spec.name, spec.description, tuple(p.describe() for p in spec.params), param_schema(spec.params)
            )
            for spec in (self._registry[name] for name in self._registry)
        )
        if self._cache is not None:
            await self._cache.set("strategies", key, infos)
        return infos
