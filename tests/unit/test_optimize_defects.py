"""Regression tests for the optimisation defects of issue 11 (items 4, 5, 6, 12, 17 and the HTML repr)
and for memory-bounded grids. Each failed before its fix."""

from __future__ import annotations

import datetime as dt
import math
import time
import warnings
from typing import Any

import attrs
import numpy as np
import pytest

import gpt_trader_core as gt
from adapters.executor.local import InlineExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state import InMemoryStateStore
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError, NotFoundError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import Heatmap, search, search_ranked
from gpt_trader_core.optimization.samplers import GridSampler
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.services.backtest import MarketHistory, record_from_result
from gpt_trader_core.services.optimization import Optimizer, OptimizeRequest
from gpt_trader_core.services.retention import prune_backtests
from gpt_trader_core.strategy import REGISTRY

BARS = gt.synthetic("AAPL", "2015-01-01", "2020-12-31")


# --- 11.6: options done as asked or refused with the reason ----------------------------------------


@pytest.mark.parametrize("n_trials", [0, -1, -5])
def test_non_positive_trials_are_refused(n_trials: int) -> None:
    with pytest.raises(InvalidParameterError, match="whole number >= 1"):
        gt.optimize(BARS, "breakout", method="random", n_trials=n_trials)


def test_trials_with_a_grid_are_refused_not_ignored() -> None:
    with pytest.raises(InvalidParameterError, match="random and bayes"):
        gt.optimize(BARS, "breakout", n_trials=10)


def test_maximize_and_minimize_together_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="not both"):
        gt.optimize(BARS, "breakout", maximize="sharpe_ratio", minimize="max_drawdown_pct")


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_more_trials_than_points_runs_every_point_and_says_so(method: str) -> None:
    result = gt.optimize(BARS, "breakout", method=method, n_trials=60)
    assert len(result.trials) == result.total == 50  # breakout's declared space: 50 lookbacks
    assert result.notes and "only 50 valid points" in result.notes[0]
    exact = gt.optimize(BARS, "breakout", method=method, n_trials=30)
    assert len(exact.trials) == 30 and not exact.notes


# --- 11.4: size the search first; memory bounded whatever the grid -----------------------------------


async def test_a_search_above_the_limit_is_refused_before_any_work() -> None:
    store = InMemoryStateStore()
    await store.open()
    optimizer = Optimizer(MarketHistory(SyntheticMarketData()), REGISTRY, InlineExecutor(), store)
    space = {"lookback": list(range(2, 251)), "threshold": list(np.arange(0, 0.5, 1e-4))}
    huge = OptimizeRequest("AAPL", "momentum", space, max_trials=100_000)
    started = time.perf_counter()
    with pytest.raises(InvalidParameterError, match=r"1,245,000 trials, above the limit of 100,000.*--yes.*--trials"):
        await optimizer.run(huge)
    assert time.perf_counter() - started < 5
    assert await store.list_studies() == []  # nothing started, nothing stored


def test_a_huge_grid_is_generated_lazily() -> None:
    space = SearchSpace.build(
        REGISTRY.get_spec("momentum").cls, {"lookback": range(2, 251), "threshold": list(np.arange(0, 0.5, 1e-5))}
    )
    assert space.size() > 10_000_000
    started = time.perf_counter()
    sampler = GridSampler(space)
    first = sampler.ask([], 3)
    assert time.perf_counter() - started < 1.0  # no 12-million-element list built up front
    assert sampler.total == space.size() and [p["lookback"] for p in first] == [2, 2, 2]


async def test_non_adaptive_searches_keep_no_history() -> None:
    space = SearchSpace.build(REGISTRY.get_spec("breakout").cls, {"lookback": list(range(5, 50))})
    seen: list[int] = []

    class Spy(GridSampler):
        def ask(self, history: Any, n: int) -> list[dict[str, Any]]:
            seen.append(len(history))
            return super().ask(history, n)

    async def evaluate(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"sharpe_ratio": float(p["lookback"])} for p in params]

    trials = await search(space, Objective(), Spy(space), evaluate, batch_size=8)
    assert len(trials) == 45 and set(seen) == {0}


async def test_memory_holds_only_the_best_trials_when_bounded() -> None:
    space = SearchSpace.build(REGISTRY.get_spec("breakout").cls, {"lookback": list(range(5, 50))})

    async def evaluate(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"sharpe_ratio": float(p["lookback"] % 7)} for p in params]

    everything = await search(space, Objective(), GridSampler(space), evaluate, batch_size=4)
    bounded = await search_ranked(space, Objective(), GridSampler(space), evaluate, batch_size=4, keep=5)
    assert bounded.evaluated == len(everything) == 45
    assert [t.params for t in bounded.trials] == [t.params for t in everything[:5]]


