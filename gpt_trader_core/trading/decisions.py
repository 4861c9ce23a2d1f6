"""The newest-bar decision, made with exactly the backtest's rules.

The backtest engine acts at bar ``i`` when the desired position changes (or the strategy marks a
re-entry); a streaming session asks the same strategy code about history up to its newest bar and
applies the same rule to that bar only. Causal strategies make both agree bar for bar.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from gpt_trader_core.backtesting.engine import FULL_EQUITY, desired_positions
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.strategy.base import Strategy, check_signals


@attrs.frozen
class Decision:
    """At the newest bar: whether to act, and the wanted position (-1..1, 0 = flat)."""

    act: bool
    want: float
    target: float  # the raw target (NaN = no opinion)

    @property
    def fraction(self) -> float:
        return min(abs(self.want), FULL_EQUITY)

    @property
    def side(self) -> float:
        return float(np.sign(self.want))


def decide(strategy: Strategy, history: Bars, long_only: bool) -> Decision:
    """The decision at the last bar of ``history``."""
    n = len(history)
    signals = check_signals(strategy.signals(history), n, strategy.name)
    want = desired_positions(signals.target, signals.warmup, long_only)
    start = min(signals.warmup + 1, n)
    last = n - 1
    previous = want[last - 1] if last >= 1 else 0.0
    act = last >= start and (
        want[last] != previous or (signals.reentry is not None and bool(signals.reentry[last]) and want[last] != 0)
    )
    return Decision(bool(act), float(want[last]), float(signals.target[last]))


class Decider:
    """Decisions about each newest bar of one symbol, from state carried from bar to bar.

    Every bar (history and live alike) goes through ``push``; ``decision`` then answers about the
    newest one with ``decide``'s rule, forward-filling the wanted position itself. The target comes
    from the strategy's ``SignalStream`` (O(window) per bar), else from ``signals`` on the last
    ``history_window()`` bars, else — a strategy that declares neither — from ``decide`` on the
    whole history (O(n) per bar, as before).
    """

    def __init__(self, strategy: Strategy, long_only: bool, symbol: str, timeframe: str) -> None:
        self.strategy = strategy
        self.long_only = long_only
        self._stream = strategy.stream()
        window = strategy.history_window() if self._stream is None else None
        self._window = window
        keep = window if window is not None else None
        self._history = None if self._stream is not None else BarHistory(symbol, timeframe, keep)
        self._low = 0.0 if long_only else -1.0
        self._index = -1
        self._want = 0.0
        self._decision = Decision(False, 0.0, float("nan"))
        self._warmup: int | None = self._stream.warmup if self._stream is not None else None

    def push(self, time: Any, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """The next bar (oldest first)."""
        if self._stream is not None:
            target, reentry = self._stream.update(open_, high, low, close, volume)
            self._advance(target, reentry)
            return
        assert self._history is not None
        self._history.append(time, open_, high, low, close, volume)
        if self._window is not None:
            bars = self._history.bars()
            signals = check_signals(self.strategy.signals(bars), len(bars), self.strategy.name)
            if self._warmup is None:
                self._warmup = signals.warmup
            reentry = signals.reentry is not None and bool(signals.reentry[-1])
            self._advance(float(signals.target[-1]), reentry)

    def decision(self) -> Decision:
        """The decision at the newest bar pushed."""
        if self._stream is None and self._window is None:
            assert self._history is not None
            return decide(self.strategy, self._history.bars(), self.long_only)
        return self._decision

    def _advance(self, target: float, reentry: bool) -> None:
        """``desired_positions`` and ``decide``'s rule for one more bar."""
        self._index += 1
        warmup = self._warmup if self._warmup is not None else 0
        previous = self._want
        if self._index <= warmup:  # warm-up; the warm-up bar itself is flat
            self._want = 0.0
            self._decision = Decision(False, 0.0, target)
            return
        if target == target:  # not NaN: a new opinion, capped like desired_positions
            self._want = min(max(target, self._low), 1.0)
        act = self._want != previous or (reentry and self._want != 0)
        self._decision = Decision(bool(act), self._want, target)


class BarHistory:
    """Growing OHLCV columns of one symbol (the last ``keep`` bars when given), viewed as ``Bars``."""

    def __init__(self, symbol: str, timeframe: str, keep: int | None = None) -> None:
        self.symbol, self.timeframe, self.keep = symbol, timeframe, keep
        self._columns: list[list[Any]] = [[], [], [], [], [], []]

    def append(self, time: Any, open_: float, high: float, low: float, close: float, volume: float) -> None:
        row = (np.datetime64(time, "ns"), open_, high, low, close, volume)
        for column, value in zip(self._columns, row, strict=True):
            column.append(value)
            if self.keep is not None and len(column) > 2 * self.keep:
                del column[: len(column) - self.keep]

    def bars(self) -> Bars:
        columns = self._columns if self.keep is None else [c[-self.keep :] for c in self._columns]
        t, o, h, lo, c, v = columns
        return Bars(
            np.array(t, dtype="datetime64[ns]"),
            o,
            h,
            lo,
            c,
            v,
            symbol=self.symbol,
            timeframe=self.timeframe,
            source="feed",
        )
