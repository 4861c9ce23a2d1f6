"""Position sizing: how many units to trade, and a step-by-step account of why.

Every size goes through the same pipeline, and each stage that does something adds a
:class:`SizingStep` to the decision:

1. **base size** from the method:

   * ``fixed`` — ``units=`` units, or ``amount=`` of cash (``units = amount / price``);
   * ``fixed_fractional`` — risk ``risk_fraction`` of capital between the price and the ``stop``:
     ``units = capital * risk_fraction / |price - stop|``;
   * ``kelly`` / ``fractional_kelly`` — Kelly fraction ``f* = W - (1 - W) / R`` from the win rate ``W``
     and the payoff ratio ``R`` (average win / average loss), given directly or estimated from closed
     trades (a ``BacktestResult``, ``Trade`` objects or per-trade returns). ``f*`` is used as the
     fraction of capital put into the position (the usual trading simplification), times
     ``kelly_multiplier`` (1 for ``kelly``, 0.5 — "half Kelly" — for ``fractional_kelly``). A Kelly
     fraction ≤ 0 means no edge: the size is 0 and the decision says so;
   * ``volatility_target`` — size the position so that its annualised volatility is ``target_vol`` of
     capital: ``units = capital * target_vol / (price * asset_vol)``; ``asset_vol`` (annualised) is
     given or estimated from ``bars``: ``"atr"``: ``ATR(vol_window) / close * sqrt(periods_per_year)``,
     ``"stdev"``: sample standard deviation of the last ``vol_window`` simple returns
     ``* sqrt(periods_per_year)``;

2. **confidence** ``c`` in [0, 1] scales the size linearly (``c = 0.5`` halves it, ``0`` gives 0);
3. **regime** multiplier from ``regime_multipliers`` (defaults: :data:`DEFAULT_REGIME_MULTIPLIERS`;
   ``crisis`` is 0);
4. **caps**, each applied only when it binds: position value ≤ ``limits.max_position_pct`` % of capital;
   loss at the stop ≤ ``limits.max_risk_pct`` % of capital (only when a ``stop`` is given, whatever
   the method); position value ≤ available ``cash`` (default: the capital). The caps are exact in
   floating point: ``units * price`` never exceeds a cap, not even by one ulp;
5. **whole units**: rounded *down* to an integer unless ``whole_units=False``.

Units are always ≥ 0; ``side`` only says which side of the price the stop must be on (below for a
buy, above for a sell/short). Caps apply to shorts exactly as to longs. Commissions are not modelled.

Units of the parameters: fractions for the method inputs (``risk_fraction=0.01`` is 1 %,
``target_vol=0.15`` is 15 %, ``win_rate=0.55``), percent for the limits (``max_position_pct=20``).
"""

from __future__ import annotations

import math
import types
from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any, Final, Literal, cast

import attrs

from gpt_trader_core.domain.bars import Bars
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

#: The market regimes (the same names as ``gpt_trader_core.market_sim.regimes.REGIMES``).
REGIMES: Final[tuple[str, ...]] = (
    "bull_quiet",
    "bull_volatile",
    "bear_quiet",
    "bear_volatile",
    "sideways_quiet",
    "sideways_volatile",
    "crisis",
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


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value: object) -> float:
    number = _number(name, value)
    if number <= 0:
        raise InvalidParameterError(f"{name} must be > 0, got {value!r}")
    return number


def _in_range(name: str, value: object, low: float, high: float, *, open_low: bool = False) -> float:
    number = _number(name, value)
    if number > high or number < low or (open_low and number == low):
        bracket = "(" if open_low else "["
        raise InvalidParameterError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")
    return number


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _num(value: float) -> str:
    return f"{value:,.6g}"


def _max_units(budget: float, per_unit: float) -> float:
    """The largest float ``x >= 0`` with ``x * per_unit <= budget`` (exact in floating point)."""
    if budget <= 0:
        return 0.0
    units = budget / per_unit
    while units > 0 and units * per_unit > budget:
        units = math.nextafter(units, 0.0)
    return units


def _whole(units: float, ceiling: float) -> float:
    """``units`` rounded down to an integer — except that a value within 1e-9 (relative) below an integer
    that is still ≤ ``ceiling`` goes to that integer, so floating-point noise (24.999999999999996 for a
    hand-computed 25) does not cost a unit."""
    nearest = float(round(units))
    if nearest > units and nearest - units <= 1e-9 * max(1.0, units) and nearest <= ceiling:
        return nearest
    return float(math.floor(units))


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
            out.append(_number(f"trades[{i}].return_pct", item.return_pct) / 100)  # Trade's is in percent
        else:
            out.append(_number(f"trades[{i}] (a per-trade return)", item))
    return tuple(out)


