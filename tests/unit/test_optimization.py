"""The optimisation slice: spaces, samplers, ranking, heatmaps, progress, cancellation, walk-forward."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import gpt_trader_core as gt
from gpt_trader_core.errors import CancelledError, InvalidDataError, InvalidParameterError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import CancelToken, Progress
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.optimization.walk_forward import plan_windows
from gpt_trader_core.strategy.builtin import MeanReversion, SmaCross

BARS = gt.synthetic("OPT", "2012-01-01", "2021-12-31", seed=3)
GRID = {"fast": range(5, 30, 5), "slow": range(10, 70, 5)}


def fast_below_slow(p: dict[str, int]) -> bool:
    return p["fast"] < p["slow"]


def test_space_from_declared_ranges_and_overrides() -> None:
    space = SearchSpace.build(MeanReversion)
    assert space.values["period"][0] == 2 and space.values["num_std"][0] == 0.5
    space = SearchSpace.build(SmaCross, {"fast": [5, 10], "slow": 30})
    assert space.values == {"fast": (5, 10)} and space.fixed == {"slow": 30}
    assert list(space.grid()) == [{"fast": 5, "slow": 30}, {"fast": 10, "slow": 30}]
    with pytest.raises(InvalidParameterError, match="unknown parameter 'speed'"):
        SearchSpace.build(SmaCross, {"speed": [1]})
    with pytest.raises(InvalidParameterError, match="'fast' is 1, out of range"):
        SearchSpace.build(SmaCross, {"fast": [1, 2]})


def test_grid_respects_the_constraint_and_the_strategy_check() -> None:
    space = SearchSpace.build(SmaCross, GRID)  # sma_cross itself refuses fast >= slow
    assert space.size() == 60 and len(list(space.grid())) == 50
    assert all(p["fast"] < p["slow"] for p in space.grid())


def test_grid_ranks_every_combination_and_the_heatmap_holds_them() -> None:
    result = gt.optimize(BARS, "sma_cross", **GRID, constraint=fast_below_slow, commission=0.001)
    assert len(result.trials) == result.total == 50
    values = [t.value for t in result.trials]
    assert values == sorted(values, key=lambda v: -math.inf if math.isnan(v) else v, reverse=True)
    check = gt.backtest(BARS, "sma_cross", commission=0.001, **result.best_params)
    assert check.stats["sharpe_ratio"] == pytest.approx(result.best.value, rel=1e-12)
    heat = result.heatmap("fast", "slow")
    assert heat.values.shape == (12, 5)
    assert np.nanmax(heat.values) == pytest.approx(result.best.value)
    assert np.isnan(heat.values[0, -1])  # fast 25, slow 10: not allowed
    assert result.table(3)[0]["rank"] == 1 and "SYNTHETIC" in repr(result)


def test_minimise_and_callable_objectives() -> None:
    lowest_dd = gt.optimize(BARS, "breakout", lookback=[10, 20, 40], minimize="max_drawdown_pct")
    assert lowest_dd.objective.maximize is False
    assert lowest_dd.best.value == min(t.value for t in lowest_dd.trials)
    custom = gt.optimize(BARS, "breakout", lookback=[10, 20, 40], maximize=lambda s: -s["num_trades"])
    assert custom.best.stats["num_trades"] == min(t.stats["num_trades"] for t in custom.trials)
    with pytest.raises(InvalidParameterError, match="unknown objective 'happiness'"):
        gt.optimize(BARS, "breakout", maximize="happiness")


def test_random_and_bayes_are_seeded_and_find_good_points() -> None:
    space = {"fast": range(2, 60), "slow": range(10, 200, 5)}
    a = gt.optimize(BARS, "sma_cross", **space, method="random", n_trials=40, seed=7, constraint=fast_below_slow)
    b = gt.optimize(BARS, "sma_cross", **space, method="random", n_trials=40, seed=7, constraint=fast_below_slow)
    assert [t.params for t in a.trials] == [t.params for t in b.trials] and len(a.trials) == 40
    bayes = gt.optimize(BARS, "sma_cross", **space, method="bayes", n_trials=40, seed=7, constraint=fast_below_slow)
    again = gt.optimize(BARS, "sma_cross", **space, method="bayes", n_trials=40, seed=7, constraint=fast_below_slow)
    assert [t.params for t in bayes.trials] == [t.params for t in again.trials]
    assert len({tuple(t.params.items()) for t in bayes.trials}) == 40
    grid = gt.optimize(BARS, "sma_cross", **space, constraint=fast_below_slow)
    rank_of_bayes_best = [t.params for t in grid.trials].index(bayes.best_params)
    assert rank_of_bayes_best < len(grid.trials) * 0.1  # TPE's best is in the grid's top 10 %


def test_progress_reports_and_cancellation_stops() -> None:
    seen: list[Progress] = []
    gt.optimize(BARS, "sma_cross", **GRID, constraint=fast_below_slow, progress=seen.append)
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == 50
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))
    token = CancelToken()

    def cancel_early(p: Progress) -> None:
        if p.done >= 10:
            token.cancel()

    from gpt_trader_core.optimization.runner import optimize as run

    with pytest.raises(CancelledError, match="cancelled after"):
        run(
            BARS,
            SmaCross,
            {"fast": range(2, 50), "slow": range(10, 200, 2)},
            progress=cancel_early,
            cancel=token,
            objective=Objective(),
        )


def test_walk_forward_windows_and_report() -> None:
    plan = plan_windows(1000, 4, None, None, anchored=False)
    assert plan[0] == ((0, 432), (432, 574)) and plan[-1][1] == (858, 1000)
    anchored = plan_windows(1000, 4, None, None, anchored=True)
    assert all(train[0] == 0 for train, _ in anchored)
    with pytest.raises(InvalidDataError, match="cannot fit"):
        plan_windows(10, 5, None, None, anchored=False)
    wf = gt.walk_forward(BARS, "sma_cross", **GRID, constraint=fast_below_slow, n_windows=4, commission=0.001)
    assert len(wf.windows) == 4 and len(wf.equity) == sum(w.test[1] - w.test[0] for w in wf.windows)
    assert wf.equity[0] == pytest.approx(10_000, rel=0.05)
    for window in wf.windows:
        assert window.train[1] == window.test[0]  # out-of-sample starts where training ends
        assert fast_below_slow(dict(window.best_params))
    assert set(wf.parameter_stability) == {"fast", "slow"}
    assert {"in_sample_mean", "out_of_sample_mean", "walk_forward_efficiency"} <= set(wf.degradation)
    assert "4 rolling windows" in repr(wf)


def test_out_of_sample_trading_is_causal() -> None:
    """Changing the prices after a test window cannot change that window's result."""
    wf = gt.walk_forward(BARS, "breakout", lookback=[10, 20, 40], n_windows=3)
    cut = wf.windows[1].test[1]
    factor = np.r_[np.ones(cut), np.full(len(BARS) - cut, 1.5)]
    tampered = gt.Bars(
        BARS.timestamps,
        BARS.open * factor,
        BARS.high * factor,
        BARS.low * factor,
        BARS.close * factor,
        BARS.volume,
        symbol="OPT",
    )
    again = gt.walk_forward(tampered, "breakout", lookback=[10, 20, 40], n_windows=3)
    for before, after in zip(wf.windows[:2], again.windows[:2], strict=True):
        assert before.best_params == after.best_params
        assert before.out_of_sample_stats["return_pct"] == pytest.approx(after.out_of_sample_stats["return_pct"])
