"""Incremental (streaming) strategy evaluation equals the vectorised signals, bar for bar.

A paper session asks each built-in strategy about the newest bar through its ``SignalStream``; the
backtest reads ``signals`` over the whole history. Both must give the same targets (NaN = keep),
re-entry marks and warm-up, and the ``Decider`` the same decisions as ``decide`` on the history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.strategy import BUILTIN_STRATEGIES, Signals, Strategy
from gpt_trader_core.strategy.streaming import Tail
from gpt_trader_core.trading.decisions import Decider, decide
from tests.conftest import make_bars


@st.composite
def prices(draw: st.DrawFn) -> np.ndarray:
    """Closes quoted in cents, made of random walks, flat stretches (constant windows) and stretches
    alternating between two quotes (averages of different windows tie exactly in decimal)."""
    cents = [draw(st.integers(1_000, 50_000))]
    for kind, length in draw(
        st.lists(st.tuples(st.sampled_from(["walk", "flat", "alternate"]), st.integers(1, 40)), min_size=1, max_size=8)
    ):
        if kind == "walk":
            steps = draw(st.lists(st.integers(-300, 300), min_size=length, max_size=length))
            cents += [max(100, cents[-1] + sum(steps[: i + 1])) for i in range(length)]
        elif kind == "flat":
            cents += [cents[-1]] * length
        else:
            other = max(100, cents[-1] + draw(st.integers(-777, 777)))
            cents += [other if i % 2 == 0 else cents[-1] for i in range(length)]
    return np.array(cents[:200]) / 100.0


def _params(draw: st.DrawFn, cls: type[Strategy]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in cls.params:
        if p.type is int:
            values[p.name] = draw(st.one_of(st.integers(int(p.low or 2), 6), st.integers(int(p.low or 2), 30)))
        else:
            low, high = float(p.low or 0.0), min(float(p.high or 1.0), 5 * p.default)
            values[p.name] = draw(st.one_of(st.sampled_from([low, p.default]), st.floats(low, high)))
    if cls.name == "sma_cross":
        fast, slow = sorted(draw(st.lists(st.integers(2, 12), min_size=2, max_size=2, unique=True)))
        values = {"fast": fast, "slow": slow}
    return values


@st.composite
def cases(draw: st.DrawFn) -> tuple[Strategy, Bars, bool]:
    cls = draw(st.sampled_from(BUILTIN_STRATEGIES))
    strategy = cls(**_params(draw, cls))
    return strategy, make_bars(draw(prices())), draw(st.booleans())


def _streamed(strategy: Strategy, bars: Bars) -> tuple[np.ndarray, np.ndarray, int]:
    stream = strategy.stream()
    assert stream is not None
    rows = zip(
        bars.open.tolist(),
        bars.high.tolist(),
        bars.low.tolist(),
        bars.close.tolist(),
        bars.volume.tolist(),
        strict=True,
    )
    out = [stream.update(*row) for row in rows]
    return np.array([t for t, _ in out]), np.array([r for _, r in out]), stream.warmup


@settings(max_examples=400, deadline=None)
@given(cases())
def test_stream_equals_vectorised_signals(case: tuple[Strategy, Bars, bool]) -> None:
    strategy, bars, _ = case
    signals = strategy.signals(bars)
    target, reentry, warmup = _streamed(strategy, bars)
    assert warmup == signals.warmup
    np.testing.assert_array_equal(target, signals.target)  # bit for bit, NaN where NaN
    expected = signals.reentry if signals.reentry is not None else np.zeros(len(bars), dtype=bool)
    np.testing.assert_array_equal(reentry, expected)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_decider_equals_decide_on_the_history(case: tuple[Strategy, Bars, bool]) -> None:
    strategy, bars, long_only = case
    decider = Decider(strategy, long_only, bars.symbol, bars.timeframe)
    for i in range(len(bars)):
        decider.push(bars.timestamps[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i])
        got, want = decider.decision(), decide(strategy, bars.slice(0, i + 1), long_only)
        assert (got.act, got.want) == (want.act, want.want), i
        assert got.target == want.target or (np.isnan(got.target) and np.isnan(want.target)), i


class _Windowed(Strategy):
    """A user strategy without a stream that declares its window: the close against the previous close."""

    name = "windowed_test"

    def history_window(self) -> int | None:
        return 2

    def signals(self, bars: Bars) -> Signals:
        target = np.full(len(bars), np.nan)
        target[1:] = np.sign(bars.close[1:] - bars.close[:-1])
        reentry = np.zeros(len(bars), dtype=bool)
        reentry[1:] = bars.close[1:] > bars.close[:-1] * 1.004
        return Signals(target, 0, reentry=reentry)


class _Unbounded(_Windowed):
    name = "unbounded_test"

    def history_window(self) -> None:
        return None


@settings(max_examples=60, deadline=None)
@given(prices(), st.booleans(), st.sampled_from([_Windowed, _Unbounded]))
def test_user_strategies_without_a_stream_fall_back(close: np.ndarray, long_only: bool, cls: type[Strategy]) -> None:
    strategy, bars = cls(), make_bars(close)
    decider = Decider(strategy, long_only, bars.symbol, bars.timeframe)
    for i in range(len(bars)):
        decider.push(bars.timestamps[i], bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i])
        got, want = decider.decision(), decide(strategy, bars.slice(0, i + 1), long_only)
        assert (got.act, got.want) == (want.act, want.want), i


def test_tail_keeps_the_newest_values_in_bounded_memory() -> None:
    tail = Tail(3)
    for value in range(1000):
        tail.append(float(value))
    assert tail.last(3).tolist() == [997.0, 998.0, 999.0]
    assert tail[-1] == 999.0 and tail[-3] == 997.0 and tail.count == 1000
    assert len(tail._data) <= 64
