"""Backtest settings: one frozen value, validated on construction."""

from __future__ import annotations

import math
from typing import Any, Literal

import attrs

from gpt_trader_core.errors import InvalidParameterError

Mode = Literal["long_only", "long_short"]
FillAt = Literal["next_open", "close"]


def _fraction(name: str, upper: float) -> Any:
    def check(_: Any, __: Any, value: float | None) -> None:
        if value is None:
            return
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value < upper:
            raise InvalidParameterError(f"{name} must be a fraction in [0, {upper}), got {value!r}")

    return check


def _positive_or_none(name: str) -> Any:
    def check(_: Any, __: Any, value: float | None) -> None:
        if value is not None and (not isinstance(value, int | float) or not 0 < value < 1):
            raise InvalidParameterError(f"{name} must be a fraction in (0, 1) such as 0.05 for 5 %, got {value!r}")

    return check


def _cash(_: Any, __: Any, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"cash must be a positive amount, got {value!r}")


def _fixed(_: Any, __: Any, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidParameterError(f"commission_fixed must be >= 0 (cash per order), got {value!r}")


def _choice(name: str, options: tuple[str, ...]) -> Any:
    def check(_: Any, __: Any, value: str) -> None:
        if value not in options:
            raise InvalidParameterError(f"{name} must be one of {', '.join(options)}; got {value!r}")

    return check


@attrs.frozen
class BacktestConfig:
    """How a backtest trades.

    - ``cash``: starting cash.
    - ``commission``: rate per side on traded value (0.002 = 0.2 %), charged at entry and at exit.
    - ``commission_fixed``: cash per order, on top of the rate.
    - ``spread``: backtesting.py's ``spread`` exactly — the bid-ask spread as a rate of the price,
      paid on entries only: a long entry fills at ``price * (1 + spread)``, a short one at
      ``price * (1 - spread)`` (sizing and the entry commission use that price, as in
      backtesting.py); exits fill at the quoted price.
    - ``slippage``: a rate by which every fill is worse than the quote, at entry and at exit: entries
      as with ``spread`` (the two rates add up), exits of a long at ``price * (1 - slippage)`` and of
      a short at ``price * (1 + slippage)``; commission is charged on the slipped price.
    - ``mode``: ``long_short`` reverses on an opposite signal; ``long_only`` goes flat instead of short.
    - ``fill``: ``next_open`` (market orders fill at the next bar's open) or ``close`` (at the
      signalling bar's close).
    - ``fractional``: allow fractional units (default: whole units, all-in).
    - ``close_at_end``: close a position still open on the last bar at its close and count the
      trade (default: mark it to market, not a trade).
    - ``stop_loss`` / ``take_profit`` / ``trailing_stop``: fractions of the entry price (0.05 = 5 %)
      or ``None``. Stops are checked from the entry bar on against each bar's low/high; a gap through
      the level fills at the open. When a stop and the target are both touched in one bar the stop
      is assumed first (pessimistic).
    """

    cash: float = attrs.field(default=10_000.0, validator=_cash)
    commission: float = attrs.field(default=0.0, validator=_fraction("commission", 0.1))
    commission_fixed: float = attrs.field(default=0.0, validator=_fixed)
    slippage: float = attrs.field(default=0.0, validator=_fraction("slippage", 0.1))
    spread: float = attrs.field(default=0.0, validator=_fraction("spread", 0.1))
    mode: Mode = attrs.field(default="long_short", validator=_choice("mode", ("long_only", "long_short")))
    fill: FillAt = attrs.field(default="next_open", validator=_choice("fill", ("next_open", "close")))
    fractional: bool = False
    close_at_end: bool = False
    stop_loss: float | None = attrs.field(default=None, validator=_positive_or_none("stop_loss"))
    take_profit: float | None = attrs.field(default=None, validator=_positive_or_none("take_profit"))
    trailing_stop: float | None = attrs.field(default=None, validator=_positive_or_none("trailing_stop"))

    @property
    def has_stops(self) -> bool:
        return self.stop_loss is not None or self.take_profit is not None or self.trailing_stop is not None
