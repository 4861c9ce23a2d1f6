"""Domain values: attrs frozen classes, numpy inside, no I/O.

The re-exports below are resolved on first use (PEP 562): importing one numpy-free submodule
(``domain.records``, ``domain.trading``, ``domain.auth``) must not import ``bars``/``results`` and so
numpy (~0.3 G instructions), which the ports, the stores and remote commands never need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
    from gpt_trader_core.domain.bars import Bars
    from gpt_trader_core.domain.results import BacktestResult
    from gpt_trader_core.domain.trading import ExitReason, Fill, Order, OrderSide, OrderType, Position, Trade

__all__ = [
    "BacktestResult",
    "Bars",
    "ExitReason",
    "Fill",
    "Order",
    "OrderSide",
    "OrderType",
    "Position",
    "Trade",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BacktestResult": "gpt_trader_core.domain.results",
        "Bars": "gpt_trader_core.domain.bars",
        "ExitReason": "gpt_trader_core.domain.trading",
        "Fill": "gpt_trader_core.domain.trading",
        "Order": "gpt_trader_core.domain.trading",
        "OrderSide": "gpt_trader_core.domain.trading",
        "OrderType": "gpt_trader_core.domain.trading",
        "Position": "gpt_trader_core.domain.trading",
        "Trade": "gpt_trader_core.domain.trading",
    },
)
