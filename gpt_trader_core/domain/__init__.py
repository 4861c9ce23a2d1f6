"""Domain values: attrs frozen classes, numpy inside, no I/O.

The re-exports below are resolved on first use (PEP 562): importing one numpy-free submodule
(``domain.records``, ``domain.trading``, ``domain.auth``) must not import ``bars``/``results`` and so
numpy (~60 ms), which read-only commands such as ``gpt-trader sessions list`` never touch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpt_trader_core.domain.bars import Bars
    from gpt_trader_core.domain.results import BacktestResult
    from gpt_trader_core.domain.trading import ExitReason, Fill, Order, OrderSide, OrderType, Position, Trade

#: re-exported name -> the submodule defining it
_LAZY = {
    "BacktestResult": "results",
    "Bars": "bars",
    "ExitReason": "trading",
    "Fill": "trading",
    "Order": "trading",
    "OrderSide": "trading",
    "OrderType": "trading",
    "Position": "trading",
    "Trade": "trading",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
