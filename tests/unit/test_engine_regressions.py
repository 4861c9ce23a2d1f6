"""Regression tests of issue 11's engine items: units, warnings, spread/slippage, bad input, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import gpt_trader_core as gt
from gpt_trader_core.errors import GptTraderError, InvalidDataError

backtesting_test = pytest.importorskip("backtesting.test")


# -- 11.10: bad input through the Python API is a GptTraderError naming the problem ------------------


def test_a_dataframe_with_a_non_numeric_price_is_refused_by_row() -> None:
    frame = backtesting_test.GOOG.copy()
    frame["Close"] = frame["Close"].astype(object)
    frame.iloc[5, frame.columns.get_loc("Close")] = "abc"
    with pytest.raises(InvalidDataError, match=r"column 'Close' at row 5 \(2004-08-26.*'abc', which is not a number"):
        gt.backtest(frame, "sma_cross")


class _WrongLength(gt.Strategy):
    name = "wrong_length"
    extra = 0

    def signals(self, bars: gt.Bars) -> gt.Signals:
        return gt.Signals(np.ones(3 if not self.extra else len(bars) + self.extra), warmup=0)


class _TooLong(_WrongLength):
    name = "too_long"
    extra = 100


@pytest.mark.parametrize("cls", [_WrongLength, _TooLong])
def test_a_strategy_giving_the_wrong_number_of_signals_is_refused(cls: type[gt.Strategy]) -> None:
    n = len(backtesting_test.GOOG)
    got = 3 if cls is _WrongLength else n + 100
    with pytest.raises(GptTraderError, match=rf"one target per bar — {n} for these bars, got {got} values"):
        gt.backtest(backtesting_test.GOOG, cls())


def test_a_strategy_giving_no_signals_value_is_refused() -> None:
    class Plain(gt.Strategy):
        name = "plain_array"

        def signals(self, bars: gt.Bars) -> gt.Signals:
            return np.ones(len(bars))  # type: ignore[return-value]

    with pytest.raises(GptTraderError, match=r"must return gt.Signals\(target, warmup\), got ndarray"):
        gt.backtest(backtesting_test.GOOG, Plain())


# -- 11.23: a BacktestRun shows its result in a notebook -------------------------------------------


def test_backtest_run_has_a_rich_notebook_repr() -> None:
    from gpt_trader_core.services.backtest import BacktestRun

    result = gt.backtest(backtesting_test.GOOG, "sma_cross", fast=10, slow=20)
    run = BacktestRun(result, record_id="bt_0123", cached=True)
    page = run._repr_html_()
    assert "<table>" in page and "sharpe_ratio" in page and "bt_0123" in page and "from the cache" in page
    assert page.count("<tr>") == len(result.stats)
    text = repr(run)
    assert text.startswith("BacktestRun (saved as bt_0123, from the cache)\nBacktestResult: sma_cross(")
    assert "not saved" in repr(BacktestRun(result))


# -- 11.9: spread (entries only, backtesting.py's) and slippage (entry and exit) --------------------


@pytest.mark.parametrize(("spread", "slippage"), [(0.0, 0.001), (0.002, 0.0), (0.002, 0.001)])
def test_spread_costs_entries_and_slippage_costs_both_fills(spread: float, slippage: float) -> None:
    goog = gt.as_bars(backtesting_test.GOOG, "GOOG")
    res = gt.backtest(goog, "sma_cross", fast=10, slow=20, spread=spread, slippage=slippage)
    assert len(res.trades) > 10
    for t in res.trades:
        side = 1.0 if t.size > 0 else -1.0
        assert t.entry_price == goog.open[t.entry_bar] * (1 + side * (spread + slippage))
        assert t.exit_price == goog.open[t.exit_bar] * (1 - side * slippage)
    assert res.config.spread == spread and res.config.slippage == slippage


def test_spread_is_validated_like_the_other_rates() -> None:
    with pytest.raises(GptTraderError, match=r"spread must be a fraction in \[0, 0.1\)"):
        gt.backtest(backtesting_test.GOOG, "sma_cross", spread=0.5)
