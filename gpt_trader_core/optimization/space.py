"""Search spaces: the values each strategy parameter may take, from the strategy's declared ranges
or the user's own lists/ranges, with an optional constraint between parameters."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.strategy.base import Param, Strategy

Constraint = Callable[[Mapping[str, Any]], bool]

#: Grid points per parameter when a declared range has no step.
DEFAULT_POINTS = 10


def _declared_values(param: Param) -> tuple[Any, ...]:
    if param.choices is not None:
        return tuple(param.choices)
    if param.type is bool:
        return (False, True)
    if param.low is None or param.high is None:
        return (param.default,)
    step = param.step or (param.high - param.low) / (DEFAULT_POINTS - 1)
    values = np.arange(param.low, param.high + step / 2, step)
    values = values[values <= param.high + 1e-9]  # a step that does not divide the range stops short
    if param.type is int:
        return tuple(sorted({round(float(v)) for v in values}))
    return tuple(float(round(v, 10)) for v in values)


@attrs.frozen
class SearchSpace:
    """``values`` maps each searched parameter to its candidate values (in order); parameters not in
    it keep their defaults (or ``fixed``). ``constraint`` filters combinations."""

    strategy: type[Strategy]
    values: Mapping[str, tuple[Any, ...]]
    fixed: Mapping[str, Any] = attrs.field(factory=dict)
    constraint: Constraint | None = attrs.field(default=None, eq=False)

    @classmethod
    def build(
        cls,
        strategy: type[Strategy],
        overrides: Mapping[str, Any] | None = None,
        constraint: Constraint | None = None,
    ) -> SearchSpace:
        """From the strategy's declared parameters; ``overrides`` maps a parameter to a sequence or
        range of candidates (searched) or to a single value (fixed)."""
        overrides = dict(overrides or {})
        declared = {p.name: p for p in strategy.params}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise InvalidParameterError(
                f"{strategy.name}: unknown parameter {', '.join(map(repr, unknown))} in the search space; "
                f"valid parameters: {', '.join(declared)}"
            )
        values: dict[str, tuple[Any, ...]] = {}
        fixed: dict[str, Any] = {}
        for name, param in declared.items():
            if name not in overrides:
                values[name] = _declared_values(param)
                continue
            given = overrides[name]
            if isinstance(given, str) or not isinstance(given, Sequence | range | np.ndarray):
                fixed[name] = param.coerce(strategy.name, given)
                continue
            candidates = tuple(param.coerce(strategy.name, v) for v in given)
            if not candidates:
                raise InvalidParameterError(f"{strategy.name}: the search space for {name!r} is empty")
            values[name] = tuple(dict.fromkeys(candidates))
        return cls(strategy, values, fixed, constraint)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    def size(self) -> int:
        return math.prod(len(v) for v in self.values.values())

    def is_valid(self, params: Mapping[str, Any]) -> bool:
        """True when the combination passes the user's constraint and the strategy's own checks."""
        if self.constraint is not None and not self.constraint(params):
            return False
        try:
            self.strategy.check(params)
        except InvalidParameterError:
            return False
        return True

    def complete(self, searched: Mapping[str, Any]) -> dict[str, Any]:
        defaults = {p.name: p.default for p in self.strategy.params}
        return {**defaults, **self.fixed, **searched}

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every valid combination, in a deterministic order (last parameter varies fastest)."""
        base = self.complete({})  # defaults and fixed values, built once (a grid has thousands of points)
        names = self.names
        for combo in itertools.product(*self.values.values()):
            params = base.copy()
            params.update(zip(names, combo, strict=True))
            if self.is_valid(params):
                yield params

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` distinct valid random combinations (fewer if the space is smaller), seeded."""
        rng = np.random.default_rng(seed)
        seen: set[tuple[Any, ...]] = set()
        out: list[dict[str, Any]] = []
        attempts = 0
        while len(out) < n and attempts < n * 50 + 1000:
            attempts += 1
            combo = tuple(vals[int(rng.integers(len(vals)))] for vals in self.values.values())
            if combo in seen:
                continue
            seen.add(combo)
            params = self.complete(dict(zip(self.names, combo, strict=True)))
            if self.is_valid(params):
                out.append(params)
        return out
