"""Portfolio management: capital tiers (with hysteresis) and tier-aware rebalancing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
    from gpt_trader_core.portfolio.adaptive import (
        DEFAULT_BOUNDARIES,
        DEFAULT_TIER_CONFIG,
        STRATEGIES,
        RebalancePlan,
        TierConfig,
        TierDecision,
        TierSpec,
        classify_tier,
        default_tiers,
        rebalance_plan,
    )

__all__ = [
    "DEFAULT_BOUNDARIES",
    "DEFAULT_TIER_CONFIG",
    "STRATEGIES",
    "RebalancePlan",
    "TierConfig",
    "TierDecision",
    "TierSpec",
    "classify_tier",
    "default_tiers",
    "rebalance_plan",
]

# resolved on first use, like the other slices (see gpt_trader_core.domain.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DEFAULT_BOUNDARIES": "gpt_trader_core.portfolio.adaptive",
        "DEFAULT_TIER_CONFIG": "gpt_trader_core.portfolio.adaptive",
        "STRATEGIES": "gpt_trader_core.portfolio.adaptive",
        "RebalancePlan": "gpt_trader_core.portfolio.adaptive",
        "TierConfig": "gpt_trader_core.portfolio.adaptive",
        "TierDecision": "gpt_trader_core.portfolio.adaptive",
        "TierSpec": "gpt_trader_core.portfolio.adaptive",
        "classify_tier": "gpt_trader_core.portfolio.adaptive",
        "default_tiers": "gpt_trader_core.portfolio.adaptive",
        "rebalance_plan": "gpt_trader_core.portfolio.adaptive",
    },
)
