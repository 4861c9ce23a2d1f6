"""An adaptive portfolio: what an account of a given size may do, and how to rebalance it.

**Capital tiers.** Accounts are classified by capital into tiers (defaults: ``micro`` below 2,500,
``small`` below 10,000, ``medium`` below 25,000, ``large`` from 25,000). A :class:`TierSpec` sets how
many positions the account may hold, which strategies it may run, its daily and quarterly risk
budgets (percent of capital) and how many trades a week it may make. Small accounts get fewer
positions, simpler strategies and fewer trades (commissions and the US pattern-day-trader rule weigh
on them); large accounts get all five built-in strategies.

**Hysteresis.** Capital that hovers around a boundary would flip the tier back and forth. With a
current tier and hysteresis ``h`` (default 5 %), moving *up* across a boundary ``b`` needs capital
``>= b * (1 + h)`` and moving *down* across it needs capital ``< b * (1 - h)``; in between the account
keeps its current tier. Without a current tier the plain boundaries apply.

**Rebalancing.** :func:`rebalance_plan` turns target weights (fractions of capital) into market
orders: it keeps at most the tier's ``max_positions`` largest weights (reporting the dropped ones),
scales the weights down if they add up to more than 1, rounds targets to whole units (towards zero),
skips trades worth less than ``min_trade_value``, sells before it buys and never spends more cash
than it has. Held symbols without a target weight are sold. Capital is the account's equity:
``cash = capital - sum(units * price)`` of the positions given. Short targets (negative weights)
need ``allow_short=True``; short-sale proceeds count as cash (no margin model).
"""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from gpt_trader_core.domain.amounts import format_money, format_units, max_units, real_number
from gpt_trader_core.domain.trading import Order, OrderSide, Position
from gpt_trader_core.errors import InvalidParameterError

#: The built-in strategies, simplest first.
STRATEGIES: Final[tuple[str, ...]] = ("sma_cross", "momentum", "mean_reversion", "breakout", "volatility")

#: Default boundaries between micro/small, small/medium and medium/large.
DEFAULT_BOUNDARIES: Final[tuple[float, float, float]] = (2_500.0, 10_000.0, 25_000.0)
DEFAULT_HYSTERESIS: Final = 0.05
DEFAULT_MIN_TRADE_VALUE: Final = 10.0


def _finite(name: str, value: object) -> float:
    number = real_number(name, value)
    if not math.isfinite(number):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    return number


def _count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


# -- tiers ----------------------------------------------------------------------------------------


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen
class TierSpec:
    """One capital tier: capital in ``[min_capital, max_capital)`` and what such an account may do."""

    name: str
    min_capital: float
    max_capital: float
    max_positions: int
    allowed_strategies: tuple[str, ...] = attrs.field(converter=_names)
    daily_risk_budget_pct: float
    quarterly_risk_budget_pct: float
    max_trades_per_week: int

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameterError(f"a tier needs a non-empty name, got {self.name!r}")
        low = real_number(f"tier {self.name}: min_capital", self.min_capital)
        high = real_number(f"tier {self.name}: max_capital", self.max_capital)
        if not (math.isfinite(low) and low >= 0 and high > low):
            raise InvalidParameterError(
                f"tier {self.name}: needs 0 <= min_capital < max_capital, got [{low:g}, {high:g})"
            )
        _count(f"tier {self.name}: max_positions", self.max_positions, 1)
        _count(f"tier {self.name}: max_trades_per_week", self.max_trades_per_week, 1)
        if not self.allowed_strategies or not all(isinstance(s, str) and s for s in self.allowed_strategies):
            raise InvalidParameterError(
                f"tier {self.name}: allowed_strategies must be a non-empty tuple of strategy names"
            )
        for field in ("daily_risk_budget_pct", "quarterly_risk_budget_pct"):
            value = _finite(f"tier {self.name}: {field}", getattr(self, field))
            if not 0 < value <= 100:
                raise InvalidParameterError(f"tier {self.name}: {field} must be in (0, 100], got {value!r}")

    def contains(self, capital: float) -> bool:
        return self.min_capital <= capital < self.max_capital

    def allows(self, strategy: str) -> bool:
        return strategy in self.allowed_strategies

    @property
    def range_label(self) -> str:
        return f"[{format_money(self.min_capital)}, {format_money(self.max_capital)})"