# --- 11.5: walk-forward windows validated, no NaN-derived figures, no numpy warnings ---------------


@pytest.mark.parametrize("windows", [0, -1])
def test_walk_forward_refuses_no_windows(windows: int) -> None:
    with pytest.raises(InvalidParameterError, match="whole number >= 1"):
        gt.walk_forward(BARS, "breakout", lookback=[10, 20], n_windows=windows)


def test_walk_forward_refuses_windows_the_data_cannot_hold() -> None:
    with pytest.raises(InvalidDataError, match=r"cannot fit 1000 walk-forward windows.*at most \d+ windows"):
        gt.walk_forward(BARS, "breakout", lookback=[10, 20], n_windows=1000)


def test_walk_forward_reports_undefined_figures_as_such_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail the test
        wf = gt.walk_forward(BARS, "momentum", lookback=[10], threshold=[0.45], n_windows=4)  # never trades
    assert math.isnan(wf.degradation["walk_forward_efficiency"])
    text = repr(wf)
    assert "nan" not in text and "n/a" in text and "undefined" in text


# --- 11.17: heatmaps fit the terminal; 11.12 progress bar; the HTML repr ---------------------------


def test_heatmap_fit_merges_ranges_keeping_the_best_value() -> None:
    values = np.arange(6 * 100, dtype=float).reshape(6, 100)
    values[0, 0] = np.nan
    heat = Heatmap("x", "y", tuple(range(100)), tuple(range(6)), values)
    assert heat.fit(100, 40) is heat
    fitted = heat.fit(10, 3)
    assert fitted.values.shape == (3, 10) and fitted.x_values[0] == "0–9" and fitted.y_values[0] == "0–1"
    assert fitted.values[0, 0] == values[:2, :10][~np.isnan(values[:2, :10])].max()
    assert heat.fit(10, 3, maximize=False).values[0, 0] == 1.0


def test_progress_bar_first_frame_has_no_placeholder() -> None:
    from cleo.io.buffered_io import BufferedIO

    from entrypoints.cli.progress import OptimizationProgressBar
    from gpt_trader_core.optimization.runner import Progress

    io = BufferedIO()
    bar = OptimizationProgressBar(io)
    bar(Progress(0, 10, None, None, 0.0, None))
    bar(Progress(5, 10, 1.5, {"n": 3}, 0.1, 0.1))
    bar.interrupt()
    written = io.fetch_error()
    assert "%message%" not in written and "best 1.5000" in written and written.endswith("\n")


def test_optimization_result_has_an_html_repr() -> None:
    result = gt.optimize(BARS, "sma_cross", fast=[5, 10], slow=[20, 30, 40], commission=0.001)
    page = result._repr_html_()
    assert page.startswith("<div>") and "SYNTHETIC DATA" in page and "<table>" in page
    assert "slow \\ fast" in page and str(result.best_params["fast"]) in page


# --- 11.3: studies can be deleted; saved backtests pruned -------------------------------------------


async def test_deleting_a_study_removes_its_trials() -> None:
    store = InMemoryStateStore()
    await store.open()
    optimizer = Optimizer(MarketHistory(SyntheticMarketData()), REGISTRY, InlineExecutor(), store)
    result = await optimizer.run(OptimizeRequest("AAPL", "breakout", {"lookback": [10, 20, 30]}))
    assert result.study_id is not None
    study, trials = await optimizer.get_study(result.study_id)
    assert study.id == result.study_id and len(trials) == 3
    await optimizer.delete_study(result.study_id)
    assert await optimizer.list_studies() == []
    with pytest.raises(NotFoundError):
        await optimizer.get_study(result.study_id)
    with pytest.raises(NotFoundError):
        await optimizer.delete_study(result.study_id)


async def test_prune_backtests_by_age_and_count() -> None:
    store = InMemoryStateStore()
    await store.open()
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    result = gt.backtest(BARS, "sma_cross")
    for i in range(6):
        record = record_from_result(result, f"bt_{i}")
        await store.save_backtest(attrs.evolve(record, created_at=now - dt.timedelta(days=10 * i)))
    dry = await prune_backtests(store, older_than=dt.timedelta(days=25), now=now, dry_run=True)
    assert (dry.deleted, dry.kept) == (3, 3) and len(await store.list_backtests()) == 6
    done = await prune_backtests(store, older_than=dt.timedelta(days=25), keep=2, now=now)
    assert (done.deleted, done.kept) == (4, 2)
    assert [r.id for r in await store.list_backtests()] == ["bt_0", "bt_1"]
    with pytest.raises(InvalidParameterError, match="say what to prune"):
        await prune_backtests(store)
