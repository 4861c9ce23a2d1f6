"""A walk-forward window's chunk job sends back full statistics for its best set only."""

from __future__ import annotations

import math

from adapters.market_data.synthetic import SyntheticMarketData
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.optimization.evaluate import evaluate_batch
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.walk_forward import evaluate_for_window
from gpt_trader_core.strategy import REGISTRY

SETS = [{"fast": f, "slow": s} for f in (5, 10, 15) for s in (30, 60)]


def test_only_the_best_set_of_a_chunk_keeps_every_statistic() -> None:
    bars = SyntheticMarketData(seed=4).history("AAPL", "2019-01-01", "2021-12-31")
    strategy = REGISTRY.get_spec("sma_cross").cls
    full = evaluate_batch(bars, strategy, SETS, BacktestConfig())
    for objective in (Objective.of("sharpe"), Objective.of("max_drawdown_pct", maximize=False)):
        rows = evaluate_for_window(bars, strategy, SETS, BacktestConfig(), objective)
        keys = [(objective.rank_key(objective.value(s)), -i) for i, s in enumerate(full)]
        best = keys.index(max(keys))
        assert rows[best] == full[best]
        for i, row in enumerate(rows):
            if i != best:
                assert row == {objective.metric: full[i][objective.metric]}
                assert math.isnan(objective.value(row)) == math.isnan(objective.value(full[i]))


def test_an_objective_computed_by_a_function_gets_every_statistic() -> None:
    bars = SyntheticMarketData(seed=4).history("AAPL", "2019-01-01", "2021-12-31")
    strategy = REGISTRY.get_spec("sma_cross").cls
    objective = Objective.of(lambda stats: stats["return_pct"] - stats["max_drawdown_pct"])
    assert objective.function is not None
    rows = evaluate_for_window(bars, strategy, SETS, BacktestConfig(), objective)
    assert rows == evaluate_batch(bars, strategy, SETS, BacktestConfig())


def test_equal_values_keep_the_first_set_of_the_chunk() -> None:
    bars = SyntheticMarketData(seed=4).history("AAPL", "2019-01-01", "2021-12-31")
    strategy = REGISTRY.get_spec("sma_cross").cls
    same = [{"fast": 10, "slow": 30}] * 3
    rows = evaluate_for_window(bars, strategy, same, BacktestConfig(), Objective.of("sharpe"))
    assert len(rows[0]) > 1 and all(len(row) == 1 for row in rows[1:])
