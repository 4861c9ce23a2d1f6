"""Learn which strategy suits the market: ``train_selector`` (walk-forward, purged) and ``predict``.

Training
--------
Rows are bars ``t`` of every symbol with all features defined (``features.compute_features``) and a whole
forward window ``(t, t + horizon]`` inside the data. Targets per strategy are its forward return and
forward Sharpe (``features.compute_targets``). One ridge regression (``model.fit_ridge``) predicts all
``2 × strategies`` targets from the standardised features.

Penalty. ``alpha=None`` (default) chooses the ridge penalty from ``ALPHA_GRID`` inside each training set:
the last 20 % of its timeline (purged like below) validates a fit on the rest, and the penalty whose picks
earn the highest mean forward return there wins (the objective the selector is judged on). When the
features do not help, that is the largest penalty, and the picks become the naive baseline's. The shipped
model's penalty is chosen the same way on all rows.

Walk-forward evaluation (expanding window, purged). The distinct timestamps of all rows (pooled over
symbols) are cut into ``n_splits + 1`` equal chunks; split ``k`` tests on chunk ``k + 1`` and trains on every
row whose target window ends *before* the test chunk starts: row ``t`` of a symbol trains only if
``t + horizon < a``, where ``a`` is that symbol's first bar in the test chunk (a purge of ``horizon`` bars, so no
training target overlaps the test window). Per test row the model *picks* the strategy with the highest
predicted forward Sharpe; its realised forward return is compared with:

- ``naive``: always the strategy with the best mean forward Sharpe over the training rows (exactly what
  the model would pick if it ignored the features: its intercept);
- ``equal_weight``: the mean forward return of all strategies;
- ``oracle``: the realised best strategy (an upper bound, for scale).

Scores (``SelectionScore``): ``mean_return`` = mean forward return per decision (all test rows);
``sharpe`` = annualised Sharpe of the per-decision returns when deciding every ``horizon`` bars (non-
overlapping windows, pooled over symbols: ``mean / std * sqrt(periods_per_year / horizon)``);
``hit_rate`` = share of decisions whose pick was the realised best strategy (chance: ``1 / strategies``).
After the evaluation the shipped model is refitted on all rows.

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

Heuristic fallback (``predict(None, bars)``)
-------------------------------------------
Without a trained model the ranking follows the regime of the last bar (``detect_regime``, rules):

=====================  ==========================================================================
regime                 ranking (best first)
=====================  ==========================================================================
``crisis``             volatility, mean_reversion, breakout, momentum, sma_cross — and ``stay_flat``
``bull/bear_quiet``    sma_cross, breakout, momentum, volatility, mean_reversion (trend, calm)
``bull/bear_volatile`` volatility, breakout, momentum, sma_cross, mean_reversion (trend, high vol)
``sideways_quiet``     mean_reversion, volatility, breakout, sma_cross, momentum
``sideways_volatile``  volatility, mean_reversion, breakout, momentum, sma_cross
=====================  ==========================================================================

In a trending regime whose 60-bar trend t-statistic is weak (``|trend_t_60| < 3``; the statistic ignores
the autocorrelation of the residuals, so it runs large: its median is about 8 on synthetic daily data)
``volatility`` moves to the top. The heuristic is not validated, so its confidence stays below any model's
with a modest out-of-sample edge: ``0.02 × stability × (1 - 0.2 × rank)``, where stability is the share of
the last 20 bars in the current regime (at most 0.02). No return or Sharpe is estimated (``None``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.records import ModelRecord, utcnow
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.ml.features import (
    FEATURE_NAMES,
    REGIME_NAMES,
    WARMUP_BARS,
    FeatureMatrix,
    as_strategies,
    compute_features,
    compute_targets,
    feature_names,
    periods_per_year,
)
from gpt_trader_core.ml.model import FloatArray, RidgeModel, check_alpha, fit_ridge_path
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry

#: ``ModelRecord.kind`` of a saved selector.
MODEL_KIND = "strategy_selector"
#: Version of the saved payload's layout.
FORMAT_VERSION = 1
DEFAULT_STRATEGIES: tuple[str, ...] = ("sma_cross", "momentum", "mean_reversion", "volatility", "breakout")
HEURISTIC_MAX_CONFIDENCE = 0.02
_STABILITY_BARS = 20
_WEAK_TREND_T = 3.0
DEFAULT_HORIZON = 20
#: Ridge penalties tried by the inner validation when ``alpha`` is not fixed; 1e6 all but ignores the
#: features (its picks are the naive "best in-sample" strategy's).
ALPHA_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 1e6)
FALLBACK_ALPHA = 10.0
_VALIDATION_FRACTION = 0.2

Source = Literal["model", "heuristic"]


# -- results -------------------------------------------------------------------------------------------


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


@attrs.frozen
class SelectionScore:
    """Out-of-sample result of one way of choosing (see the module docstring)."""

    mean_return: float
    sharpe: float
    hit_rate: float | None
    decisions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean_return": self.mean_return,
            "sharpe": self.sharpe,
            "hit_rate": self.hit_rate,
            "decisions": self.decisions,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SelectionScore:
        return cls(
            float(data["mean_return"]),
            float(data["sharpe"]),
            _float_or_none(data["hit_rate"]),
            int(data["decisions"]),
        )


_APPROACHES = ("model", "naive", "equal_weight", "oracle")


@attrs.frozen
class SplitResult:
    """One walk-forward split: what it trained on, what it tested on, and the scores.

    ``beat_naive_rate``: of the decisions where the model picked another strategy than the naive baseline,
    the share where the model's pick returned more (NaN when they always agreed).
    """

    index: int
    train_rows: int
    test_rows: int
    train_end: dt.datetime  # the last bar any training target used
    test_start: dt.datetime
    test_end: dt.datetime  # the last bar of the test chunk
    naive_strategy: str
    alpha: float
    scores: Mapping[str, SelectionScore]
    beat_naive_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "train_end": self.train_end,
            "test_start": self.test_start,
            "test_end": self.test_end,
            "naive_strategy": self.naive_strategy,
            "alpha": self.alpha,
            "scores": {name: score.to_dict() for name, score in self.scores.items()},
            "beat_naive_rate": self.beat_naive_rate,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitResult:
        return cls(
            index=int(data["index"]),
            train_rows=int(data["train_rows"]),
            test_rows=int(data["test_rows"]),
            train_end=data["train_end"],
            test_start=data["test_start"],
            test_end=data["test_end"],
            naive_strategy=str(data["naive_strategy"]),
            alpha=float(data["alpha"]),
            scores={name: SelectionScore.from_dict(s) for name, s in data["scores"].items()},
            beat_naive_rate=float(data["beat_naive_rate"]),
        )


@attrs.frozen
class StrategySkill:
    """Out-of-sample accuracy of one strategy's predictions, pooled over the walk-forward splits.

    ``r2_*`` are out-of-sample R² against the training mean (negative: worse than the mean);
    ``direction_hit`` is the share of rows where prediction and outcome fell on the same side of the training
    mean; ``residual_std_*`` the root-mean-square errors; ``prediction_spread`` the root-mean-square deviation
    of the Sharpe predictions from the training mean.
    """

    r2_return: float
    r2_sharpe: float
    direction_hit: float
    residual_std_return: float
    residual_std_sharpe: float
    prediction_spread: float

    @property
    def skill(self) -> float:
        """``clip(2 * direction_hit - 1, 0, 1)``: the confidence factor of this strategy's predictions."""
        return float(min(1.0, max(0.0, 2.0 * self.direction_hit - 1.0)))

    def to_dict(self) -> dict[str, float]:
        return {
            "r2_return": self.r2_return,
            "r2_sharpe": self.r2_sharpe,
            "direction_hit": self.direction_hit,
            "residual_std_return": self.residual_std_return,
            "residual_std_sharpe": self.residual_std_sharpe,
            "prediction_spread": self.prediction_spread,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StrategySkill:
        return cls(**{field.name: float(data[field.name]) for field in attrs.fields(cls)})


@attrs.frozen
class TrainingReport:
    """The walk-forward evaluation: per split, pooled over all splits (``overall``), and per strategy."""

    horizon: int
    splits: tuple[SplitResult, ...]
    overall: Mapping[str, SelectionScore]
    overall_beat_naive_rate: float
    per_strategy: Mapping[str, StrategySkill]
    rows: int
    symbols: tuple[str, ...]
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "splits": [split.to_dict() for split in self.splits],
            "overall": {name: score.to_dict() for name, score in self.overall.items()},
            "overall_beat_naive_rate": self.overall_beat_naive_rate,
            "per_strategy": {name: skill.to_dict() for name, skill in self.per_strategy.items()},
            "rows": self.rows,
            "symbols": list(self.symbols),
            "elapsed": self.elapsed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingReport:
        return cls(
            horizon=int(data["horizon"]),
            splits=tuple(SplitResult.from_dict(s) for s in data["splits"]),
            overall={name: SelectionScore.from_dict(s) for name, s in data["overall"].items()},
            overall_beat_naive_rate=float(data["overall_beat_naive_rate"]),
            per_strategy={name: StrategySkill.from_dict(s) for name, s in data["per_strategy"].items()},
            rows=int(data["rows"]),
            symbols=tuple(str(s) for s in data["symbols"]),
            elapsed=float(data["elapsed"]),
        )

    def summary(self) -> str:
        """A few lines of text: the pooled out-of-sample scores of every approach."""
        lines = [f"walk-forward, {len(self.splits)} splits, horizon {self.horizon} bars, {self.rows} rows"]
        for name in _APPROACHES:
            s = self.overall[name]
            hit = "" if s.hit_rate is None else f"  hit rate {s.hit_rate:6.1%}"
            lines.append(f"  {name:<13} mean fwd return {s.mean_return:+.4%}  Sharpe {s.sharpe:+.2f}{hit}")
        lines.append(f"  model beat naive in {self.overall_beat_naive_rate:.1%} of the decisions where they differed")
        return "\n".join(lines)


@attrs.frozen
class StrategyScore:
    """One strategy in a recommendation: ``expected_return`` over the next ``horizon`` bars (constant capital)
    and annualised ``expected_sharpe`` (``None`` from the heuristic), ``confidence`` in [0, 1]."""

    strategy: str
    expected_return: float | None
    expected_sharpe: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "expected_return": self.expected_return,
            "expected_sharpe": self.expected_sharpe,
            "confidence": self.confidence,
        }


