"""Optimisation parity with backtesting.py's ``Backtest.optimize`` on its GOOG data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("backtesting")
from backtesting import Backtest
from backtesting.test import GOOG

import gpt_trader_core as gt
from tests.parity.test_backtesting_py_parity import SmaCross

GRID = {"n1": range(5, 30, 5), "n2": range(10, 70, 5)}


@pytest.fixture(scope="module")
def peer_heatmaps() -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
        out = {}
        for metric in ("Sharpe Ratio", "Return [%]"):
            stats, heat = bt.optimize(**GRID, constraint=lambda p: p.n1 < p.n2, maximize=metric,
                                      return_heatmap=True)  # fmt: skip
            out[metric] = (stats._strategy, heat)
    return out


def test_same_best_parameters_and_per_combination_values(peer_heatmaps: dict[str, object]) -> None:
    ours = gt.optimize(
        GOOG, "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5), maximize="sharpe_ratio",
        constraint=lambda p: p["fast"] < p["slow"], commission=0.002, cash=10_000,
    )  # fmt: skip
    assert len(ours.trials) == ours.total == 50
    peer_strategy, sharpe_heat = peer_heatmaps["Sharpe Ratio"]  # type: ignore[misc]
    assert ours.best_params == {"fast": peer_strategy.n1, "slow": peer_strategy.n2}
    _, return_heat = peer_heatmaps["Return [%]"]  # type: ignore[misc]
    by_params = {(t.params["fast"], t.params["slow"]): t for t in ours.trials}
    assert set(by_params) == set(return_heat.index)
    for (n1, n2), value in return_heat.items():
        np.testing.assert_allclose(by_params[(n1, n2)].stats["return_pct"], value, rtol=1e-9)
    for (n1, n2), value in sharpe_heat.items():
        np.testing.assert_allclose(by_params[(n1, n2)].value, value, rtol=1e-9)
