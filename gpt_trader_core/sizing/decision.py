"""What sizing returns: the decision and each step that shaped it."""

from __future__ import annotations

import attrs

from gpt_trader_core.domain.trading import OrderSide


@attrs.frozen
class SizingStep:
    """One stage of a sizing decision: ``name`` (machine-readable), ``value`` and a readable ``note``."""

    name: str
    value: float
    note: str


@attrs.frozen
class SizingDecision:
    """How many ``units`` to trade (≥ 0) and why (``steps``, in order; ``reason`` sums it up).

    ``notional = units * price``; ``fraction_of_capital = notional / capital``; ``risk`` is the loss at
    the stop (``units * |price - stop|``), ``None`` without a stop.
    """

    units: float
    notional: float
    fraction_of_capital: float
    method: str
    side: OrderSide
    price: float
    capital: float
    risk: float | None
    steps: tuple[SizingStep, ...]
    reason: str

    def explain(self) -> str:
        """The decision as text, one step per line."""
        lines = [self.reason]
        lines += [f"  {i}. {step.note}" for i, step in enumerate(self.steps, 1)]
        return "\n".join(lines)
