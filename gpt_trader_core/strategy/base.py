"""The strategy contract: from history, a target position per bar, computed causally.

One definition serves the backtest, paper and live trading: the backtest engine reads the whole
target array at once; the streaming engines ask about the newest bar — through the strategy's
``stream()`` (the same definition computed incrementally, O(window) per bar) when it has one, else
through ``signals`` on the recent history.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.params import Param as Param  # its home; still exported from here
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.indicators.cache import IndicatorCache

if TYPE_CHECKING:
    from gpt_trader_core.strategy.streaming import SignalStream


@attrs.frozen(eq=False)
class Signals:
    """What a strategy says about each bar.

    ``target[i]`` is the wanted position after seeing bar ``i`` (its close): ``+1`` all-in long,
    ``-1`` all-in short, ``0`` flat, a fraction for a partial position, ``NaN`` for "no opinion —
    keep what you hold". ``warmup`` is the number of leading bars the strategy's indicators need
    before they are defined (the index of the first bar where all are valid). ``reentry`` (optional,
    boolean per bar) marks signals that re-enter even when already positioned that way (close, then
    open again), as an event-driven strategy calling ``close()`` + ``buy()`` would.
    """

    target: np.ndarray
    warmup: int
    reentry: np.ndarray | None = None


def check_signals(signals: Any, n: int, strategy: str) -> Signals:
    """``signals`` of a strategy run on ``n`` bars, refused with the reason unless they are a
    ``Signals`` with one numeric target (and re-entry mark) per bar and an integer warm-up."""
    where = f"strategy {strategy!r}"
    if not isinstance(signals, Signals):
        raise InvalidDataError(
            f"{where}: signals() must return gt.Signals(target, warmup), got {type(signals).__name__}"
        )
    try:
        target = np.asarray(signals.target, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidDataError(f"{where}: the signals' target must be numbers (+1, -1, 0, a fraction or NaN)") from None
    if target.ndim != 1 or len(target) != n:
        got = f"{len(target)} values" if target.ndim == 1 else f"an array of shape {target.shape}"
        raise InvalidDataError(f"{where}: signals() must give one target per bar — {n} for these bars, got {got}")
    reentry = signals.reentry
    if reentry is not None:
        reentry = np.asarray(reentry)
        if reentry.ndim != 1 or len(reentry) != n:
            raise InvalidDataError(
                f"{where}: the signals' reentry marks must be one boolean per bar — {n}, got {reentry.size}"
            )
        reentry = reentry.astype(bool)
    warmup = signals.warmup
    if isinstance(warmup, bool) or not isinstance(warmup, int | np.integer) or warmup < -1:
        raise InvalidDataError(f"{where}: the signals' warmup must be an integer >= 0 (bars), got {warmup!r}")
    if target is signals.target and reentry is signals.reentry and type(warmup) is int:
        return signals
    return Signals(target, int(warmup), reentry)


class Strategy(abc.ABC):
    """Base class of every strategy. Subclass, declare ``name`` and ``params``, implement ``signals``.

    ``signals`` must be causal: ``target[i]`` may only use bars ``0..i``. ``check`` may add
    constraints between parameters (e.g. ``fast < slow``).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **values: Any) -> None:
        self.values: Mapping[str, Any] = MappingProxyType(self.resolve(values))

    @classmethod
    def resolve(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults merged with ``values``, each coerced and range-checked, then ``check``-ed."""
        known = {p.name: p for p in cls.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidParameterError(
                f"{cls.name}: unknown parameter {', '.join(map(repr, unknown))}; "
                f"valid parameters: {', '.join(known) or 'none'}"
            )
        resolved = {name: p.default for name, p in known.items()}
        resolved.update({name: known[name].coerce(cls.name, v) for name, v in values.items()})
        cls.check(resolved)
        return resolved

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> None:
        """Constraints between parameters; raise ``InvalidParameterError`` when violated."""

    def __getstate__(self) -> dict[str, Any]:
        # Read-only mapping views cannot be pickled (process pools, Dask): ship a plain dict.
        state = dict(self.__dict__)
        state["values"] = dict(self.values)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["values"] = MappingProxyType(state["values"])
        self.__dict__.update(state)

    def min_bars(self) -> int:
        """Bars needed before the first signal can be given (warm-up + 1)."""
        return 1

    def require_bars(self, bars: Bars) -> None:
        need = self.min_bars() + 1
        if len(bars) < need:
            raise InvalidDataError(
                f"{self}: needs at least {need} bars, got {len(bars)} for {bars.symbol}; "
                "load a longer history or shorten the windows"
            )

    #: True when ``signals`` accepts an ``IndicatorCache`` as second argument (built-ins do), so an
    #: optimiser can share indicators across parameter sets.
    uses_indicator_cache: ClassVar[bool] = False

    @abc.abstractmethod
    def signals(self, bars: Bars) -> Signals:
        """Target position per bar (see ``Signals``)."""

    def signals_cached(self, bars: Bars, cache: IndicatorCache) -> Signals:
        """``signals`` sharing ``cache`` when the strategy supports it."""
        if self.uses_indicator_cache:
            return self.signals(bars, cache)  # type: ignore[call-arg]
        return self.signals(bars)

    # -- streaming: the newest bar's target without recomputing the whole history -------------

    def stream(self) -> SignalStream | None:
        """A fresh ``SignalStream`` giving ``signals``' target one bar at a time in O(window) from
        state it carries (the built-ins have one), or None: the streaming engines then call
        ``signals`` on the last ``history_window()`` bars (the whole history when that is None)."""
        return None

    def history_window(self) -> int | None:
        """Bars of history ``signals`` needs for the newest bar's target (at least warm-up + 1), when
        the strategy knows such a bound; None (the default) means the whole history."""
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{self.name}({args})"

    __str__ = __repr__