# -- values ---------------------------------------------------------------------------------------


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
                    f"a buy's stop must be below the price: stop {_num(stop)} ≥ price {_num(self.price)}; "
                    "use a lower stop or side='sell'"
                )
            if self.side is OrderSide.SELL and not stop > self.price:
                raise InvalidParameterError(
                    f"a sell's (short's) stop must be above the price: stop {_num(stop)} ≤ price "
                    f"{_num(self.price)}; use a higher stop or side='buy'"
                )
        if self.cash is not None and _number("cash", self.cash) < 0:
            raise InvalidParameterError(f"cash must be >= 0, got {self.cash!r}")
        _in_range("confidence", self.confidence, 0.0, 1.0)
        if self.regime is not None:
            _check_regime(self.regime)
        if self.regime_multipliers is not None:
            for name, value in self.regime_multipliers.items():
                _check_regime(name)
                if _number(f"regime_multipliers[{name!r}]", value) < 0:
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
        if self.units is not None and _number("units", self.units) < 0:
            raise InvalidParameterError(f"units must be >= 0, got {self.units!r}")
        if self.amount is not None and _number("amount", self.amount) < 0:
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


# -- the pipeline ---------------------------------------------------------------------------------


def _periods_per_year(bars: Bars) -> float:
    """Bars per year: 252 trading days (365 when the data has weekend bars), 52 weeks, 12 months."""
    if bars.timeframe == "1w":
        return 52.0
    if bars.timeframe == "1mo":
        return 12.0
    days = bars.timestamps.astype("datetime64[D]")
    weekday = (days.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    trading_days = 365.0 if bool((weekday >= 5).any()) else 252.0
    if bars.timeframe == "1d":
        return trading_days
    bars_per_day = len(bars) / len(set(days.tolist()))
    return trading_days * bars_per_day


def _estimate_asset_vol(request: SizingRequest, steps: list[SizingStep]) -> float:
    from gpt_trader_core.indicators import atr, returns, rolling_std

    bars = cast(Bars, request.bars)
    estimator = request.vol_estimator or "atr"
    window = request.vol_window or DEFAULT_VOL_WINDOW
    per_year = request.periods_per_year or _periods_per_year(bars)
    if len(bars) < window + 1:
        raise InvalidDataError(
            f"{bars.symbol}: {len(bars)} bars are too few to estimate volatility over vol_window={window}; "
            f"give at least {window + 1} bars or a smaller vol_window"
        )
    last_close = float(bars.close[-1])
    if estimator == "atr":
        per_bar = float(atr(bars.high, bars.low, bars.close, window)[-1]) / last_close
        how = f"ATR({window}) / close {_num(last_close)} = {per_bar:.4%}"
    else:
        tail = bars.close[-(window + 1) :]
        per_bar = float(rolling_std(returns(tail)[1:], window, ddof=1)[-1])
        how = f"stdev of the last {window} returns = {per_bar:.4%}"
    vol = per_bar * math.sqrt(per_year)
    if not vol > 0:
        raise InvalidDataError(
            f"{bars.symbol}: the estimated volatility is 0 (flat prices over the last {window} bars); "
            "give asset_vol= or more varied bars"
        )
    steps.append(SizingStep("asset_vol", vol, f"asset volatility {how} × √{_num(per_year)} = {vol:.2%} a year"))
    return vol


def _kelly_inputs(request: SizingRequest, steps: list[SizingStep]) -> tuple[float, float] | None:
    """(W, R); ``None`` when the trades have no win or no loss to estimate ``R`` from (noted)."""
    if request.trades is None:
        return cast(float, request.win_rate), cast(float, request.payoff_ratio)
    returns = request.trades
    wins = [r for r in returns if r > 0]
    losses = [-r for r in returns if r < 0]
    n = len(returns)
    win_rate = len(wins) / n
    if not wins:
        steps.append(SizingStep("kelly_fraction", 0.0, f"no winning trade among {n}: no edge, Kelly fraction 0"))
        return None
    if not losses:
        steps.append(
            SizingStep("win_rate", win_rate, f"{n} trades, {len(wins)} wins, no loss: W = {win_rate:.4g}, R = ∞")
        )
        return win_rate, math.inf
    avg_win, avg_loss = sum(wins) / len(wins), sum(losses) / len(losses)
    payoff = avg_win / avg_loss
    steps.append(
        SizingStep(
            "win_rate",
            win_rate,
            f"{n} trades: {len(wins)} wins → W = {win_rate:.4g}; average win {avg_win:.4%} / average loss "
            f"{avg_loss:.4%} → R = {payoff:.4g}",
        )
    )
    return win_rate, payoff


def _base_units(request: SizingRequest, steps: list[SizingStep]) -> float:
    """Units before confidence, regime and caps (≥ 0)."""
    capital, price, method = request.capital, request.price, request.method
    if method == "fixed":
        if request.units is not None:
            units = float(request.units)
            steps.append(SizingStep("base_units", units, f"fixed size: {_num(units)} units"))
            return units
        amount = float(cast(float, request.amount))
        units = amount / price
        steps.append(
            SizingStep(
                "base_units",
                units,
                f"fixed amount {_money(amount)} / price {_num(price)} = {_num(units)} units",
            )
        )
        return units
    if method == "fixed_fractional":
        fraction = request.risk_fraction if request.risk_fraction is not None else DEFAULT_RISK_FRACTION
        distance = abs(price - cast(float, request.stop))
        budget = capital * fraction
        units = budget / distance
        steps.append(
            SizingStep(
                "base_units",
                units,
                f"risk {fraction:.4g} of capital = {_money(budget)} over stop distance {_num(distance)} "
                f"= {_num(units)} units",
            )
        )
        return units
    if method in ("kelly", "fractional_kelly"):
        inputs = _kelly_inputs(request, steps)
        if inputs is None:
            return 0.0
        win_rate, payoff = inputs
        kelly = win_rate - (1.0 - win_rate) / payoff
        steps.append(
            SizingStep(
                "kelly_fraction",
                kelly,
                f"Kelly fraction W − (1 − W)/R = {win_rate:.4g} − {1 - win_rate:.4g}/{payoff:.4g} = {kelly:.4g}",
            )
        )
        if kelly <= 0:
            steps.append(SizingStep("base_units", 0.0, f"Kelly fraction {kelly:.4g} ≤ 0: no edge, size 0"))
            return 0.0
        multiplier = (
            request.kelly_multiplier if request.kelly_multiplier is not None else DEFAULT_KELLY_MULTIPLIER[method]
        )
        if multiplier != 1.0:
            label = "half Kelly" if multiplier == 0.5 else f"Kelly × {multiplier:.4g}"
            kelly *= multiplier
            steps.append(SizingStep("kelly_multiplier", kelly, f"{label}: {kelly:.4g}"))
        notional = capital * kelly
        units = notional / price
        steps.append(
            SizingStep(
                "base_units",
                units,
                f"{kelly:.4g} × capital {_money(capital)} = {_money(notional)} = {_num(units)} units",
            )
        )
        return units
    # volatility_target
    target = request.target_vol if request.target_vol is not None else DEFAULT_TARGET_VOL
    if request.asset_vol is not None:
        asset_vol = float(request.asset_vol)
        steps.append(SizingStep("asset_vol", asset_vol, f"asset volatility {asset_vol:.2%} a year (given)"))
    else:
        asset_vol = _estimate_asset_vol(request, steps)
    units = capital * target / (price * asset_vol)
    steps.append(
        SizingStep(
            "base_units",
            units,
            f"target volatility {target:.2%}: capital {_money(capital)} × {target:.4g} / "
            f"(price {_num(price)} × {asset_vol:.4g}) = {_num(units)} units",
        )
    )
    return units


def size_from_request(request: SizingRequest) -> SizingDecision:
    """Size a position from a validated :class:`SizingRequest` (see the module docs for the pipeline)."""
    steps: list[SizingStep] = []
    capital, price = float(request.capital), float(request.price)
    units = _base_units(request, steps)
    zero_note = steps[-1].note if units <= 0 else None

    if request.confidence != 1.0:
        before, units = units, units * request.confidence
        steps.append(
            SizingStep("confidence", request.confidence,
                       f"confidence {request.confidence:.4g}: {_num(before)} → {_num(units)} units")
        )  # fmt: skip
        if units <= 0 and zero_note is None:
            zero_note = steps[-1].note
    if request.regime is not None:
        multipliers = dict(DEFAULT_REGIME_MULTIPLIERS)
        multipliers.update(request.regime_multipliers or {})
        factor = float(multipliers[request.regime])
        before, units = units, units * factor
        steps.append(
            SizingStep("regime", factor, f"regime {request.regime} ×{factor:g}: {_num(before)} → {_num(units)} units")
        )
        if units <= 0 and zero_note is None:
            zero_note = steps[-1].note

    limits = request.limits
    caps: list[tuple[str, float, str]] = []
    position_budget = capital * limits.max_position_pct / 100.0
    caps.append(("max_position", _max_units(position_budget, price), f"max position {limits.max_position_pct:g}%"))
    if request.stop is not None:
        distance = abs(price - float(request.stop))
        risk_budget = capital * limits.max_risk_pct / 100.0
        caps.append(
            ("max_risk", _max_units(risk_budget, distance),
             f"max risk {limits.max_risk_pct:g}% ({_money(risk_budget)} at the stop)")
        )  # fmt: skip
    cash = capital if request.cash is None else float(request.cash)
    caps.append(("cash", _max_units(cash, price), f"available cash {_money(cash)}"))
    binding: list[str] = []
    for name, max_units, label in caps:
        if units > max_units:
            steps.append(
                SizingStep(
                    f"cap_{name}",
                    max_units,
                    f"capped by {label}: {_money(units * price)} → {_money(max_units * price)}",
                )
            )
            units = max_units
            binding.append(label)
            if units <= 0 and zero_note is None:
                zero_note = steps[-1].note

    if request.whole_units:
        whole = _whole(units, min(max_units for _, max_units, _ in caps))
        if abs(whole - units) > 1e-9 * max(1.0, units):  # not just floating-point noise
            steps.append(SizingStep("whole_units", whole, f"whole units: {_num(units)} → {whole:,.0f}"))
            if whole <= 0 and zero_note is None:
                zero_note = f"{steps[-1].note} (one unit costs {_money(price)})"
        units = whole

    notional = units * price
    risk = None if request.stop is None else units * abs(price - float(request.stop))
    fraction = notional / capital
    if units > 0:
        reason = f"{request.method}: {_num(units)} units ({_money(notional)}, {fraction:.2%} of capital)"
        if binding:
            reason += f", capped by {binding[-1]}"
    else:
        reason = f"{request.method}: size 0 — {zero_note or 'nothing to trade'}"
    return SizingDecision(
        units=units,
        notional=notional,
        fraction_of_capital=fraction,
        method=request.method,
        side=request.side,
        price=price,
        capital=capital,
        risk=risk,
        steps=tuple(steps),
        reason=reason,
    )


def size_position(
    *,
    capital: float,
    price: float,
    method: SizingMethod | str = "fixed_fractional",
    side: OrderSide | str = OrderSide.BUY,
    stop: float | None = None,
    units: float | None = None,
    amount: float | None = None,
    risk_fraction: float | None = None,
    win_rate: float | None = None,
    payoff_ratio: float | None = None,
    trades: BacktestResult | Iterable[Trade] | Iterable[float] | None = None,
    kelly_multiplier: float | None = None,
    target_vol: float | None = None,
    asset_vol: float | None = None,
    bars: Bars | None = None,
    vol_estimator: VolEstimator | str | None = None,
    vol_window: int | None = None,
    periods_per_year: float | None = None,
    confidence: float = 1.0,
    regime: str | None = None,
    regime_multipliers: Mapping[str, float] | None = None,
    limits: SizingLimits | None = None,
    max_position_pct: float | None = None,
    max_risk_pct: float | None = None,
    cash: float | None = None,
    whole_units: bool = True,
) -> SizingDecision:
    """How many units to buy (or sell short) at ``price``, and why.

    >>> d = size_position(capital=10_000, price=50, stop=48, risk_fraction=0.01)
    >>> d.units, d.notional
    (50.0, 2500.0)

    Methods: ``fixed`` (``units=`` or ``amount=``), ``fixed_fractional`` (``stop=``, ``risk_fraction=``
    default 0.01), ``kelly`` / ``fractional_kelly`` (``win_rate=`` and ``payoff_ratio=``, or ``trades=``
    a ``BacktestResult`` / ``Trade`` list / per-trade returns; ``kelly_multiplier=`` default 1 / 0.5),
    ``volatility_target`` (``target_vol=`` default 0.15, and ``asset_vol=`` or ``bars=`` with
    ``vol_estimator=`` "atr"/"stdev", ``vol_window=`` 20, ``periods_per_year=``). Then ``confidence``
    (0..1, linear), ``regime`` (one of :data:`REGIMES`), caps from ``limits`` (or the shortcuts
    ``max_position_pct=`` / ``max_risk_pct=``) and ``cash``, and whole units unless ``whole_units=False``.
    Raises ``InvalidParameterError`` (``InvalidDataError`` for unusable bars or trades).
    """
    if limits is None:
        limits = SizingLimits(
            max_position_pct=20.0 if max_position_pct is None else max_position_pct,
            max_risk_pct=2.0 if max_risk_pct is None else max_risk_pct,
        )
    elif max_position_pct is not None or max_risk_pct is not None:
        raise InvalidParameterError("give either limits= or max_position_pct=/max_risk_pct=, not both")
    fields: dict[str, Any] = {
        "capital": capital, "price": price, "method": method, "side": side, "stop": stop, "units": units,
        "amount": amount, "risk_fraction": risk_fraction, "win_rate": win_rate, "payoff_ratio": payoff_ratio,
        "trades": trades, "kelly_multiplier": kelly_multiplier, "target_vol": target_vol,
        "asset_vol": asset_vol, "bars": bars, "vol_estimator": vol_estimator, "vol_window": vol_window,
        "periods_per_year": periods_per_year, "confidence": confidence, "regime": regime,
        "regime_multipliers": regime_multipliers, "limits": limits, "cash": cash, "whole_units": whole_units,
    }  # fmt: skip
    return size_from_request(SizingRequest(**fields))
