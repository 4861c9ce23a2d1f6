"""Portfolio management: capital tiers (with hysteresis) and tier-aware rebalancing."""

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