def default_tiers(boundaries: tuple[float, float, float] = DEFAULT_BOUNDARIES) -> tuple[TierSpec, ...]:
    """micro / small / medium / large split at ``boundaries`` (three increasing positive numbers)."""
    if len(boundaries) != 3:
        raise InvalidParameterError(
            f"boundaries must be three numbers (micro/small, small/medium, medium/large), got {boundaries!r}"
        )
    b1, b2, b3 = (_finite("boundary", b) for b in boundaries)
    if not 0 < b1 < b2 < b3:
        raise InvalidParameterError(f"boundaries must be positive and increasing, got {boundaries!r}")
    return (
        TierSpec("micro", 0.0, b1, 3, STRATEGIES[:2], 1.0, 5.0, 3),
        TierSpec("small", b1, b2, 5, STRATEGIES[:3], 1.5, 8.0, 5),
        TierSpec("medium", b2, b3, 8, STRATEGIES[:4], 2.0, 10.0, 10),
        TierSpec("large", b3, math.inf, 12, STRATEGIES, 2.0, 12.0, 25),
    )


def _tiers(value: object) -> tuple[TierSpec, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidParameterError(f"tiers must be a sequence of TierSpec, got {type(value).__name__}")
    return tuple(value)


@attrs.frozen
class TierConfig:
    """Tiers ordered by capital, contiguous from 0 to infinity, and the hysteresis (a fraction, [0, 1))."""

    tiers: tuple[TierSpec, ...] = attrs.field(factory=default_tiers, converter=_tiers)
    hysteresis: float = DEFAULT_HYSTERESIS

    def __attrs_post_init__(self) -> None:
        if not self.tiers or not all(isinstance(t, TierSpec) for t in self.tiers):
            raise InvalidParameterError("tiers must be a non-empty sequence of TierSpec")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"tier names must be unique, got {', '.join(names)}")
        if self.tiers[0].min_capital != 0:
            raise InvalidParameterError(
                f"the first tier ({self.tiers[0].name}) must start at capital 0, not {self.tiers[0].min_capital:g}"
            )
        for low, high in itertools.pairwise(self.tiers):
            if low.max_capital != high.min_capital:
                raise InvalidParameterError(
                    f"tiers must be contiguous and in order: {low.name} ends at {low.max_capital:g} but "
                    f"{high.name} starts at {high.min_capital:g}"
                )
        if not math.isinf(self.tiers[-1].max_capital):
            raise InvalidParameterError(
                f"the last tier ({self.tiers[-1].name}) must have max_capital=math.inf, "
                f"not {self.tiers[-1].max_capital:g}"
            )
        h = _finite("hysteresis", self.hysteresis)
        if not 0 <= h < 1:
            raise InvalidParameterError(f"hysteresis must be in [0, 1) (0.05 = 5 %), got {self.hysteresis!r}")

    @classmethod
    def default(
        cls, boundaries: tuple[float, float, float] = DEFAULT_BOUNDARIES, hysteresis: float = DEFAULT_HYSTERESIS
    ) -> TierConfig:
        """The four default tiers with other ``boundaries`` and/or ``hysteresis``."""
        return cls(default_tiers(boundaries), hysteresis)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def tier(self, name: str) -> TierSpec:
        """The tier called ``name``."""
        return self.tiers[self.index(name)]

    def index(self, tier: str | TierSpec) -> int:
        """Position of ``tier`` (a name or a TierSpec of this config) in :attr:`tiers`."""
        name = tier.name if isinstance(tier, TierSpec) else tier
        names = self.names
        if name not in names:
            raise InvalidParameterError(f"unknown tier {name!r}; use one of {', '.join(names)}")
        return names.index(name)


