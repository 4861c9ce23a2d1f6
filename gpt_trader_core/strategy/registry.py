"""The strategy registry: names → strategy classes, built-ins plus the user's own.

It is the one module-level registry of the library and it is append-only, like an entry-point
table: ``register`` adds a class (refusing a second class under a taken name unless
``replace=True``), nothing is ever removed behind a caller's back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload

import attrs

from gpt_trader_core.errors import InvalidParameterError, UnknownStrategyError
from gpt_trader_core.strategy.base import Param, Strategy

S = TypeVar("S", bound=type[Strategy])


@attrs.frozen
class StrategySpec:
    """A registered strategy as drivers present it: name, description, parameter specs."""

    name: str
    description: str
    params: tuple[Param, ...]
    cls: type[Strategy]

    def create(self, **values: Any) -> Strategy:
        return self.cls(**values)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": [p.describe() for p in self.params],
        }


class StrategyRegistry(Mapping[str, StrategySpec]):
    """Mapping of strategy name → ``StrategySpec``."""

    def __init__(self) -> None:
        self._specs: dict[str, StrategySpec] = {}

    @overload
    def register(self, cls: S, *, replace: bool = False) -> S: ...

    @overload
    def register(self, cls: None = None, *, replace: bool = False) -> Callable[[S], S]: ...

    def register(self, cls: S | None = None, *, replace: bool = False) -> S | Callable[[S], S]:
        """Register a ``Strategy`` subclass; usable as ``@register`` or ``@register(replace=True)``."""

        def add(klass: S) -> S:
            if not (isinstance(klass, type) and issubclass(klass, Strategy)):
                raise InvalidParameterError(f"{klass!r} is not a Strategy subclass; derive from gt.Strategy")
            name = getattr(klass, "name", None)
            if not isinstance(name, str) or not name.isidentifier():
                raise InvalidParameterError(
                    f"{klass.__qualname__} needs a class attribute `name` that is an identifier, got {name!r}"
                )
            existing = self._specs.get(name)
            if existing is not None and existing.cls is not klass and not replace:
                raise InvalidParameterError(
                    f"a strategy named {name!r} is already registered ({existing.cls.__qualname__}); "
                    "pick another name or pass replace=True"
                )
            names = [p.name for p in klass.params]
            if len(set(names)) != len(names):
                raise InvalidParameterError(f"{name}: duplicate parameter names in {names}")
            klass.resolve({})  # the defaults themselves must be valid
            doc = (klass.__doc__ or "").strip().splitlines()
            self._specs[name] = StrategySpec(name, klass.description or (doc[0] if doc else ""), klass.params, klass)
            return klass

        return add if cls is None else add(cls)

    def unregister(self, name: str) -> None:
        """Forget the strategy ``name`` (an unknown name is a clear error)."""
        self.get_spec(name)
        del self._specs[name]

    def get_spec(self, name: str) -> StrategySpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownStrategyError(
                f"unknown strategy {name!r}; available: {', '.join(sorted(self._specs))}"
            ) from None

    def create(self, name: str, **values: Any) -> Strategy:
        return self.get_spec(name).create(**values)

    def __getitem__(self, name: str) -> StrategySpec:
        return self.get_spec(name)

    def __contains__(self, name: object) -> bool:
        # Mapping's default asks __getitem__ and expects KeyError; ours raises UnknownStrategyError.
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)
