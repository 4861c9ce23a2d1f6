"""Pre-trade risk limits: allow, shrink or reject an order, with the reasons in numbers."""

from gpt_trader_core.risk.limits import (
    Holding,
    PortfolioSnapshot,
    RiskAction,
    RiskDecision,
    RiskLimits,
    check_order,
)

__all__ = ["Holding", "PortfolioSnapshot", "RiskAction", "RiskDecision", "RiskLimits", "check_order"]
