"""The fill model shared by the backtest engine and the simulated broker: one arithmetic, so a
paper session and a backtest of the same bars fill at the same prices and sizes."""

from __future__ import annotations

import math

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig


@attrs.frozen
class FillModel:
    """Commission (rate per side + fixed per order), slippage (rate, against the trader on both
    fills), spread (rate, against the trader on entries only, as backtesting.py's ``spread``) and
    sizing (whole units unless ``fractional``). See ``BacktestConfig``."""

    commission: float = 0.0
    commission_fixed: float = 0.0
    slippage: float = 0.0
    fractional: bool = False
    spread: float = 0.0

    @classmethod
    def from_config(cls, config: BacktestConfig) -> FillModel:
        return cls(config.commission, config.commission_fixed, config.slippage, config.fractional, spread=config.spread)

    def commission_for(self, units: float, price: float) -> float:
        return self.commission_fixed + abs(units) * price * self.commission

    def entry_price(self, side: float, price: float) -> float:
        """The price an entry in direction ``side`` (+1 buy, -1 sell short) pays for a quote of ``price``."""
        return price * (1.0 + math.copysign(self.spread + self.slippage, side))

    def exit_price(self, size: float, price: float) -> float:
        """The price closing a position of ``size`` gets for a quote of ``price`` (slippage, no spread)."""
        return price * (1.0 - math.copysign(self.slippage, size)) if self.slippage else price

    def entry_units(self, side: float, fraction: float, price: float, cash: float) -> float:
        """Units that ``fraction`` of ``cash`` buys at ``price`` including costs (backtesting.py's
        ``int(cash * fraction // (adjusted price + commission per unit))``); 0 when not even one."""
        adjusted = self.entry_price(side, price)
        per_unit = adjusted + self.commission_for(fraction, price) / fraction
        available = max(0.0, cash)
        units = (available * 1.0 * fraction) / per_unit if self.fractional else (available * 1.0 * fraction) // per_unit
        if units <= 0 or units * per_unit > available:
            return 0.0
        return float(units)
