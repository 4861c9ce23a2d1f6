"""Parity with backtesting.py (the installed package, on the GOOG and EURUSD data it ships).

SmaCross(n1=10, n2=20) with strict crossovers, ``position.close()`` then ``buy()``/``sell()``,
``exclusive_orders=True``: the same trades (entry/exit bar, price, size) and every statistic within
1e-6 relative, in long_short and long_only, with and without commission.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402
from backtesting.test import EURUSD, GOOG, SMA  # noqa: E402

import gpt_trader_core as gt  # noqa: E402

STAT_NAMES = {
    "Start": "start",
    "End": "end",
    "Duration": "duration",
    "Exposure Time [%]": "exposure_time_pct",
    "Equity Final [$]": "equity_final",
    "Equity Peak [$]": "equity_peak",
    "Commissions [$]": "commissions",
    "Return [%]": "return_pct",
    "Buy & Hold Return [%]": "buy_hold_return_pct",
    "Return (Ann.) [%]": "return_ann_pct",
    "Volatility (Ann.) [%]": "volatility_ann_pct",
    "CAGR [%]": "cagr_pct",
    "Sharpe Ratio": "sharpe_ratio",
    "Sortino Ratio": "sortino_ratio",
    "Calmar Ratio": "calmar_ratio",
    "Alpha [%]": "alpha_pct",
    "Beta": "beta",
    "Max. Drawdown [%]": "max_drawdown_pct",
    "Avg. Drawdown [%]": "avg_drawdown_pct",
    "Max. Drawdown Duration": "max_drawdown_duration",
    "Avg. Drawdown Duration": "avg_drawdown_duration",
    "# Trades": "num_trades",
    "Win Rate [%]": "win_rate_pct",
    "Best Trade [%]": "best_trade_pct",
    "Worst Trade [%]": "worst_trade_pct",
    "Avg. Trade [%]": "avg_trade_pct",
    "Max. Trade Duration": "max_trade_duration",
    "Avg. Trade Duration": "avg_trade_duration",
    "Profit Factor": "profit_factor",
    "Expectancy [%]": "expectancy_pct",
    "SQN": "sqn",
    "Kelly Criterion": "kelly_criterion",
}


class SmaCross(Strategy):  # type: ignore[misc]
    n1 = 10
    n2 = 20
    long_only = False

    def init(self) -> None:
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self) -> None:
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            if not self.long_only:
                self.sell()


def _peer(data: pd.DataFrame, commission: float, long_only: bool, spread: float = 0.0) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(data, SmaCross, cash=10_000, commission=commission, spread=spread, exclusive_orders=True)
        return bt.run(long_only=long_only)


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, pd.Timedelta):
        theirs = theirs.to_pytimedelta()
    if isinstance(theirs, pd.Timestamp):
        theirs = theirs.to_pydatetime()
    if isinstance(theirs, dt.datetime | dt.timedelta):
        return bool(ours == theirs)
    theirs = float(theirs)
    if math.isnan(theirs):
        return ours is None or math.isnan(ours)
    if math.isinf(theirs):
        return bool(ours == theirs)
    return abs(ours - theirs) <= 1e-6 * max(abs(theirs), 1e-12)


CASES = [
    pytest.param(
        name,
        commission,
        long_only,
        id=f"{name}-comm{commission}-{'long_only' if long_only else 'long_short'}",
    )
    for name in ("GOOG", "EURUSD")
    for commission in (0.002, 0.0)
    for long_only in (False, True)
]


@pytest.mark.parametrize(("name", "commission", "long_only"), CASES)
def test_sma_cross_matches_backtesting_py(name: str, commission: float, long_only: bool) -> None:
    data = {"GOOG": GOOG, "EURUSD": EURUSD}[name]
    theirs = _peer(data, commission, long_only)
    ours = gt.backtest(
        data,
        "sma_cross",
        fast=10,
        slow=20,
        cash=10_000,
        commission=commission,
        mode="long_only" if long_only else "long_short",
        symbol=name,
    )
    _assert_same_run(ours, theirs)


def _assert_same_run(ours: Any, theirs: Any) -> None:
    peer_trades = theirs._trades
    assert len(ours.trades) == len(peer_trades) > 10
    np.testing.assert_array_equal([t.size for t in ours.trades], peer_trades["Size"].to_numpy())
    np.testing.assert_array_equal([t.entry_bar for t in ours.trades], peer_trades["EntryBar"].to_numpy())
    np.testing.assert_array_equal([t.exit_bar for t in ours.trades], peer_trades["ExitBar"].to_numpy())
    np.testing.assert_allclose([t.entry_price for t in ours.trades], peer_trades["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose([t.exit_price for t in ours.trades], peer_trades["ExitPrice"], rtol=1e-12)
    np.testing.assert_allclose([t.pnl for t in ours.trades], peer_trades["PnL"], rtol=1e-9)
    # Trade.return_pct is in percent; backtesting.py's ReturnPct is the same return as a fraction.
    np.testing.assert_allclose([t.return_pct for t in ours.trades], peer_trades["ReturnPct"] * 100, rtol=1e-9)
    np.testing.assert_allclose(ours.equity, theirs._equity_curve["Equity"].to_numpy(), rtol=1e-9)

    compared = 0
    for their_name, our_name in STAT_NAMES.items():
        if their_name not in theirs:  # backtesting.py omits "Commissions" when they are zero
            assert our_name == "commissions" and ours.stats["commissions"] == 0
            continue
        assert _same(ours.stats[our_name], theirs[their_name]), (
            f"{our_name}: ours {ours.stats[our_name]!r} vs backtesting.py {theirs[their_name]!r}"
        )
        compared += 1
    assert compared >= len(STAT_NAMES) - 1


SPREAD_CASES = [
    pytest.param(name, spread, commission, long_only, id=f"{name}-spread{spread}-comm{commission}-long_only{long_only}")
    for name, spread in (("GOOG", 0.001), ("GOOG", 0.01), ("EURUSD", 0.0002))
    for commission in (0.0, 0.002)
    for long_only in (False, True)
]


@pytest.mark.parametrize(("name", "spread", "commission", "long_only"), SPREAD_CASES)
def test_spread_matches_backtesting_py(name: str, spread: float, commission: float, long_only: bool) -> None:
    """``spread`` is backtesting.py's: entries fill at the spread-adjusted price, exits at the quote."""
    data = {"GOOG": GOOG, "EURUSD": EURUSD}[name]
    theirs = _peer(data, commission, long_only, spread)
    ours = gt.backtest(
        data,
        "sma_cross",
        fast=10,
        slow=20,
        cash=10_000,
        commission=commission,
        spread=spread,
        mode="long_only" if long_only else "long_short",
        symbol=name,
    )
    _assert_same_run(ours, theirs)
    assert all(t.exit_price in set(data["Open"]) for t in ours.trades)  # exits at the quoted open
