"""Pre-trade risk limits: allow, shrink or reject an order against the state of the account.

:func:`check_order` splits an order into the part that *reduces* the position (always allowed — a
risk check must never keep you from getting out) and the part that *adds* exposure, which must pass:

1. **hard stops** (reject the adding part): the day's loss from ``day_start_equity`` has reached
   ``max_daily_loss_pct``; the drawdown from ``peak_equity`` has reached ``max_drawdown_pct``; a new
   position would exceed ``max_open_positions``;
2. **size caps** (shrink the adding part to the largest quantity that fits, whole units by default):
   the position after the trade, valued at ``price``, ≤ ``max_position_pct`` % of equity; and for buys,
   cash after the trade ≥ ``min_cash_reserve_pct`` % of equity. Sells that open or add to a short
   raise cash (no margin model), so only the position cap limits them.

The decision is ``allow`` (the full quantity), ``shrink`` (a smaller quantity > 0) or ``reject``
(0 units), with one readable sentence per limit that mattered. Percentages are percent (``20`` is
20 %) of the snapshot's equity.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from gpt_trader_core.domain.amounts import FIT_STEPS, finite_number, format_money, format_units, max_units
from gpt_trader_core.domain.trading import Order, OrderSide
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError

RiskAction = Literal["allow", "shrink", "reject"]


def _pct(name: str, value: object, *, allow_zero: bool = False) -> float:
    number = finite_number(name, value)
    if number > 100 or number < 0 or (number == 0 and not allow_zero):
        bracket = "[" if allow_zero else "("
        raise InvalidParameterError(f"{name} must be a percentage in {bracket}0, 100], got {value!r}")
    return number


@attrs.frozen
class RiskLimits:
    """Account-level limits, in percent of equity (``max_open_positions`` is a count)."""

    max_position_pct: float = 20.0
    max_daily_loss_pct: float = 2.0
    max_drawdown_pct: float = 15.0
    min_cash_reserve_pct: float = 10.0
    max_open_positions: int = 10

    def __attrs_post_init__(self) -> None:
        _pct("max_position_pct", self.max_position_pct)
        _pct("max_daily_loss_pct", self.max_daily_loss_pct)
        _pct("max_drawdown_pct", self.max_drawdown_pct)
        reserve = _pct("min_cash_reserve_pct", self.min_cash_reserve_pct, allow_zero=True)
        if reserve >= 100:
            raise InvalidParameterError(
                f"min_cash_reserve_pct must be below 100 (a 100% reserve forbids every buy), got {reserve!r}"
            )
        n = self.max_open_positions
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidParameterError(f"max_open_positions must be an integer >= 1, got {n!r}")


@attrs.frozen
class Holding:
    """An open position as the risk check sees it: signed ``units`` (negative = short) at ``price``."""

    units: float
    price: float

    @property
    def value(self) -> float:
        """Signed market value ``units * price``."""
        return self.units * self.price


def _holding(symbol: str, value: object) -> Holding:
    units: Any
    price: Any
    if isinstance(value, Holding):
        units, price = value.units, value.price
    elif isinstance(value, Mapping) and set(value) == {"units", "price"}:
        units, price = value["units"], value["price"]
    elif isinstance(value, tuple | list) and len(value) == 2:
        units, price = value
    elif hasattr(value, "units") and hasattr(value, "price"):
        units, price = value.units, value.price
    else:
        raise InvalidDataError(
            f"positions[{symbol!r}] must be a Holding, a (units, price) pair or {{'units': .., 'price': ..}}, "
            f"got {value!r}"
        )
    units = finite_number(f"positions[{symbol!r}] units", units, InvalidDataError)
    price = finite_number(f"positions[{symbol!r}] price", price, InvalidDataError)
    if price <= 0:
        raise InvalidDataError(f"positions[{symbol!r}] price must be > 0, got {price!r}")
    return Holding(units, price)


def _holdings(value: Mapping[str, object]) -> Mapping[str, Holding]:
    if not isinstance(value, Mapping):
        raise InvalidDataError(f"positions must map symbols to (units, price), got {type(value).__name__}")
    return types.MappingProxyType({symbol: _holding(symbol, h) for symbol, h in value.items()})


def _default_equity(snapshot: PortfolioSnapshot) -> float:
    return snapshot.cash + math.fsum(h.value for h in snapshot.positions.values())


@attrs.frozen
class PortfolioSnapshot:
    """The account now: ``cash``, ``positions`` (symbol → Holding or ``(units, price)``) and equity.

    ``equity`` defaults to ``cash + Σ units * price``; ``day_start_equity`` (for the daily loss) to the
    equity; ``peak_equity`` (for the drawdown) to the larger of the two. A peak below the current equity
    is taken as the current equity.
    """

    cash: float
    positions: Mapping[str, Holding] = attrs.field(factory=dict, converter=_holdings)
    equity: float = attrs.field(default=attrs.Factory(_default_equity, takes_self=True))
    day_start_equity: float = attrs.field(default=attrs.Factory(lambda s: s.equity, takes_self=True))
    peak_equity: float = attrs.field(
        default=attrs.Factory(lambda s: max(s.equity, s.day_start_equity), takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        finite_number("cash", self.cash, InvalidDataError)
        for name in ("equity", "day_start_equity", "peak_equity"):
            if finite_number(name, getattr(self, name), InvalidDataError) <= 0:
                raise InvalidDataError(
                    f"{name} must be > 0, got {getattr(self, name)!r}; risk limits are percentages of equity"
                )

    def units(self, symbol: str) -> float:
        holding = self.positions.get(symbol)
        return 0.0 if holding is None else holding.units

    @property
    def open_positions(self) -> int:
        return sum(1 for h in self.positions.values() if h.units != 0)

    @property
    def daily_loss_pct(self) -> float:
        """Loss since the day started, percent of ``day_start_equity`` (negative for a gain)."""
        return (self.day_start_equity - self.equity) / self.day_start_equity * 100.0

    @property
    def drawdown_pct(self) -> float:
        """Drop from the peak, percent of the peak (0 at a new high)."""
        peak = max(self.peak_equity, self.equity)
        return (peak - self.equity) / peak * 100.0


@attrs.frozen
class RiskDecision:
    """``action`` on an order: ``quantity`` units are allowed (== ``requested`` for allow, 0 for reject)."""

    action: RiskAction
    quantity: float
    requested: float
    reasons: tuple[str, ...]
    order: Order

    @property
    def allowed(self) -> bool:
        return self.action != "reject"

    def allowed_order(self) -> Order | None:
        """The order with the allowed quantity, ``None`` when rejected."""
        if self.quantity <= 0:
            return None
        return self.order if self.quantity == self.order.quantity else attrs.evolve(self.order, quantity=self.quantity)


def _fit(extra: float, ok: Any, whole: bool) -> float:
    """``extra`` stepped down (1 unit, or 1 ulp when fractional) until ``ok(extra)``; at least 0."""
    for _ in range(FIT_STEPS):
        if extra <= 0 or ok(extra):
            return max(extra, 0.0)
        extra = extra - 1.0 if whole else math.nextafter(extra, 0.0)
    return 0.0


def check_order(
    limits: RiskLimits, snapshot: PortfolioSnapshot, order: Order, price: float, *, whole_units: bool = True
) -> RiskDecision:
    """Allow, shrink or reject ``order`` at ``price`` given the account ``snapshot`` (see the module docs).

    With ``whole_units`` (default) a shrunk quantity is rounded down to whole units; a fully allowed
    order keeps its quantity as requested.
    """
    if not isinstance(limits, RiskLimits):
        raise InvalidParameterError(f"limits must be RiskLimits, got {type(limits).__name__}")
    if not isinstance(snapshot, PortfolioSnapshot):
        raise InvalidParameterError(f"snapshot must be a PortfolioSnapshot, got {type(snapshot).__name__}")
    if not isinstance(order, Order):
        raise InvalidParameterError(f"order must be an Order, got {type(order).__name__}")
    requested = finite_number("order quantity", order.quantity)
    if requested <= 0:
        raise InvalidParameterError(f"order quantity must be > 0 (the side gives the direction), got {requested!r}")
    price = finite_number("price", price)
    if price <= 0:
        raise InvalidParameterError(f"price must be > 0, got {price!r}")
    side = OrderSide(order.side)
    symbol, sign = order.symbol, (1.0 if side is OrderSide.BUY else -1.0)
    held = snapshot.units(symbol)
    equity = snapshot.equity

    reduce = min(requested, abs(held)) if held != 0 and math.copysign(1.0, held) != sign else 0.0
    extra = requested - reduce
    reasons: list[str] = []
    if reduce > 0:
        after = held + sign * reduce
        reasons.append(
            f"{side.value} {format_units(reduce)} {symbol} reduces the {'long' if held > 0 else 'short'} position of "
            f"{format_units(abs(held))} units to {format_units(abs(after))}: reducing orders are always allowed"
        )
        if side is OrderSide.BUY and reduce * price > snapshot.cash:
            reasons.append(
                f"covering costs {format_money(reduce * price)}, more than the {format_money(snapshot.cash)} cash: the "
                "broker may refuse it"
            )
    if extra <= 0:
        return RiskDecision("allow", requested, requested, tuple(reasons), order)

    # -- hard stops on adding exposure --
    blocked: list[str] = []
    daily = snapshot.daily_loss_pct
    if daily >= limits.max_daily_loss_pct:
        blocked.append(
            f"the daily loss {daily:.2f}% (equity {format_money(equity)} "
            f"vs {format_money(snapshot.day_start_equity)} at the "
            f"start of the day) has reached the {limits.max_daily_loss_pct:g}% limit: only orders that reduce "
            "exposure are allowed"
        )
    drawdown = snapshot.drawdown_pct
    if drawdown >= limits.max_drawdown_pct:
        blocked.append(
            f"the drawdown {drawdown:.2f}% from the peak {format_money(max(snapshot.peak_equity, equity))} (equity "
            f"{format_money(equity)}) has reached the {limits.max_drawdown_pct:g}% limit: only orders that reduce "
            "exposure are allowed"
        )
    if held == 0 and snapshot.open_positions >= limits.max_open_positions:
        blocked.append(
            f"{snapshot.open_positions} positions are open and the limit is {limits.max_open_positions}: "
            f"a new position in {symbol} is not allowed"
        )

    # -- size caps on the adding part --
    base = abs(held) if reduce == 0 else 0.0  # units already on the order's side
    position_cap = limits.max_position_pct / 100.0 * equity
    reserve = limits.min_cash_reserve_pct / 100.0 * equity
    buying = side is OrderSide.BUY

    def new_abs(add: float) -> float:
        return abs(held + sign * (reduce + add))

    def cash_after(add: float) -> float:
        return snapshot.cash - (reduce + add) * price

    def ok_position(add: float) -> bool:
        return new_abs(add) * price <= position_cap

    def ok_cash(add: float) -> bool:
        return not buying or cash_after(add) >= reserve

    def ok(add: float) -> bool:
        return ok_position(add) and ok_cash(add)

    def most(limit: float) -> float:
        """The adding part one limit allows, rounded down to whole units when asked."""
        add = max(0.0, min(extra, limit))
        return float(math.floor(add)) if whole_units else add

    capped: list[str] = []
    if blocked:
        allowed = 0.0
    elif ok(extra):
        allowed = extra
    else:
        by_position = max_units(position_cap, price) - base
        by_cash = (max_units(snapshot.cash - reserve, price) - reduce) if buying else math.inf
        allowed = _fit(most(min(by_position, by_cash)), ok, whole_units)
        if not ok_position(extra):
            now_pct = base * price / equity * 100.0
            already = f" (it is already {now_pct:.2f}%)" if now_pct > limits.max_position_pct else ""
            capped.append(
                f"{symbol} would be {format_units(new_abs(extra))} units × {format_money(price)} = "
                f"{format_money(new_abs(extra) * price)} = {new_abs(extra) * price / equity * 100:.2f}% of equity "
                f"{format_money(equity)}, above the {limits.max_position_pct:g}% position limit{already}: at most "
                f"{format_units(reduce + _fit(most(by_position), ok_position, whole_units))} units"
            )
        if not ok_cash(extra):
            capped.append(
                f"buying {format_units(requested)} {symbol} costs {format_money(requested * price)} and would leave "
                f"{format_money(cash_after(extra))} cash, below the {limits.min_cash_reserve_pct:g}% reserve of "
                f"{format_money(reserve)}: at most "
                f"{format_units(reduce + _fit(most(by_cash), ok_cash, whole_units))} units"
            )

    quantity = reduce + allowed
    if allowed == extra:
        after = new_abs(extra)
        summary = (
            f"within every limit: {symbol} {after * price / equity * 100:.2f}% of equity ≤ {limits.max_position_pct:g}%"
        )
        if buying:
            summary += f", cash after {format_money(cash_after(extra))} ≥ reserve {format_money(reserve)}"
        return RiskDecision("allow", requested, requested, (*reasons, summary), order)
    reasons += blocked + capped
    if quantity > 0:
        reasons.append(f"shrunk from {format_units(requested)} to {format_units(quantity)} units")
        return RiskDecision("shrink", quantity, requested, tuple(reasons), order)
    if not blocked:
        reasons.append(
            f"the largest quantity within the limits is 0 units: rejected ({format_units(requested)} requested)"
        )
    return RiskDecision("reject", 0.0, requested, tuple(reasons), order)
