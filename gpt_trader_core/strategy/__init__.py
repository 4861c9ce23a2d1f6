"""Strategies: the contract, the registry and the built-ins."""

from gpt_trader_core.strategy.base import Param, Signals, Strategy
from gpt_trader_core.strategy.builtin import BUILTIN_STRATEGIES
from gpt_trader_core.strategy.registry import StrategyRegistry, StrategySpec

#: The library's registry: the built-ins plus whatever the user registers with ``@gt.register_strategy``.
REGISTRY = StrategyRegistry()
for _cls in BUILTIN_STRATEGIES:
    REGISTRY.register(_cls)

__all__ = [
    "BUILTIN_STRATEGIES",
    "REGISTRY",
    "Param",
    "Signals",
    "Strategy",
    "StrategyRegistry",
    "StrategySpec",
]
