"""The fill engine on hand-computed scenarios, and its accounting identity on random ones."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpt_trader_core as gt
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import simulate
from gpt_trader_core.domain.trading import ExitReason
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.strategy.base import Signals, Strategy
from tests.conftest import make_bars

FULL = 1 - sys.float_info.epsilon


class Scripted(Strategy):
    """Plays back a fixed target array (test helper, not registered)."""

    name = "scripted"

    def __init__(self, target: list[float], warmup: int = 0) -> None:
        super().__init__()
        self.target = np.asarray(target, dtype=float)
        self.warmup = warmup

    def signals(self, bars: gt.Bars) -> Signals:
        return Signals(self.target[: len(bars)], self.warmup)


CLOSE = [100, 101, 102, 104, 103, 107, 110, 108, 105, 106]
NAN = math.nan


def test_long_trade_fills_at_next_open_with_commission() -> None:
    bars = make_bars(CLOSE)
    target = [NAN, NAN, 1, NAN, NAN, 0, NAN, NAN, NAN, NAN]
    res = gt.backtest(bars, Scripted(target), cash=10_000, commission=0.01)
    (trade,) = res.trades
    entry = bars.open[3]  # signal at bar 2 → next open
    units = int((10_000 * FULL) // (entry * 1.01))
    assert (trade.entry_bar, trade.exit_bar, trade.size) == (3, 6, units)
    assert trade.entry_price == entry and trade.exit_price == bars.open[6]
    commission = units * entry * 0.01 + units * bars.open[6] * 0.01
    assert trade.commission == pytest.approx(commission)
    assert trade.pnl == pytest.approx(units * (bars.open[6] - entry) - commission)
    assert res.equity[-1] == pytest.approx(10_000 + trade.pnl)
    assert res.trades[0].exit_reason is ExitReason.SIGNAL
    assert res.open_position is None


def test_fill_at_close_and_fractional_units() -> None:
    bars = make_bars(CLOSE)
    target = [NAN, 1, NAN, NAN, 0, NAN, NAN, NAN, NAN, NAN]
    res = gt.backtest(bars, Scripted(target), fill="close", fractional=True)
    (trade,) = res.trades
    assert (trade.entry_bar, trade.exit_bar) == (1, 4)
    assert trade.entry_price == bars.close[1] and trade.exit_price == bars.close[4]
    assert trade.size == pytest.approx(10_000 * FULL / bars.close[1])


def test_short_and_reversal_in_long_short_but_flat_in_long_only() -> None:
    bars = make_bars(CLOSE)
    target = [NAN, 1, NAN, -1, NAN, NAN, 1, NAN, NAN, NAN]
    both = gt.backtest(bars, Scripted(target))
    assert [t.size > 0 for t in both.trades] == [True, False]
    assert both.open_position is not None and both.open_position.size > 0
    long_only = gt.backtest(bars, Scripted(target), mode="long_only")
    assert all(t.size > 0 for t in long_only.trades) and len(long_only.trades) == 1


def test_open_position_is_marked_to_market_or_closed_at_end() -> None:
    bars = make_bars(CLOSE)
    target = [NAN, 1] + [NAN] * 8
    marked = gt.backtest(bars, Scripted(target))
    assert marked.trades == () and marked.stats["num_trades"] == 0
    size = marked.open_position.size  # type: ignore[union-attr]
    assert marked.equity[-1] == pytest.approx(10_000 + size * (bars.close[-1] - bars.open[2]))
    closed = gt.backtest(bars, Scripted(target), close_at_end=True)
    (trade,) = closed.trades
    assert trade.exit_reason is ExitReason.END_OF_DATA and trade.exit_price == bars.close[-1]


def test_stop_loss_take_profit_and_trailing_stop() -> None:
    close = [100, 100, 100, 95, 90, 90, 90, 90]
    bars = make_bars(close)
    res = gt.backtest(bars, Scripted([NAN, 1] + [NAN] * 6), stop_loss=0.05)
    (trade,) = res.trades
    assert trade.exit_reason is ExitReason.STOP_LOSS
    assert trade.exit_price == pytest.approx(95.0)  # the level, touched by bar 3's low
    up = make_bars([100, 100, 100, 104, 112, 120, 110, 100])
    res = gt.backtest(up, Scripted([NAN, 1] + [NAN] * 6), take_profit=0.1)
    assert res.trades[0].exit_reason is ExitReason.TAKE_PROFIT
    assert res.trades[0].exit_price == pytest.approx(110.0)
    res = gt.backtest(up, Scripted([NAN, 1] + [NAN] * 6), trailing_stop=0.05)
    trade = res.trades[0]
    assert trade.exit_reason is ExitReason.TRAILING_STOP
    peak = max(up.high[2:6])
    assert trade.exit_price == pytest.approx(min(up.open[6], peak * 0.95))
    assert res.exit_reasons["trailing_stop"]["trades"] == 1


def test_gap_through_the_stop_fills_at_the_open() -> None:
    bars = make_bars([100, 100, 100, 80, 80])
    res = gt.backtest(bars, Scripted([NAN, 1, NAN, NAN, NAN]), stop_loss=0.05)
    assert res.trades[0].exit_price == pytest.approx(95.0)  # the open (100) is above the stop: fill at 95...
    gap = make_bars([100, 100, 100, 100, 80])
    gapped = gt.Bars(gap.timestamps, np.array([100, 100, 100, 100, 80.0]), gap.high, gap.low, gap.close, gap.volume)
    res = gt.backtest(gapped, Scripted([NAN, 1, NAN, NAN, NAN]), stop_loss=0.05)
    assert res.trades[0].exit_price == pytest.approx(80.0)  # ...but a gap below the stop fills at the open


def test_running_out_of_money_closes_everything() -> None:
    bars = make_bars([100, 100, 100, 150, 210, 300, 300])
    res = gt.backtest(bars, Scripted([NAN, -1] + [NAN] * 5))
    assert res.trades[-1].exit_reason is ExitReason.OUT_OF_MONEY
    assert res.equity[-1] == 0.0 and np.all(res.equity[np.argmax(res.equity <= 0) :] == 0)


def test_insufficient_cash_rejects_the_order() -> None:
    bars = make_bars([100, 100, 100, 100])
    res = gt.backtest(bars, Scripted([NAN, 1, NAN, NAN]), cash=50)
    assert res.trades == () and res.open_position is None and res.rejected_orders == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cash": -5}, "cash must be a positive amount"),
        ({"commission": 0.5}, "commission must be a fraction"),
        ({"mode": "sideways"}, "mode must be one of"),
        ({"fill": "later"}, "fill must be one of"),
        ({"stop_loss": 2}, "stop_loss must be a fraction"),
    ],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        BacktestConfig(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    prices=st.lists(st.floats(5, 500), min_size=6, max_size=80),
    choices=st.lists(st.sampled_from([math.nan, math.nan, 1.0, -1.0, 0.0, 0.5]), min_size=80, max_size=80),
    commission=st.sampled_from([0.0, 0.001, 0.01]),
    fixed=st.sampled_from([0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.002]),
    fractional=st.booleans(),
    stops=st.booleans(),
)
def test_accounting_identity(
    prices: list[float],
    choices: list[float],
    commission: float,
    fixed: float,
    slippage: float,
    fractional: bool,
    stops: bool,
) -> None:
    """Final equity = cash + closed P&L + the open position's unrealised P&L less its entry commission."""
    bars = make_bars(prices)
    n = len(bars)
    cfg = BacktestConfig(
        cash=10_000,
        commission=commission,
        commission_fixed=fixed,
        slippage=slippage,
        fractional=fractional,
        stop_loss=0.03 if stops else None,
        take_profit=0.04 if stops else None,
    )
    sim = simulate(bars.open, bars.high, bars.low, bars.close, np.asarray(choices[:n]), 0, cfg)
    expected = 10_000 + sim.trades.pnl.sum()
    if sim.open_position is not None:
        p = sim.open_position
        expected += p.size * (bars.close[-1] - p.entry_price) - (fixed + abs(p.size) * p.entry_price * commission)
    if sim.equity[-1] > 0:
        assert sim.equity[-1] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert np.all(np.diff(sim.trades.entry_bar) > 0) if len(sim.trades) > 1 else True
    assert np.all(sim.trades.exit_bar >= sim.trades.entry_bar)


def test_identical_inputs_give_bit_identical_results(goog: gt.Bars) -> None:
    first = gt.backtest(goog, "sma_cross", fast=10, slow=20, commission=0.002)
    second = gt.backtest(goog, "sma_cross", fast=10, slow=20, commission=0.002)
    assert first.equity.tobytes() == second.equity.tobytes()
    assert first.trades == second.trades
    assert repr(dict(first.stats)) == repr(dict(second.stats))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=10))
def test_exposure_counts_each_covered_bar_once(intervals: list[tuple[int, int]]) -> None:
    from gpt_trader_core.backtesting.stats import covered_bars

    entry = np.array([a for a, _ in intervals], dtype=np.int64)
    exit_ = np.array([min(a + k, 70) for a, k in intervals], dtype=np.int64)
    covered = np.zeros(71, dtype=bool)
    for a, b in zip(entry, exit_, strict=True):
        covered[a : b + 1] = True
    assert covered_bars(entry, exit_) == int(covered.sum())
