"""Domain values: attrs frozen classes, numpy inside, no I/O."""

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
