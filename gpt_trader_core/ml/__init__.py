"""Learn which strategy suits the market: causal features, forward targets, a ridge model per target,
walk-forward (purged) evaluation against naive baselines, and a heuristic fallback.

    from gpt_trader_core.ml import train_selector, predict
    selector = train_selector([bars_a, bars_b, ...], registry=REGISTRY, horizon=20, n_splits=5)
    print(selector.report.summary())            # out of sample vs "best in-sample" and equal weight
    rec = predict(selector, bars)                # or predict(None, bars): the heuristic
    rec.best, rec.ranking, rec.source
    record = selector.to_record("selector-v1")   # JSON-like ModelRecord for a ModelStore
    TrainedSelector.from_record(record, REGISTRY)

The strategy registry is handed in (``gt.train_strategy_selector`` passes the global one).

Modules: ``features`` (causal features, forward targets), ``ridge`` (the model), ``training``
(``train_selector`` and its walk-forward evaluation), ``selector`` (``TrainedSelector``, ``predict``),
``heuristic`` (the ranking without a model), ``results`` (reports and recommendations).
``StrategySelection`` (``gpt_trader_core.ml.service``) trains, saves and loads through a ``ModelStore``.
"""

from gpt_trader_core.ml.features import FEATURE_NAMES, FeatureMatrix, compute_features, compute_targets
from gpt_trader_core.ml.heuristic import heuristic_order
from gpt_trader_core.ml.results import (
    SelectionScore,
    SplitResult,
    StrategyRecommendation,
    StrategyScore,
    StrategySkill,
    TrainingReport,
)
from gpt_trader_core.ml.ridge import RidgeModel, fit_ridge
from gpt_trader_core.ml.selector import MODEL_KIND, TrainedSelector, predict, recommend_strategy
from gpt_trader_core.ml.service import StrategySelection
from gpt_trader_core.ml.training import DEFAULT_STRATEGIES, train_selector, walk_forward_splits

__all__ = [
    "DEFAULT_STRATEGIES",
    "FEATURE_NAMES",
    "MODEL_KIND",
    "FeatureMatrix",
    "RidgeModel",
    "SelectionScore",
    "SplitResult",
    "StrategyRecommendation",
    "StrategyScore",
    "StrategySelection",
    "StrategySkill",
    "TrainedSelector",
    "TrainingReport",
    "compute_features",
    "compute_targets",
    "fit_ridge",
    "heuristic_order",
    "predict",
    "recommend_strategy",
    "train_selector",
    "walk_forward_splits",
]
