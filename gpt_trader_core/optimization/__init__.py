"""The optimisation slice: search spaces, objectives, samplers (grid, random, TPE), trial evaluation
with shared indicators, ranking, heatmaps, and walk-forward analysis."""

from gpt_trader_core.optimization.objective import METRIC_ALIASES, Objective
from gpt_trader_core.optimization.runner import OptimizationResult, Trial, optimize
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.optimization.walk_forward import WalkForwardResult, walk_forward

__all__ = [
    "METRIC_ALIASES",
    "Objective",
    "OptimizationResult",
    "SearchSpace",
    "Trial",
    "WalkForwardResult",
    "optimize",
    "walk_forward",
]
