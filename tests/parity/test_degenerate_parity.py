"""Degenerate equity curves (a ruined account, no trade at all, a handful of bars): every statistic
equals backtesting.py's — NaN where it gives NaN — and no numpy warning reaches the user."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.test import EURUSD, GOOG  # noqa: E402

import gpt_trader_core as gt  # noqa: E402
from tests.parity.test_backtesting_py_parity import STAT_NAMES, _same  # noqa: E402


class _PeerHold(Strategy):  # type: ignore[misc]
    side = 0

    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position and self.side > 0:
            self.buy()
        elif not self.position and self.side < 0:
            self.sell()


class _Hold(gt.Strategy):
    name = "hold_test"
    side = 0.0

    def signals(self, bars: gt.Bars) -> gt.Signals:
        return gt.Signals(np.full(len(bars), self.side), warmup=0)


def _ours(data: pd.DataFrame, side: float, **config: Any) -> gt.BacktestResult:
    strategy = type("Hold", (_Hold,), {"side": side})()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning fails the test
        result = gt.backtest(data, strategy, **config)
        result.monthly_returns, result.yearly_returns  # noqa: B018
    return result


CASES = [
    pytest.param(GOOG, -1, id="GOOG-always-short-ruined"),
    pytest.param(GOOG, 0, id="GOOG-never-trades"),
    pytest.param(GOOG, 1, id="GOOG-always-long-open-at-end"),
    pytest.param(EURUSD, -1, id="EURUSD-always-short"),
    pytest.param(GOOG.iloc[:5], 1, id="GOOG-5-bars"),
]


@pytest.mark.parametrize(("data", "side"), CASES)
def test_degenerate_curves_match_backtesting_py_without_warnings(data: pd.DataFrame, side: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = Backtest(data, type("Peer", (_PeerHold,), {"side": side}), cash=10_000, commission=0.002).run()
    ours = _ours(data, side, cash=10_000, commission=0.002)
    assert len(ours.trades) == len(theirs._trades)
    for their_name, our_name in STAT_NAMES.items():
        if their_name in theirs:
            assert _same(ours.stats[our_name], theirs[their_name]), (
                f"{our_name}: ours {ours.stats[our_name]!r} vs backtesting.py {theirs[their_name]!r}"
            )


def test_a_ruined_account_has_no_return_in_the_periods_after_ruin() -> None:
    ours = _ours(GOOG, -1, cash=10_000, commission=0.002)
    assert ours.trades[-1].exit_reason.value == "out_of_money" and ours.equity[-1] == 0
    ruined_year = str(ours.trades[-1].exit_time.year)
    years = dict(ours.yearly_returns)
    assert years[ruined_year] == -100.0
    after = [value for year, value in years.items() if year > ruined_year]
    assert after and all(math.isnan(value) for value in after)
