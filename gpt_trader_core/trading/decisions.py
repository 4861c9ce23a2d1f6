"""The newest-bar decision, made with exactly the backtest's rules.

The backtest engine acts at bar ``i`` when the desired position changes (or the strategy marks a
re-entry); a streaming session asks the same strategy code about history up to its newest bar and
applies the same rule to that bar only. Causal strategies make both agree bar for bar.
"""

from __future__ import annotations

import attrs
import numpy as np

from gpt_trader_core.backtesting.engine import FULL_EQUITY, desired_positions
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.strategy.base import Strategy


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
    signals = strategy.signals(history)
    n = len(history)
    want = desired_positions(signals.target, signals.warmup, long_only)
    start = min(signals.warmup + 1, n)
    last = n - 1
    previous = want[last - 1] if last >= 1 else 0.0
    act = last >= start and (
        want[last] != previous or (signals.reentry is not None and bool(signals.reentry[last]) and want[last] != 0)
    )
    return Decision(bool(act), float(want[last]), float(signals.target[last]))