DEFAULT_TIER_CONFIG: Final = TierConfig()


@attrs.frozen
class TierDecision:
    """The tier for some capital: ``tier``, the ``previous`` one (if given), whether it ``changed``, and why."""

    tier: TierSpec
    previous: TierSpec | None
    changed: bool
    reason: str


def _capital(value: object) -> float:
    capital = _finite("capital", value)
    if capital < 0:
        raise InvalidParameterError(f"capital must be >= 0, got {value!r}")
    return capital


def classify_tier(
    capital: float, config: TierConfig | None = None, current_tier: str | TierSpec | None = None
) -> TierDecision:
    """The tier of an account with ``capital`` (see the module docs for the hysteresis rule).

    ``config`` defaults to :data:`DEFAULT_TIER_CONFIG`; ``current_tier`` is the account's tier now (a
    name or a TierSpec), ``None`` for a first classification.
    """
    config = DEFAULT_TIER_CONFIG if config is None else config
    if not isinstance(config, TierConfig):
        raise InvalidParameterError(f"config must be a TierConfig, got {type(config).__name__}")
    capital = _capital(capital)
    tiers, h = config.tiers, config.hysteresis
    plain = sum(1 for t in tiers[1:] if capital >= t.min_capital)
    if current_tier is None:
        tier = tiers[plain]
        return TierDecision(
            tier, None, False, f"capital {format_money(capital)} is in tier {tier.name} {tier.range_label}"
        )
    current = config.index(current_tier)
    # Boundary k (the lower bound of tier k) moves up by h above the current tier, down by h at or below it.
    effective = [t.min_capital * (1 + h if k > current else 1 - h) for k, t in enumerate(tiers) if k > 0]
    new = sum(1 for bound in effective if capital >= bound)
    tier, previous = tiers[new], tiers[current]
    pct = f"{h * 100:g}%"
    if new > current:
        reason = (
            f"capital {format_money(capital)} ≥ {format_money(effective[new - 1])} (the {tier.name} boundary "
            f"{format_money(tier.min_capital)} + {pct} hysteresis): {previous.name} → {tier.name}"
        )
    elif new < current:
        crossed = tiers[new + 1]
        reason = (
            f"capital {format_money(capital)} < {format_money(effective[new])} (the {crossed.name} boundary "
            f"{format_money(crossed.min_capital)} − {pct} hysteresis): {previous.name} → {tier.name}"
        )
    elif plain > current:
        above = tiers[current + 1]
        reason = (
            f"capital {format_money(capital)} is above the {above.name} boundary {format_money(above.min_capital)} but "
            f"below {format_money(effective[current])} (+{pct} hysteresis): staying {tier.name}"
        )
    elif plain < current:
        reason = (
            f"capital {format_money(capital)} is below the {tier.name} boundary "
            f"{format_money(tier.min_capital)} but not "
            f"below {format_money(effective[current - 1])} (−{pct} hysteresis): staying {tier.name}"
        )
    else:
        reason = f"capital {format_money(capital)} is within tier {tier.name} {tier.range_label}: no change"
    if new != plain and new != current:
        reason += f" (plain boundaries would give {tiers[plain].name}; hysteresis holds it back)"
    return TierDecision(tier, previous, new != current, reason)


# -- rebalancing ----------------------------------------------------------------------------------


