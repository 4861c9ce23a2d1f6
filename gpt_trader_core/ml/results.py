"""What strategy selection returns: walk-forward scores per split, per-strategy skill, the training
report, and recommendations (a ranking of strategies for the next bars)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import attrs

#: Bars ahead a recommendation looks by default (``train_selector``'s horizon, the heuristic's).
DEFAULT_HORIZON = 20

Source = Literal["model", "heuristic"]


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


@attrs.frozen
class SelectionScore:
    """Out-of-sample result of one way of choosing (definitions in ``ml.training``)."""

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
