"""Position sizing: fixed, fixed-fractional, (fractional) Kelly and volatility targeting, adjusted for
confidence and market regime, capped by risk limits, with every step explained.

    from gpt_trader_core.sizing import size_position
    decision = size_position(capital=10_000, price=50, method="fixed_fractional", stop=48)
    print(decision.explain())

Modules: ``request`` (the inputs, validated), ``pipeline`` (base size → confidence → regime → caps →
whole units, documented there), ``decision`` (the answer, step by step).
"""

from gpt_trader_core.sizing.decision import SizingDecision, SizingStep
from gpt_trader_core.sizing.pipeline import size_from_request, size_position
from gpt_trader_core.sizing.request import (
    DEFAULT_REGIME_MULTIPLIERS,
    METHODS,
    REGIMES,
    SizingLimits,
    SizingMethod,
    SizingRequest,
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