@attrs.frozen
class StrategyRecommendation:
    """Strategies ranked for the next ``horizon`` bars of ``symbol`` after ``as_of`` (best first).

    ``source`` says whether a trained model or the heuristic ranked them; ``stay_flat`` advises holding no
    position at all (the heuristic in a crisis; a model when even the best predicted Sharpe is negative);
    ``reason`` is one line on why.
    """

    symbol: str
    as_of: dt.datetime
    horizon: int
    source: Source
    regime: str
    ranking: tuple[StrategyScore, ...]
    stay_flat: bool
    reason: str

    @property
    def best(self) -> str:
        return self.ranking[0].strategy

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "as_of": self.as_of,
            "horizon": self.horizon,
            "source": self.source,
            "regime": self.regime,
            "best": self.best,
            "stay_flat": self.stay_flat,
            "reason": self.reason,
            "ranking": [score.to_dict() for score in self.ranking],
        }


# -- the trained selector --------------------------------------------------------------------------------


def _array(values: Any) -> FloatArray:
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


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
    skill: FloatArray = attrs.field(converter=_array)
    spread: FloatArray = attrs.field(converter=_array)
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


# -- training ------------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, low: int, high: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise InvalidParameterError(f"{name} must be an integer in [{low}, {high}] such as {example}, got {value!r}")
    return int(value)


