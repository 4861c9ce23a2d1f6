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
from collections.abc import Iterable, Mapping
from typing import Any, cast

from gpt_trader_core.domain.amounts import format_money, format_units, max_units
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.domain.trading import OrderSide, Trade
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.sizing.decision import SizingDecision, SizingStep
from gpt_trader_core.sizing.request import (
    DEFAULT_KELLY_MULTIPLIER,
    DEFAULT_REGIME_MULTIPLIERS,
    DEFAULT_RISK_FRACTION,
    DEFAULT_TARGET_VOL,
    DEFAULT_VOL_WINDOW,
    SizingLimits,
    SizingMethod,
    SizingRequest,
    VolEstimator,
)


def _whole(units: float, ceiling: float) -> float:
    """``units`` rounded down to an integer — except that a value within 1e-9 (relative) below an integer
    that is still ≤ ``ceiling`` goes to that integer, so floating-point noise (24.999999999999996 for a
    hand-computed 25) does not cost a unit."""
    nearest = float(round(units))
    if nearest > units and nearest - units <= 1e-9 * max(1.0, units) and nearest <= ceiling:
        return nearest
    return float(math.floor(units))


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
        how = f"ATR({window}) / close {format_units(last_close)} = {per_bar:.4%}"
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
    steps.append(SizingStep("asset_vol", vol, f"asset volatility {how} × √{format_units(per_year)} = {vol:.2%} a year"))
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
            steps.append(SizingStep("base_units", units, f"fixed size: {format_units(units)} units"))
            return units
        amount = float(cast(float, request.amount))
        units = amount / price
        steps.append(
            SizingStep(
                "base_units",
                units,
                f"fixed amount {format_money(amount)} / price {format_units(price)} = {format_units(units)} units",
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
                f"risk {fraction:.4g} of capital = {format_money(budget)} over stop distance {format_units(distance)} "
                f"= {format_units(units)} units",
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
                f"{kelly:.4g} × capital {format_money(capital)} = {format_money(notional)} "
                f"= {format_units(units)} units",
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
            f"target volatility {target:.2%}: capital {format_money(capital)} × {target:.4g} / "
            f"(price {format_units(price)} × {asset_vol:.4g}) = {format_units(units)} units",
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
                       f"confidence {request.confidence:.4g}: {format_units(before)} → {format_units(units)} units")
        )  # fmt: skip
        if units <= 0 and zero_note is None:
            zero_note = steps[-1].note
    if request.regime is not None:
        multipliers = dict(DEFAULT_REGIME_MULTIPLIERS)
        multipliers.update(request.regime_multipliers or {})
        factor = float(multipliers[request.regime])
        before, units = units, units * factor
        steps.append(
            SizingStep(
                "regime",
                factor,
                f"regime {request.regime} ×{factor:g}: {format_units(before)} → {format_units(units)} units",
            )
        )
        if units <= 0 and zero_note is None:
            zero_note = steps[-1].note

    limits = request.limits
    caps: list[tuple[str, float, str]] = []
    position_budget = capital * limits.max_position_pct / 100.0
    caps.append(("max_position", max_units(position_budget, price), f"max position {limits.max_position_pct:g}%"))
    if request.stop is not None:
        distance = abs(price - float(request.stop))
        risk_budget = capital * limits.max_risk_pct / 100.0
        caps.append(
            ("max_risk", max_units(risk_budget, distance),
             f"max risk {limits.max_risk_pct:g}% ({format_money(risk_budget)} at the stop)")
        )  # fmt: skip
    cash = capital if request.cash is None else float(request.cash)
    caps.append(("cash", max_units(cash, price), f"available cash {format_money(cash)}"))
    binding: list[str] = []
    for name, cap_units, label in caps:
        if units > cap_units:
            steps.append(
                SizingStep(
                    f"cap_{name}",
                    cap_units,
                    f"capped by {label}: {format_money(units * price)} → {format_money(cap_units * price)}",
                )
            )
            units = cap_units
            binding.append(label)
            if units <= 0 and zero_note is None:
                zero_note = steps[-1].note

    if request.whole_units:
        whole = _whole(units, min(cap_units for _, cap_units, _ in caps))
        if abs(whole - units) > 1e-9 * max(1.0, units):  # not just floating-point noise
            steps.append(SizingStep("whole_units", whole, f"whole units: {format_units(units)} → {whole:,.0f}"))
            if whole <= 0 and zero_note is None:
                zero_note = f"{steps[-1].note} (one unit costs {format_money(price)})"
        units = whole

    notional = units * price
    risk = None if request.stop is None else units * abs(price - float(request.stop))
    fraction = notional / capital
    if units > 0:
        reason = f"{request.method}: {format_units(units)} units ({format_money(notional)}, {fraction:.2%} of capital)"
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
