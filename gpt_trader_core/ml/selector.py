"""A trained strategy selector (``TrainedSelector``, saved as a ``ModelRecord``) and ``predict``: rank the
strategies for the bars after the last one, with a model or the heuristic (``ml.heuristic``).
Training and its evaluation: ``ml.training``.

Confidence (0..1) of a model prediction for strategy ``s``::

    confidence_s = skill_s * erf(|pred_sharpe_s - mean_sharpe_s| / (sqrt(2) * spread_s))
    skill_s      = clip(2 * direction_hit_s - 1, 0, 1)

``mean_sharpe_s`` is the training mean of the forward Sharpe (the no-information prediction);
``direction_hit_s`` is the share of test rows where the prediction and the outcome fell on the same side
of that mean (out of sample, over all walk-forward splits), and ``spread_s`` the root-mean-square
deviation of the shipped model's predictions from it over the training rows. ``skill_s`` is the model's
edge over a coin on the direction (0 without out-of-sample skill, 1 when always right; ``2h - 1`` is the
edge of an even-money bet won with probability ``h``); the ``erf`` term is how far this prediction stands
out among the model's predictions (0 at the mean, 0.68 at one typical deviation). So a confidence never
exceeds the model's demonstrated skill. Out-of-sample R² and residual errors are reported in
``TrainingReport.per_strategy`` too.
"""

from __future__ import annotations

import datetime as dt
import math

import attrs
import numpy as np

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.records import ModelRecord
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.ml.features import as_strategies, feature_names
from gpt_trader_core.ml.heuristic import heuristic_recommendation, last_row
from gpt_trader_core.ml.results import StrategyRecommendation, StrategyScore, TrainingReport
from gpt_trader_core.ml.ridge import FloatArray, RidgeModel, readonly
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry

#: ``ModelRecord.kind`` of a saved selector.
MODEL_KIND = "strategy_selector"
#: Version of the saved payload's layout.
FORMAT_VERSION = 1