def _check_cost(cost: object) -> float:
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or not 0 <= cost < 0.1:
        raise InvalidParameterError(f"cost must be a fraction in [0, 0.1) such as 0.0005 (5 bps), got {cost!r}")
    return float(cost)


def _check_strategies(strategies: Sequence[str], registry: StrategyRegistry) -> tuple[str, ...]:
    if isinstance(strategies, str) or not isinstance(strategies, Sequence):
        raise InvalidParameterError(f"strategies must be a list of strategy names, got {strategies!r}")
    names = tuple(strategies)
    for name in names:
        registry.get_spec(name)  # UnknownStrategyError names the available ones
    if len(names) < 2 or len(set(names)) != len(names):
        raise InvalidParameterError(f"strategies must be at least two distinct names, got {list(names)}")
    return names


@attrs.frozen(eq=False)
class _SymbolData:
    symbol: str
    timestamps: NDArray[np.datetime64]
    x: FloatArray
    returns: FloatArray
    sharpe: FloatArray
    eligible: NDArray[np.bool_]


def _symbol_data(
    bars: Bars,
    strategies: Sequence[str | Strategy],
    horizon: int,
    cost: float,
    registry: StrategyRegistry | None = None,
) -> _SymbolData:
    need = WARMUP_BARS + horizon
    if len(bars) < need:
        raise InvalidDataError(
            f"{bars.symbol}: {len(bars)} bars are too few to train with horizon={horizon}: need at least {need} "
            f"({WARMUP_BARS} for the features and {horizon} for the forward window), and many more for the splits"
        )
    features = compute_features(bars, strategies, registry)
    targets = compute_targets(bars, strategies, horizon, cost, registry)
    eligible = features.valid & np.isfinite(targets.returns).all(axis=1) & np.isfinite(targets.sharpe).all(axis=1)
    return _SymbolData(bars.symbol, bars.timestamps, features.values, targets.returns, targets.sharpe, eligible)


