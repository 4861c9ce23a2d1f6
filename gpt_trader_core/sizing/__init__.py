"""Position sizing: fixed, fixed-fractional, (fractional) Kelly and volatility targeting, adjusted for
confidence and market regime, capped by risk limits, with every step explained.

    from gpt_trader_core.sizing import size_position
    decision = size_position(capital=10_000, price=50, method="fixed_fractional", stop=48)
    print(decision.explain())
"""

from gpt_trader_core.sizing.methods import (
    DEFAULT_REGIME_MULTIPLIERS,
    METHODS,
    REGIMES,
    SizingDecision,
    SizingLimits,
    SizingMethod,
    SizingRequest,
    SizingStep,
    size_from_request,
    size_position,
)

__all__ = [
    "DEFAULT_REGIME_MULTIPLIERS",
    "METHODS",
    "REGIMES",
    "SizingDecision",
    "SizingLimits",
    "SizingMethod",
    "SizingRequest",
    "SizingStep",
    "size_from_request",
    "size_position",
]
