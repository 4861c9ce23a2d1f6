"""``import gpt_trader_core as gt``: the notebook-facing API."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import gpt_trader_core as gt
from gpt_trader_core.backtesting.stats import STAT_KEYS


def _goog() -> pd.DataFrame:
    """backtesting.py's GOOG frame: only the tests on it need that package."""
    frame: pd.DataFrame = pytest.importorskip("backtesting.test").GOOG
    return frame


@pytest.fixture
def goog() -> pd.DataFrame:
    return _goog()


def test_backtest_on_a_dataframe_with_any_column_case(goog: pd.DataFrame) -> None:
    df = goog.rename(columns=str.lower)
    res = gt.backtest(df, "sma_cross", fast=10, slow=20, cash=10_000, commission=0.002, mode="long_short")
    assert tuple(res.stats) == STAT_KEYS
    assert res.stats["num_trades"] == len(res.trades) > 0
    trade = res.trades[0]
    for field in (
        "size",
        "entry_bar",
        "exit_bar",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "pnl",
        "return_pct",
        "commission",
    ):
        assert hasattr(trade, field)
    assert isinstance(res.equity, np.ndarray) and len(res.equity) == len(df)


def test_pandas_views_and_reprs(goog: pd.DataFrame) -> None:
    res = gt.backtest(goog, "breakout", lookback=30)
    frame = res.to_frame()
    assert list(frame.columns) == ["Equity", "DrawdownPct", "Position"] and len(frame) == len(goog)
    trades = res.trades_frame()
    assert len(trades) == len(res.trades) and "exit_reason" in trades.columns
    assert "Sharpe Ratio" in repr(res) and "breakout(lookback=30)" in repr(res)
    assert "<table>" in res._repr_html_()
    assert res.monthly_returns and res.yearly_returns[0][0] == "2004"


def test_synthetic_results_are_labelled() -> None:
    bars = gt.synthetic("AAPL", "2020-01-01", "2022-12-31")
    assert bars.synthetic and "SYNTHETIC" in bars.label
    res = gt.backtest(bars, "sma_cross")
    assert res.synthetic and "SYNTHETIC" in repr(res) and "SYNTHETIC" in res._repr_html_()


async def test_works_inside_a_running_event_loop() -> None:
    """As in Jupyter: the API is synchronous and needs no loop of its own."""
    res = gt.backtest(gt.synthetic("MSFT", "2021-01-01", "2021-12-31"), "momentum")
    assert res.stats["start"].year == 2021


@pytest.mark.parametrize(
    ("data", "message"),
    [  # built when the test runs: a case on GOOG is skipped without backtesting.py, the others run
        (lambda: pd.DataFrame(columns=["Open", "High", "Low", "Close"]), "no bars"),
        (lambda: _goog().iloc[::-1], "timestamps must increase strictly"),
        (
            lambda: _goog().assign(Close=lambda d: d.Close.where(d.index != d.index[5])),
            "close at row 5",
        ),
        (lambda: _goog()[["Open", "Close"]], "lacks column\\(s\\) high, low"),
        (lambda: _goog().reset_index(drop=True), "index must hold datetimes"),
        (lambda: [1, 2, 3], "data must be gt.Bars or a pandas DataFrame"),
    ],
)
def test_bad_data_is_one_clear_line(data: Callable[[], object], message: str) -> None:
    with pytest.raises(gt.InvalidDataError, match=message) as info:
        gt.backtest(data(), "sma_cross")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fast": 20, "slow": 10}, gt.InvalidParameterError, "fast \\(20\\) must be smaller than slow"),
        ({"cash": -1}, gt.InvalidParameterError, "cash must be a positive amount"),
        ({"bogus": 1}, gt.InvalidParameterError, "unknown parameter 'bogus'"),
    ],
)
def test_bad_arguments_are_one_clear_line(
    kwargs: dict[str, object], error: type, message: str, goog: pd.DataFrame
) -> None:
    with pytest.raises(error, match=message):
        gt.backtest(goog, "sma_cross", **kwargs)
    assert issubclass(error, gt.GptTraderError)