@attrs.frozen(eq=False)
class Split:
    """One walk-forward split: per symbol, the row indices it trains and tests on.

    Test rows have timestamps in ``[test_start, test_end)`` (``test_end`` None: to the end); training rows
    satisfy ``t + horizon < first test bar`` of their symbol, so their target windows end before the test.
    """

    index: int
    test_start: np.datetime64
    test_end: np.datetime64 | None
    train_rows: tuple[NDArray[np.intp], ...]
    test_rows: tuple[NDArray[np.intp], ...]


def walk_forward_splits(
    timestamps: Sequence[NDArray[np.datetime64]],
    eligible: Sequence[NDArray[np.bool_]],
    horizon: int,
    n_splits: int,
) -> list[Split]:
    """Expanding-window, purged splits over the pooled timeline (module docstring)."""
    pooled = np.unique(np.concatenate([ts[mask] for ts, mask in zip(timestamps, eligible, strict=True)]))
    chunks = n_splits + 1
    if len(pooled) < chunks:
        raise InvalidDataError(
            f"too little data for n_splits={n_splits}: {len(pooled)} distinct training times; "
            "give longer histories or fewer splits"
        )
    bounds = [pooled[(k * len(pooled)) // chunks] for k in range(1, chunks)]
    splits = []
    for k, start in enumerate(bounds):
        end = bounds[k + 1] if k + 1 < len(bounds) else None
        train, test = [], []
        for ts, mask in zip(timestamps, eligible, strict=True):
            index = np.arange(len(ts))
            first_test = int(np.searchsorted(ts, start, side="left"))
            in_test = ts >= start if end is None else (ts >= start) & (ts < end)
            train.append(np.flatnonzero(mask & (index + horizon < first_test)))
            test.append(np.flatnonzero(mask & in_test))
        splits.append(Split(k, start, end, tuple(train), tuple(test)))
    return splits


def _sharpe(values: FloatArray, scale: float) -> float:
    if len(values) < 2:
        return math.nan
    std = float(values.std())
    return float(values.mean() / std * scale) if std > 1e-12 else 0.0


def _score(
    returns: FloatArray, spaced: NDArray[np.bool_], hits: NDArray[np.bool_] | None, scale: float
) -> SelectionScore:
    return SelectionScore(
        mean_return=float(returns.mean()) if len(returns) else math.nan,
        sharpe=_sharpe(returns[spaced], scale),
        hit_rate=None if hits is None else (float(hits.mean()) if len(hits) else math.nan),
        decisions=len(returns),
    )


@attrs.frozen(eq=False)
class _Outcome:
    """Test rows of one split (or of all), stacked over symbols."""

    realised: FloatArray  # (rows, S) forward returns
    realised_sharpe: FloatArray  # (rows, S)
    predicted: FloatArray  # (rows, 2S)
    intercept: FloatArray  # (rows, 2S): the training means the split's model started from
    naive: NDArray[np.intp]  # (rows,) the naive pick
    spaced: NDArray[np.bool_]  # (rows,) decisions every `horizon` bars

    @staticmethod
    def concat(parts: Sequence[_Outcome]) -> _Outcome:
        return _Outcome(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(_Outcome)))


def _evaluate(outcome: _Outcome, n_strategies: int, scale: float) -> tuple[dict[str, SelectionScore], float]:
    rows = np.arange(len(outcome.realised))
    pick = np.argmax(outcome.predicted[:, n_strategies:], axis=1)
    best = np.argmax(outcome.realised, axis=1)
    model_ret = outcome.realised[rows, pick]
    naive_ret = outcome.realised[rows, outcome.naive]
    scores = {
        "model": _score(model_ret, outcome.spaced, pick == best, scale),
        "naive": _score(naive_ret, outcome.spaced, outcome.naive == best, scale),
        "equal_weight": _score(outcome.realised.mean(axis=1), outcome.spaced, None, scale),
        "oracle": _score(outcome.realised[rows, best], outcome.spaced, None, scale),
    }
    differ = pick != outcome.naive
    beat = float((model_ret[differ] > naive_ret[differ]).mean()) if differ.any() else math.nan
    return scores, beat


def _skills(outcome: _Outcome, strategies: tuple[str, ...]) -> dict[str, StrategySkill]:
    s = len(strategies)
    actual = np.concatenate([outcome.realised, outcome.realised_sharpe], axis=1)
    error = actual - outcome.predicted
    rmse = np.sqrt((error**2).mean(axis=0))
    sst = ((actual - outcome.intercept) ** 2).sum(axis=0)
    sse = (error**2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - sse / sst, 0.0)
    same_side = np.sign(outcome.predicted - outcome.intercept) == np.sign(actual - outcome.intercept)
    hit = same_side.mean(axis=0)
    spread = np.sqrt(((outcome.predicted - outcome.intercept) ** 2).mean(axis=0))
    return {
        name: StrategySkill(
            r2_return=float(r2[i]),
            r2_sharpe=float(r2[s + i]),
            direction_hit=float(hit[s + i]),
            residual_std_return=float(rmse[i]),
            residual_std_sharpe=float(rmse[s + i]),
            prediction_spread=float(spread[s + i]),
        )
        for i, name in enumerate(strategies)
    }


def _stack(data: Sequence[_SymbolData], rows: Sequence[NDArray[np.intp]]) -> tuple[FloatArray, FloatArray]:
    """Features and targets (forward returns, then forward Sharpes) of the given rows of every symbol."""
    x = np.concatenate([d.x[r] for d, r in zip(data, rows, strict=True)])
    y = np.concatenate([np.concatenate([d.returns[r], d.sharpe[r]], axis=1) for d, r in zip(data, rows, strict=True)])
    return x, y


def _purged_holdout(
    data: Sequence[_SymbolData], rows: Sequence[NDArray[np.intp]], horizon: int
) -> tuple[list[NDArray[np.intp]], list[NDArray[np.intp]]]:
    """Split training rows in time: the last ``_VALIDATION_FRACTION`` of their timeline validates, the rows
    whose target windows end before it fits (the same purge as the walk-forward splits)."""
    times = np.unique(np.concatenate([d.timestamps[r] for d, r in zip(data, rows, strict=True)]))
    cut = times[min(len(times) - 1, int(len(times) * (1.0 - _VALIDATION_FRACTION)))]
    fit, val = [], []
    for d, r in zip(data, rows, strict=True):
        first = int(np.searchsorted(d.timestamps, cut, side="left"))
        fit.append(r[r + horizon < first])
        val.append(r[d.timestamps[r] >= cut])
    return fit, val


def _choose_alpha(
    data: Sequence[_SymbolData], rows: Sequence[NDArray[np.intp]], horizon: int, alpha: float | None, min_rows: int
) -> float:
    """``alpha`` itself when fixed; else the penalty of ``ALPHA_GRID`` whose picks (best predicted Sharpe) earn
    the highest mean forward return on a purged holdout of the training rows (ties go to the larger penalty).
    Too few rows to validate: ``FALLBACK_ALPHA``."""
    if alpha is not None:
        return alpha
    fit_rows, val_rows = _purged_holdout(data, rows, horizon)
    x_fit, y_fit = _stack(data, fit_rows)
    x_val, y_val = _stack(data, val_rows)
    if len(x_fit) < min_rows or len(x_val) < 2:
        return FALLBACK_ALPHA
    s = y_val.shape[1] // 2
    best, best_score = ALPHA_GRID[-1], -math.inf
    for model in reversed(fit_ridge_path(x_fit, y_fit, ALPHA_GRID)):
        pick = np.argmax(model.predict(x_val)[:, s:], axis=1)
        score = float(y_val[np.arange(len(y_val)), pick].mean())
        if score > best_score + 1e-12:
            best, best_score = model.alpha, score
    return best


def _fit(data: Sequence[_SymbolData], rows: Sequence[NDArray[np.intp]], alpha: float) -> RidgeModel:
    x, y = _stack(data, rows)
    return fit_ridge_path(x, y, (alpha,))[0]


def train_selector(
    bars_list: Sequence[Bars],
    *,
    registry: StrategyRegistry,
    horizon: int = DEFAULT_HORIZON,
    n_splits: int = 5,
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    alpha: float | None = None,
    cost: float = 0.0005,
) -> TrainedSelector:
    """Train a strategy selector on the histories in ``bars_list`` (one ``Bars`` per symbol, one timeframe).

    ``horizon``: bars of the forward window the targets look at (and the purge between train and test);
    ``n_splits``: walk-forward test chunks; ``strategies``: names in ``registry``, run with their
    default parameters; ``alpha``: ridge penalty (``model.fit_ridge``), or None to choose it from
    ``ALPHA_GRID`` on a purged holdout of each training set (never the test rows; module docstring);
    ``cost``: trading cost per unit of position change (0.0005 = 5 bps). Deterministic: the same inputs
    give the same selector (bar ``trained_at`` and the measured ``elapsed``). See the module docstring for
    the evaluation.
    """
    started = time.perf_counter()
    horizon = _check_int("horizon", horizon, 1, 1000, "20")
    n_splits = _check_int("n_splits", n_splits, 1, 50, "5")
    fixed_alpha = None if alpha is None else check_alpha(alpha)
    cost = _check_cost(cost)
    names = _check_strategies(strategies, registry)
    if isinstance(bars_list, Bars) or not isinstance(bars_list, Sequence) or not bars_list:
        raise InvalidParameterError("bars_list must be a non-empty list of gt.Bars (one history per symbol)")
    for bars in bars_list:
        if not isinstance(bars, Bars):
            raise InvalidParameterError(f"bars_list must hold gt.Bars, got a {type(bars).__name__}")
    timeframes = sorted({bars.timeframe for bars in bars_list})
    if len(timeframes) > 1:
        raise InvalidDataError(f"all histories must share one timeframe, got {', '.join(timeframes)}")
    timeframe = timeframes[0]
    instances = tuple(as_strategies(names, registry))
    data = [_symbol_data(bars, instances, horizon, cost) for bars in bars_list]
    splits = walk_forward_splits([d.timestamps for d in data], [d.eligible for d in data], horizon, n_splits)
    s = len(names)
    columns = feature_names(names)
    min_train = max(50, 3 * len(columns))
    scale = math.sqrt(periods_per_year(timeframe) / horizon)

    results, outcomes = [], []
    for split in splits:
        train_rows = sum(len(r) for r in split.train_rows)
        x_test, y_test = _stack(data, split.test_rows)
        if train_rows < min_train or len(x_test) == 0:
            raise InvalidDataError(
                f"too little data for horizon={horizon} and n_splits={n_splits}: split {split.index + 1} has "
                f"{train_rows} training rows (need {min_train}) and {len(x_test)} test rows; give longer "
                "histories, fewer splits or a shorter horizon"
            )
        chosen = _choose_alpha(data, split.train_rows, horizon, fixed_alpha, min_train)
        model = _fit(data, split.train_rows, chosen)
        naive = int(np.argmax(model.intercept[s:]))
        spaced = [(r - r[0]) % horizon == 0 if len(r) else np.zeros(0, dtype=bool) for r in split.test_rows]
        outcome = _Outcome(
            realised=y_test[:, :s],
            realised_sharpe=y_test[:, s:],
            predicted=model.predict(x_test),
            intercept=np.broadcast_to(model.intercept, (len(x_test), 2 * s)),
            naive=np.full(len(x_test), naive, dtype=np.intp),
            spaced=np.concatenate(spaced),
        )
        outcomes.append(outcome)
        scores, beat = _evaluate(outcome, s, scale)
        target_ends = [
            d.timestamps[int(r[-1]) + horizon] for d, r in zip(data, split.train_rows, strict=True) if len(r)
        ]
        test_times = np.concatenate([d.timestamps[r] for d, r in zip(data, split.test_rows, strict=True)])
        results.append(
            SplitResult(
                index=split.index,
                train_rows=train_rows,
                test_rows=len(x_test),
                train_end=to_datetime(max(target_ends)),
                test_start=to_datetime(test_times.min()),
                test_end=to_datetime(test_times.max()),
                naive_strategy=names[naive],
                alpha=chosen,
                scores=scores,
                beat_naive_rate=beat,
            )
        )

    pooled = _Outcome.concat(outcomes)
    overall, overall_beat = _evaluate(pooled, s, scale)
    per_strategy = _skills(pooled, names)

    all_rows = [np.flatnonzero(d.eligible) for d in data]
    final = _fit(data, all_rows, _choose_alpha(data, all_rows, horizon, fixed_alpha, min_train))
    x_all, _ = _stack(data, all_rows)
    spread = np.sqrt(((final.predict(x_all)[:, s:] - final.intercept[s:]) ** 2).mean(axis=0))
    report = TrainingReport(
        horizon=horizon,
        splits=tuple(results),
        overall=overall,
        overall_beat_naive_rate=overall_beat,
        per_strategy=per_strategy,
        rows=sum(len(r) for r in all_rows),
        symbols=tuple(d.symbol for d in data),
        elapsed=time.perf_counter() - started,
    )
    return TrainedSelector(
        strategies=names,
        feature_names=columns,
        horizon=horizon,
        timeframe=timeframe,
        cost=cost,
        model=final,
        skill=[per_strategy[name].skill for name in names],
        spread=spread,
        report=report,
        trained_at=utcnow(),
        instances=instances,
    )


# -- prediction ----------------------------------------------------------------------------------------------


def _last_row(bars: Bars, strategies: Sequence[Strategy] = ()) -> tuple[FeatureMatrix, FloatArray]:
    if not isinstance(bars, Bars):
        raise InvalidParameterError(f"recommendations need gt.Bars, got {type(bars).__name__}")
    if len(bars) < WARMUP_BARS:
        raise InvalidDataError(
            f"{bars.symbol}: {len(bars)} bars are too few for a recommendation: the features need at least "
            f"{WARMUP_BARS} bars"
        )
    features = compute_features(bars, strategies)
    row = features.values[-1]
    if not np.isfinite(row).all():
        bad = [name for name, value in zip(features.names, row, strict=True) if not np.isfinite(value)]
        raise InvalidDataError(f"{bars.symbol}: the features of the last bar are undefined ({', '.join(bad)})")
    return features, row


def _model_recommendation(selector: TrainedSelector, bars: Bars) -> StrategyRecommendation:
    if bars.timeframe != selector.timeframe:
        raise InvalidDataError(
            f"{bars.symbol}: the model was trained on {selector.timeframe} bars, got {bars.timeframe} bars; "
            f"resample the data or train a model on {bars.timeframe}"
        )
    features, row = _last_row(bars, selector.instances)
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


_HEURISTIC_RANKINGS: dict[str, tuple[str, ...]] = {
    "crisis": ("volatility", "mean_reversion", "breakout", "momentum", "sma_cross"),
    "quiet_trend": ("sma_cross", "breakout", "momentum", "volatility", "mean_reversion"),
    "volatile_trend": ("volatility", "breakout", "momentum", "sma_cross", "mean_reversion"),
    "sideways_quiet": ("mean_reversion", "volatility", "breakout", "sma_cross", "momentum"),
    "sideways_volatile": ("volatility", "mean_reversion", "breakout", "momentum", "sma_cross"),
}
_HEURISTIC_WHY = {
    "crisis": "crisis: stay flat or keep exposure minimal ('volatility' goes flat when volatility is high)",
    "quiet_trend": "trending, calm market: trend followers first",
    "volatile_trend": "trending but volatile market: the volatility filter first, then breakouts",
    "sideways_quiet": "sideways, quiet market: mean reversion first",
    "sideways_volatile": "sideways, volatile market: the volatility filter first, then mean reversion",
}


def _heuristic_state(regime: str) -> str:
    if regime in ("crisis", "sideways_quiet", "sideways_volatile"):
        return regime
    if regime.endswith("_quiet"):
        return "quiet_trend"
    return "volatile_trend"


def heuristic_order(regime: str, trend_t: float) -> tuple[tuple[str, ...], bool, str]:
    """The heuristic's ranking of the five built-ins for a bar in ``regime`` with 60-bar trend t-statistic
    ``trend_t``: (ranking best first, stay flat?, why). See the module docstring."""
    if regime not in REGIME_NAMES:
        raise InvalidDataError(f"unknown regime {regime!r}; expected one of {', '.join(REGIME_NAMES)}")
    state = _heuristic_state(regime)
    order = _HEURISTIC_RANKINGS[state]
    why = _HEURISTIC_WHY[state]
    if state in ("quiet_trend", "volatile_trend") and abs(trend_t) < _WEAK_TREND_T:
        order = ("volatility", *(name for name in order if name != "volatility"))
        why += f"; the 60-bar trend is weak (t = {trend_t:+.1f}), so the volatility filter leads"
    return order, state == "crisis", why


def _heuristic_recommendation(bars: Bars) -> StrategyRecommendation:
    features, row = _last_row(bars)
    regime = features.regimes[-1]
    order, stay_flat, why = heuristic_order(regime, float(row[FEATURE_NAMES.index("trend_t_60")]))
    recent = features.regimes[-_STABILITY_BARS:]
    stability = sum(1 for r in recent if r == regime) / len(recent)
    ranking = tuple(
        StrategyScore(name, None, None, HEURISTIC_MAX_CONFIDENCE * stability * (1.0 - 0.2 * rank))
        for rank, name in enumerate(order)
    )
    return StrategyRecommendation(
        symbol=bars.symbol,
        as_of=bars.end,
        horizon=DEFAULT_HORIZON,
        source="heuristic",
        regime=regime,
        ranking=ranking,
        stay_flat=stay_flat,
        reason=f"heuristic (no trained model), regime {regime}: {why}",
    )


def predict(selector: TrainedSelector | None, bars: Bars) -> StrategyRecommendation:
    """Rank the strategies for the bars after the last of ``bars``.

    With a ``TrainedSelector``: by predicted forward Sharpe (``source="model"``). With ``None``: the
    documented heuristic (``source="heuristic"``, lower confidence, no return estimates).
    """
    if selector is None:
        return _heuristic_recommendation(bars)
    if not isinstance(selector, TrainedSelector):
        raise InvalidParameterError(f"selector must be a TrainedSelector or None, got {type(selector).__name__}")
    return _model_recommendation(selector, bars)


def recommend_strategy(bars: Bars, selector: TrainedSelector | None = None) -> StrategyRecommendation:
    """``predict(selector, bars)`` with the bars first: ``gt.recommend_strategy(bars)`` uses the heuristic."""
    return predict(selector, bars)