@attrs.frozen
class RebalancePlan:
    """Orders that move the positions to the targets, sells first, and what was left out and why.

    ``target_units``: the units wanted per symbol after the tier's limit, normalisation and rounding
    (0 for symbols to close). ``resulting_units``: what the positions become if every order fills —
    equal to the targets except where a trade was skipped (``skipped``) or shrunk for cash.
    ``dropped``: symbols whose weight was set to 0 because the tier allows fewer positions.
    ``skipped``: symbols whose trade was left out (worth less than ``min_trade_value``, or no cash
    left) or shrunk (not enough cash), with the reason — exactly where ``resulting_units`` and
    ``target_units`` differ.
    ``cash_before`` / ``cash_after``: cash before the plan and after every order fills at ``prices``.
    """

    tier: str
    orders: tuple[Order, ...]
    target_units: Mapping[str, float]
    resulting_units: Mapping[str, float]
    dropped: Mapping[str, str]
    skipped: Mapping[str, str]
    notes: tuple[str, ...]
    cash_before: float
    cash_after: float

    def explain(self) -> str:
        """The plan as text: one line per order, then what was dropped or skipped and the notes."""
        lines = [f"rebalance ({self.tier}): {len(self.orders)} orders, cash {format_money(self.cash_before)} → "
                 f"{format_money(self.cash_after)}"]  # fmt: skip
        lines += [f"  {o.side.value} {format_units(o.quantity)} {o.symbol}" for o in self.orders]
        lines += [f"  dropped {symbol}: {why}" for symbol, why in self.dropped.items()]
        lines += [f"  skipped {symbol}: {why}" for symbol, why in self.skipped.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def _held_units(symbol: str, value: object) -> float:
    if isinstance(value, Position):
        value = value.size
    return _finite(f"positions[{symbol!r}]", value)


def rebalance_plan(
    capital: float,
    positions: Mapping[str, float | Position],
    prices: Mapping[str, float],
    target_weights: Mapping[str, float],
    tier: TierSpec | TierDecision,
    *,
    min_trade_value: float = DEFAULT_MIN_TRADE_VALUE,
    whole_units: bool = True,
    allow_short: bool = False,
) -> RebalancePlan:
    """Market orders that move ``positions`` (symbol → units, or ``Position``) to ``target_weights``
    (symbol → fraction of ``capital``) at ``prices``, within ``tier`` (see the module docs).

    Raises ``InvalidParameterError`` for negative capital, a missing or non-positive price, weights
    that sum to ≤ 0, a negative weight without ``allow_short=True``, or positions worth more than
    ``capital``.
    """
    capital = _capital(capital)
    spec = tier.tier if isinstance(tier, TierDecision) else tier
    if not isinstance(spec, TierSpec):
        raise InvalidParameterError(f"tier must be a TierSpec or a TierDecision, got {type(tier).__name__}")
    min_trade_value = _finite("min_trade_value", min_trade_value)
    if min_trade_value < 0:
        raise InvalidParameterError(f"min_trade_value must be >= 0, got {min_trade_value!r}")

    held = {symbol: _held_units(symbol, units) for symbol, units in positions.items()}
    weights = {symbol: _finite(f"target_weights[{symbol!r}]", w) for symbol, w in target_weights.items()}
    for symbol, w in weights.items():
        if w < 0 and not allow_short:
            raise InvalidParameterError(
                f"target weight of {symbol} is {w:g}: portfolios are long-only by default; "
                "use allow_short=True for short targets"
            )
    gross = math.fsum(abs(w) for w in weights.values())
    if not gross > 0:
        raise InvalidParameterError(
            f"target weights sum to {gross:g}; give at least one positive weight (fractions of capital)"
        )

    def price_of(symbol: str) -> float:
        if symbol not in prices:
            raise InvalidParameterError(f"no price for {symbol!r}; add it to prices")
        price = _finite(f"prices[{symbol!r}]", prices[symbol])
        if price <= 0:
            raise InvalidParameterError(f"prices[{symbol!r}] must be > 0, got {prices[symbol]!r}")
        return price

    invested = math.fsum(units * price_of(s) for s, units in held.items() if units != 0)
    cash = capital - invested
    if cash < 0:
        if cash < -1e-9 * max(capital, abs(invested)):
            raise InvalidParameterError(
                f"the positions are worth {format_money(invested)} at these prices, more than capital "
                f"{format_money(capital)}; capital is the account's equity (cash + positions)"
            )
        cash = 0.0
    cash_before = cash

    # The tier's position limit: keep the largest |weights|, ties by symbol.
    ranked = sorted((s for s, w in weights.items() if w != 0), key=lambda s: (-abs(weights[s]), s))
    kept, cut = ranked[: spec.max_positions], ranked[spec.max_positions :]
    dropped = {
        s: f"weight {weights[s]:.4g} is not among the {spec.max_positions} largest that tier {spec.name} "
        f"allows (max_positions={spec.max_positions}); target 0"
        for s in cut
    }
    notes: list[str] = []
    kept_gross = math.fsum(abs(weights[s]) for s in kept)
    scale = 1.0 / kept_gross if kept_gross > 1 else 1.0
    if scale != 1.0:
        notes.append(f"weights sum to {kept_gross:.4g} > 1: scaled by 1/{kept_gross:.4g}")

    targets: dict[str, float] = {}
    for symbol in kept:
        price = price_of(symbol)
        raw = weights[symbol] * scale * capital / price
        # Budget-exact rounding: |target| * price never exceeds |weight| * capital.
        units = math.copysign(max_units(abs(weights[symbol] * scale * capital), price), raw)
        if whole_units:
            units = float(math.trunc(units))
        if units == 0 and raw != 0:
            notes.append(
                f"{symbol}: weight {weights[symbol] * scale:.4g} buys less than one unit at "
                f"{format_money(price)}: target 0"
            )
        targets[symbol] = units + 0.0
    for symbol in [*cut, *(s for s, w in weights.items() if w == 0), *held]:
        targets.setdefault(symbol, 0.0)
    for symbol, units in held.items():
        if units != 0 and symbol not in weights:
            notes.append(f"{symbol} is held but has no target weight: close it")

    sells: list[tuple[str, float]] = []
    buys: list[tuple[str, float]] = []
    skipped: dict[str, str] = {}
    for symbol, target in targets.items():
        delta = target - held.get(symbol, 0.0)
        if delta == 0:
            continue
        price = price_of(symbol)
        value = abs(delta) * price
        if value < min_trade_value:
            skipped[symbol] = (
                f"{'buy' if delta > 0 else 'sell'} {format_units(abs(delta))} ({format_money(value)}) is below "
                f"min_trade_value {format_money(min_trade_value)}"
            )
            continue
        (buys if delta > 0 else sells).append((symbol, delta))

    orders: list[Order] = []
    resulting = dict.fromkeys(targets, 0.0) | held
    sells.sort(key=lambda item: (-abs(item[1]) * price_of(item[0]), item[0]))
    for symbol, delta in sells:
        quantity = -delta
        orders.append(Order(symbol, OrderSide.SELL, quantity))
        cash += quantity * price_of(symbol)
        resulting[symbol] = targets[symbol]
    # Buys in order of importance: the largest target weights get the cash first.
    buys.sort(key=lambda item: (-abs(weights.get(item[0], 0.0)), item[0]))
    for symbol, delta in buys:
        price = price_of(symbol)
        quantity = delta
        if quantity * price > cash:
            affordable = max_units(cash, price)
            if whole_units:
                affordable = float(math.floor(affordable))
            if affordable * price < max(min_trade_value, 0.0) or affordable <= 0:
                skipped[symbol] = (
                    f"buy {format_units(quantity)} ({format_money(quantity * price)}) needs more than the "
                    f"{format_money(cash)} cash left"
                )
                continue
            skipped[symbol] = (
                f"buy shrunk from {format_units(quantity)} to {format_units(affordable)} units: "
                f"only {format_money(cash)} cash left"
            )
            quantity = affordable
        orders.append(Order(symbol, OrderSide.BUY, quantity))
        cash -= quantity * price  # >= 0: quantity * price <= cash, and rounding keeps the sign
        resulting[symbol] = held.get(symbol, 0.0) + quantity

    return RebalancePlan(
        tier=spec.name,
        orders=tuple(orders),
        target_units=types.MappingProxyType(targets),
        resulting_units=types.MappingProxyType(resulting),
        dropped=types.MappingProxyType(dropped),
        skipped=types.MappingProxyType(skipped),
        notes=tuple(notes),
        cash_before=cash_before,
        cash_after=cash,
    )
