"""What a sizing asks for: the method, its inputs and the limits, validated on construction
(``SizingRequest``, ``SizingLimits``), with the defaults every method starts from. The pipeline that
answers it: ``sizing.pipeline``."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Final, Literal

import attrs

from gpt_trader_core.domain.amounts import finite_number, format_units
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.regimes import REGIMES as REGIMES
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.domain.trading import OrderSide, Trade
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError

SizingMethod = Literal["fixed", "fixed_fractional", "kelly", "fractional_kelly", "volatility_target"]
VolEstimator = Literal["atr", "stdev"]

#: The sizing methods, in the order the docs list them.
METHODS: Final[tuple[str, ...]] = (
    "fixed",
    "fixed_fractional",
    "kelly",
    "fractional_kelly",
    "volatility_target",
)


#: Size multiplier per regime; a ``regime_multipliers`` mapping overrides some or all of them.
DEFAULT_REGIME_MULTIPLIERS: Final[Mapping[str, float]] = types.MappingProxyType(
    {
        "bull_quiet": 1.0,
        "bull_volatile": 0.75,
        "bear_quiet": 0.5,
        "bear_volatile": 0.25,
        "sideways_quiet": 0.75,
        "sideways_volatile": 0.5,
        "crisis": 0.0,
    }
)

DEFAULT_RISK_FRACTION: Final = 0.01
DEFAULT_TARGET_VOL: Final = 0.15
DEFAULT_VOL_WINDOW: Final = 20
DEFAULT_KELLY_MULTIPLIER: Final[Mapping[str, float]] = types.MappingProxyType({"kelly": 1.0, "fractional_kelly": 0.5})

# Which optional request fields each method reads; any other one given is a mistake worth reporting.
_METHOD_FIELDS: Final[Mapping[str, frozenset[str]]] = types.MappingProxyType(
    {
        "fixed": frozenset({"units", "amount"}),
        "fixed_fractional": frozenset({"risk_fraction"}),
        "kelly": frozenset({"win_rate", "payoff_ratio", "trades", "kelly_multiplier"}),
        "fractional_kelly": frozenset({"win_rate", "payoff_ratio", "trades", "kelly_multiplier"}),
        "volatility_target": frozenset(
            {"target_vol", "asset_vol", "bars", "vol_estimator", "vol_window", "periods_per_year"}
        ),
    }
)
_ALL_METHOD_FIELDS: Final = frozenset().union(*_METHOD_FIELDS.values())


# -- validation helpers -------------------------------------------------------------------------


def _positive(name: str, value: object) -> float:
    number = finite_number(name, value)
    if number <= 0:
        raise InvalidParameterError(f"{name} must be > 0, got {value!r}")
    return number


def _in_range(name: str, value: object, low: float, high: float, *, open_low: bool = False) -> float:
    number = finite_number(name, value)
    if number > high or number < low or (open_low and number == low):
        bracket = "(" if open_low else "["
        raise InvalidParameterError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return number


def _side(value: object) -> OrderSide:
    if isinstance(value, OrderSide):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("buy", "long"):
            return OrderSide.BUY
        if text in ("sell", "short"):
            return OrderSide.SELL
    raise InvalidParameterError(f"side must be 'buy' (long) or 'sell' (short), got {value!r}")


def _trade_returns(value: object) -> tuple[float, ...] | None:
    """Per-trade returns (fractions) from a BacktestResult, ``Trade`` objects or plain numbers."""
    if value is None:
        return None
    if isinstance(value, BacktestResult):
        value = value.trades
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidParameterError(
            f"trades must be a BacktestResult, a sequence of Trade or a sequence of per-trade returns, "
            f"got {type(value).__name__}"
        )
    out: list[float] = []
    for i, item in enumerate(value):
        if isinstance(item, Trade):
            out.append(finite_number(f"trades[{i}].return_pct", item.return_pct) / 100)  # Trade's is in percent
        else:
            out.append(finite_number(f"trades[{i}] (a per-trade return)", item))
    return tuple(out)


@attrs.frozen
class SizingLimits:
    """Caps on every size, in percent of capital.

    ``max_position_pct``: position value ≤ this % of capital. ``max_risk_pct``: loss if the stop is hit
    (``units * |price - stop|``) ≤ this % of capital — applied only when a stop is given.
    """

    max_position_pct: float = attrs.field(default=20.0)
    max_risk_pct: float = attrs.field(default=2.0)

    def __attrs_post_init__(self) -> None:
        _in_range("max_position_pct", self.max_position_pct, 0.0, 100.0, open_low=True)
        _in_range("max_risk_pct", self.max_risk_pct, 0.0, 100.0, open_low=True)


@attrs.frozen(kw_only=True)
class SizingRequest:
    """Everything :func:`size_position` needs; validated on construction (see the module docs).

    Method-specific fields left ``None`` take their defaults (``risk_fraction`` 0.01, ``target_vol``
    0.15, ``vol_estimator`` "atr", ``vol_window`` 20, ``kelly_multiplier`` 1 or 0.5, ``periods_per_year``
    from the bars' timeframe); giving a field the method does not use is an error.
    """

    capital: float
    price: float
    method: str = "fixed_fractional"
    side: OrderSide = attrs.field(default=OrderSide.BUY, converter=_side)
    stop: float | None = None
    # fixed
    units: float | None = None
    amount: float | None = None
    # fixed_fractional
    risk_fraction: float | None = None
    # kelly / fractional_kelly
    win_rate: float | None = None
    payoff_ratio: float | None = None
    trades: tuple[float, ...] | None = attrs.field(default=None, converter=_trade_returns)
    kelly_multiplier: float | None = None
    # volatility_target
    target_vol: float | None = None
    asset_vol: float | None = None
    bars: Bars | None = None
    vol_estimator: str | None = None
    vol_window: int | None = None
    periods_per_year: float | None = None
    # adjustments and caps
    confidence: float = 1.0
    regime: str | None = None
    regime_multipliers: Mapping[str, float] | None = None
    limits: SizingLimits = attrs.field(factory=SizingLimits)
    cash: float | None = None
    whole_units: bool = True

    def __attrs_post_init__(self) -> None:
        _positive("capital", self.capital)
        _positive("price", self.price)
        if self.method not in METHODS:
            raise InvalidParameterError(f"unknown sizing method {self.method!r}; use one of {', '.join(METHODS)}")
        used = _METHOD_FIELDS[self.method]
        stray = sorted(f for f in _ALL_METHOD_FIELDS - used if getattr(self, f) is not None)
        if stray:
            raise InvalidParameterError(
                f"method {self.method!r} does not use {', '.join(stray)}; drop "
                f"{'it' if len(stray) == 1 else 'them'} or pick the method that does"
            )
        if self.stop is not None:
            stop = _positive("stop", self.stop)
            if self.side is OrderSide.BUY and not stop < self.price:
                raise InvalidParameterError(
                    f"a buy's stop must be below the price: stop {format_units(stop)} "
                    f"≥ price {format_units(self.price)}; "
                    "use a lower stop or side='sell'"
                )
            if self.side is OrderSide.SELL and not stop > self.price:
                raise InvalidParameterError(
                    f"a sell's (short's) stop must be above the price: stop {format_units(stop)} ≤ price "
                    f"{format_units(self.price)}; use a higher stop or side='buy'"
                )
        if self.cash is not None and finite_number("cash", self.cash) < 0:
            raise InvalidParameterError(f"cash must be >= 0, got {self.cash!r}")
        _in_range("confidence", self.confidence, 0.0, 1.0)
        if self.regime is not None:
            _check_regime(self.regime)
        if self.regime_multipliers is not None:
            for name, value in self.regime_multipliers.items():
                _check_regime(name)
                if finite_number(f"regime_multipliers[{name!r}]", value) < 0:
                    raise InvalidParameterError(f"regime_multipliers[{name!r}] must be >= 0, got {value!r}")
        if not isinstance(self.limits, SizingLimits):
            raise InvalidParameterError(f"limits must be a SizingLimits, got {type(self.limits).__name__}")
        if not isinstance(self.whole_units, bool):
            raise InvalidParameterError(f"whole_units must be True or False, got {self.whole_units!r}")
        getattr(self, f"_check_{self.method}")()

    # -- per-method validation -------------------------------------------------------------------

    def _check_fixed(self) -> None:
        if (self.units is None) == (self.amount is None):
            raise InvalidParameterError(
                "method 'fixed' needs exactly one of units= (a number of units) or amount= (cash to invest)"
            )
        if self.units is not None and finite_number("units", self.units) < 0:
            raise InvalidParameterError(f"units must be >= 0, got {self.units!r}")
        if self.amount is not None and finite_number("amount", self.amount) < 0:
            raise InvalidParameterError(f"amount must be >= 0, got {self.amount!r}")

    def _check_fixed_fractional(self) -> None:
        if self.stop is None:
            raise InvalidParameterError(
                "method 'fixed_fractional' needs stop= (the stop-loss price) to know the risk per unit"
            )
        if self.risk_fraction is not None:
            _in_range("risk_fraction", self.risk_fraction, 0.0, 1.0, open_low=True)

    def _check_kelly(self) -> None:
        given_stats = (self.win_rate is not None, self.payoff_ratio is not None)
        if self.trades is not None:
            if any(given_stats):
                raise InvalidParameterError(
                    f"method {self.method!r}: give either trades= or win_rate= and payoff_ratio=, not both"
                )
            if not self.trades:
                raise InvalidDataError(
                    "trades is empty; Kelly sizing needs closed trades — run a longer backtest or give "
                    "win_rate= and payoff_ratio="
                )
        elif not all(given_stats):
            raise InvalidParameterError(
                f"method {self.method!r} needs win_rate= and payoff_ratio= (or trades= to estimate them)"
            )
        else:
            _in_range("win_rate", self.win_rate, 0.0, 1.0)
            _positive("payoff_ratio", self.payoff_ratio)
        if self.kelly_multiplier is not None:
            _in_range("kelly_multiplier", self.kelly_multiplier, 0.0, 1.0, open_low=True)

    _check_fractional_kelly = _check_kelly

    def _check_volatility_target(self) -> None:
        if self.target_vol is not None:
            _positive("target_vol", self.target_vol)
        if (self.asset_vol is None) == (self.bars is None):
            raise InvalidParameterError(
                "method 'volatility_target' needs exactly one of asset_vol= (annualised, e.g. 0.25) or "
                "bars= (to estimate it)"
            )
        if self.asset_vol is not None:
            _positive("asset_vol", self.asset_vol)
            bar_only = [f for f in ("vol_estimator", "vol_window", "periods_per_year") if getattr(self, f) is not None]
            if bar_only:
                raise InvalidParameterError(
                    f"{', '.join(bar_only)} only apply when estimating the volatility from bars=; "
                    "drop them or give bars= instead of asset_vol="
                )
            return
        if not isinstance(self.bars, Bars):
            raise InvalidParameterError(f"bars must be gt.Bars, got {type(self.bars).__name__}")
        if self.vol_estimator is not None and self.vol_estimator not in ("atr", "stdev"):
            raise InvalidParameterError(f"vol_estimator must be 'atr' or 'stdev', got {self.vol_estimator!r}")
        window = self.vol_window
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 2):
            raise InvalidParameterError(f"vol_window must be an integer >= 2, got {window!r}")
        if self.periods_per_year is not None:
            _positive("periods_per_year", self.periods_per_year)


def _check_regime(name: object) -> None:
    if name not in REGIMES:
        raise InvalidParameterError(f"unknown regime {name!r}; use one of {', '.join(REGIMES)}")
