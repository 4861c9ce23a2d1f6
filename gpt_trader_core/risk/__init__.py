"""Pre-trade risk limits: allow, shrink or reject an order, with the reasons in numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
    from gpt_trader_core.risk.limits import (
        Holding,
        PortfolioSnapshot,
        RiskAction,
        RiskDecision,
        RiskLimits,
        check_order,
    )

__all__ = ["Holding", "PortfolioSnapshot", "RiskAction", "RiskDecision", "RiskLimits", "check_order"]

# resolved on first use, like the other slices (see gpt_trader_core.domain.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Holding": "gpt_trader_core.risk.limits",
        "PortfolioSnapshot": "gpt_trader_core.risk.limits",
        "RiskAction": "gpt_trader_core.risk.limits",
        "RiskDecision": "gpt_trader_core.risk.limits",
        "RiskLimits": "gpt_trader_core.risk.limits",
        "check_order": "gpt_trader_core.risk.limits",
    },
)
