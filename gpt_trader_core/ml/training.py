"""``train_selector``: learn which strategy suits the market, evaluated walk-forward (purged).

Training
--------
Rows are bars ``t`` of every symbol with all features defined (``features.compute_features``) and a whole
forward window ``(t, t + horizon]`` inside the data. Targets per strategy are its forward return and
forward Sharpe (``features.compute_targets``). One ridge regression (``ridge.fit_ridge``) predicts all
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
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.ml.features import (
    WARMUP_BARS,
    as_strategies,
    compute_features,
    compute_targets,
    feature_names,
    periods_per_year,
)
from gpt_trader_core.ml.results import DEFAULT_HORIZON, SelectionScore, SplitResult, StrategySkill, TrainingReport
from gpt_trader_core.ml.ridge import FloatArray, RidgeModel, check_alpha, fit_ridge_path
from gpt_trader_core.ml.selector import TrainedSelector
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry

DEFAULT_STRATEGIES: tuple[str, ...] = ("sma_cross", "momentum", "mean_reversion", "volatility", "breakout")
#: Ridge penalties tried by the inner validation when ``alpha`` is not fixed; 1e6 all but ignores the
#: features (its picks are the naive "best in-sample" strategy's).
ALPHA_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 1e6)
FALLBACK_ALPHA = 10.0
_VALIDATION_FRACTION = 0.2


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
    default parameters; ``alpha``: ridge penalty (``ridge.fit_ridge``), or None to choose it from
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