@attrs.frozen(eq=False)
class TrainedSelector:
    """A fitted strategy selector. ``model`` predicts ``[return_s for s in strategies] + [sharpe_s ...]``.

    ``skill`` and ``spread`` (per strategy) come from the walk-forward evaluation and drive the confidence
    (module docstring).
    """

    strategies: tuple[str, ...]
    feature_names: tuple[str, ...]
    horizon: int
    timeframe: str
    cost: float
    model: RidgeModel
    skill: FloatArray = attrs.field(converter=readonly)
    spread: FloatArray = attrs.field(converter=readonly)
    report: TrainingReport
    trained_at: dt.datetime
    #: The ``strategies`` as instances with default parameters (resolved once, by the registry given to
    #: ``train_selector`` or ``from_record``): predictions compute their state features.
    instances: tuple[Strategy, ...] = attrs.field(repr=False)

    def __attrs_post_init__(self) -> None:
        s = len(self.strategies)
        if tuple(strategy.name for strategy in self.instances) != self.strategies:
            raise InvalidDataError(
                f"inconsistent selector: instances of {[i.name for i in self.instances]} for {list(self.strategies)}"
            )
        if self.model.n_targets != 2 * s or self.skill.shape != (s,) or self.spread.shape != (s,):
            raise InvalidDataError(
                f"inconsistent selector: {s} strategies, {self.model.n_targets} targets, "
                f"skill {self.skill.shape}, spread {self.spread.shape}"
            )
        if self.model.n_features != len(self.feature_names):
            raise InvalidDataError(
                f"inconsistent selector: {len(self.feature_names)} feature names for {self.model.n_features} "
                "model features"
            )

    def predict(self, bars: Bars) -> StrategyRecommendation:
        return predict(self, bars)

    def to_record(self, name: str) -> ModelRecord:
        """A ``ModelRecord`` (JSON-like payload, no pickle) to save in a ``ModelStore``."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameterError(f"a model name must be a non-empty string, got {name!r}")
        return ModelRecord(
            name=name,
            kind=MODEL_KIND,
            created_at=self.trained_at,
            params={
                "strategies": list(self.strategies),
                "horizon": self.horizon,
                "timeframe": self.timeframe,
                "cost": self.cost,
                "alpha": self.model.alpha,
                "n_splits": len(self.report.splits),
            },
            payload={
                "format": FORMAT_VERSION,
                "strategies": list(self.strategies),
                "feature_names": list(self.feature_names),
                "horizon": self.horizon,
                "timeframe": self.timeframe,
                "cost": self.cost,
                "ridge": self.model.to_payload(),
                "skill": self.skill.tolist(),
                "spread": self.spread.tolist(),
            },
            metrics=self.report.to_dict(),
        )

    @classmethod
    def from_record(cls, record: ModelRecord, registry: StrategyRegistry) -> TrainedSelector:
        """The selector saved in ``record``; its strategies are resolved in ``registry``."""
        if record.kind != MODEL_KIND:
            raise InvalidDataError(f"model {record.name!r} is a {record.kind!r}, not a {MODEL_KIND}")
        payload = record.payload
        try:
            if payload["format"] != FORMAT_VERSION:
                raise InvalidDataError(
                    f"model {record.name!r} has payload format {payload['format']!r}; this gpt-trader reads "
                    f"format {FORMAT_VERSION}: retrain it"
                )
            strategies = tuple(str(s) for s in payload["strategies"])
            names = tuple(str(n) for n in payload["feature_names"])
            if names != feature_names(strategies):
                raise InvalidDataError(
                    f"model {record.name!r} was trained on other features ({len(names)} columns) than this "
                    "gpt-trader computes: retrain it"
                )
            return cls(
                strategies=strategies,
                feature_names=names,
                horizon=int(payload["horizon"]),
                timeframe=str(payload["timeframe"]),
                cost=float(payload["cost"]),
                model=RidgeModel.from_payload(payload["ridge"]),
                skill=payload["skill"],
                spread=payload["spread"],
                report=TrainingReport.from_dict(record.metrics),
                trained_at=record.created_at,
                instances=tuple(as_strategies(strategies, registry)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"model {record.name!r} has a broken payload ({type(exc).__name__}: {exc}): retrain it"
            ) from None


def _model_recommendation(selector: TrainedSelector, bars: Bars) -> StrategyRecommendation:
    if bars.timeframe != selector.timeframe:
        raise InvalidDataError(
            f"{bars.symbol}: the model was trained on {selector.timeframe} bars, got {bars.timeframe} bars; "
            f"resample the data or train a model on {bars.timeframe}"
        )
    features, row = last_row(bars, selector.instances)
    s = len(selector.strategies)
    predicted = selector.model.predict(row[None, :])[0]
    mean_sharpe = selector.model.intercept[s:]
    sigma = np.maximum(selector.spread, 1e-12)
    confidence = [
        float(selector.skill[i] * math.erf(abs(predicted[s + i] - mean_sharpe[i]) / (math.sqrt(2.0) * sigma[i])))
        for i in range(s)
    ]
    scores = [
        StrategyScore(name, float(predicted[i]), float(predicted[s + i]), confidence[i])
        for i, name in enumerate(selector.strategies)
    ]
    order = sorted(range(s), key=lambda i: (-predicted[s + i], i))
    ranking = tuple(scores[i] for i in order)
    top = ranking[0]
    return StrategyRecommendation(
        symbol=bars.symbol,
        as_of=bars.end,
        horizon=selector.horizon,
        source="model",
        regime=features.regimes[-1],
        ranking=ranking,
        stay_flat=top.expected_sharpe is not None and top.expected_sharpe < 0,
        reason=(
            f"model: {top.strategy} has the best predicted Sharpe over the next {selector.horizon} bars "
            f"({top.expected_sharpe:+.2f}, confidence {top.confidence:.2f}); regime {features.regimes[-1]}"
        ),
    )


def predict(selector: TrainedSelector | None, bars: Bars) -> StrategyRecommendation:
    """Rank the strategies for the bars after the last of ``bars``.

    With a ``TrainedSelector``: by predicted forward Sharpe (``source="model"``). With ``None``: the
    documented heuristic (``source="heuristic"``, lower confidence, no return estimates).
    """
    if selector is None:
        return heuristic_recommendation(bars)
    if not isinstance(selector, TrainedSelector):
        raise InvalidParameterError(f"selector must be a TrainedSelector or None, got {type(selector).__name__}")
    return _model_recommendation(selector, bars)


def recommend_strategy(bars: Bars, selector: TrainedSelector | None = None) -> StrategyRecommendation:
    """``predict(selector, bars)`` with the bars first: ``gt.recommend_strategy(bars)`` uses the heuristic."""
    return predict(selector, bars)
