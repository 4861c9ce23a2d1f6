"""The ml_strategy slice: causal features, leak-free targets and splits, deterministic training, persistence,
the heuristic fallback, the use case and its errors. Small synthetic markets keep it fast."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Callable

import attrs
import numpy as np
import pytest

from adapters.state import InMemoryStateStore
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import (
    GptTraderError,
    InvalidDataError,
    InvalidParameterError,
    NotFoundError,
    UnknownStrategyError,
)
from gpt_trader_core.functions import train_strategy_selector as train_selector
from gpt_trader_core.market_sim import generate
from gpt_trader_core.ml import (
    DEFAULT_STRATEGIES,
    FEATURE_NAMES,
    MODEL_KIND,
    StrategySelection,
    TrainedSelector,
    compute_features,
    compute_targets,
    fit_ridge,
    predict,
    recommend_strategy,
    walk_forward_splits,
)
from gpt_trader_core.ml.features import (
    REGIME_NAMES,
    SHARPE_CAP,
    WARMUP_BARS,
    feature_names,
    strategy_returns,
)
from gpt_trader_core.ml.heuristic import HEURISTIC_MAX_CONFIDENCE
from gpt_trader_core.ml.training import _symbol_data
from gpt_trader_core.strategy import REGISTRY
from tests.conftest import make_bars

HORIZON = 10


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message
    return message


def synthetic(symbol: str, seed: int, start: str = "2012-01-01", end: str = "2015-06-30") -> Bars:
    return generate(symbol, start, end, "1d", seed=seed).bars


@pytest.fixture(scope="module")
def markets() -> list[Bars]:
    return [synthetic(f"S{i}", seed=i) for i in range(3)]


@pytest.fixture(scope="module")
def selector(markets: list[Bars]) -> TrainedSelector:
    return train_selector(markets, horizon=HORIZON, n_splits=3)


def shaped_bars(close: np.ndarray, symbol: str, wick: float = 0.001) -> Bars:
    """Daily bars with the previous close as open and a tight range (quiet markets need tight ranges)."""
    open_ = np.concatenate(([close[0]], close[:-1]))
    ts = np.datetime64("2020-01-01", "D") + np.arange(len(close))
    high = np.maximum(open_, close) * (1 + wick)
    low = np.minimum(open_, close) * (1 - wick)
    return Bars(ts, open_, high, low, close, np.full(len(close), 1000.0), symbol=symbol)


# -- features ----------------------------------------------------------------------------------------------


def test_features_are_causal_appending_bars_changes_no_earlier_row() -> None:
    bars = synthetic("CAUSAL", seed=7, start="2010-01-01", end="2012-12-31")
    full = compute_features(bars, DEFAULT_STRATEGIES, REGISTRY)
    for cut in (WARMUP_BARS - 1, WARMUP_BARS, 333, 511, len(bars) - 1):
        part = compute_features(bars.slice(0, cut), DEFAULT_STRATEGIES, REGISTRY)
        assert np.array_equal(part.values, full.values[:cut], equal_nan=True), cut
        assert part.regimes == full.regimes[:cut]


def test_feature_columns_warm_up_and_regime_one_hot() -> None:
    bars = synthetic("COLS", seed=1, start="2015-01-01", end="2016-12-31")
    features = compute_features(bars, ["sma_cross", "breakout"], REGISTRY)
    assert features.names == feature_names(["sma_cross", "breakout"])
    assert features.names[: len(FEATURE_NAMES)] == FEATURE_NAMES
    assert features.names[-3:] == ("pos_breakout", "pos_ret_20_breakout", "pos_trend_breakout")
    assert features.values.shape == (len(bars), len(FEATURE_NAMES) + 6)
    assert int(np.argmax(features.valid)) == WARMUP_BARS - 1 and features.valid[WARMUP_BARS - 1 :].all()
    one_hot = features.values[:, [features.names.index(f"regime_{r}") for r in REGIME_NAMES]]
    assert (one_hot.sum(axis=1) == 1).all()
    assert set(features.regimes) <= set(REGIME_NAMES)
    vol = features.values[WARMUP_BARS:, features.names.index("vol_20")]
    assert 0.03 < float(np.median(vol)) < 1.0  # annualised, not per bar
    positions = features.values[:, features.names.index("pos_sma_cross")]
    assert set(np.unique(positions[WARMUP_BARS:])) <= {-1.0, 0.0, 1.0}
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'nope'"):
        compute_features(bars, ["nope"], REGISTRY)


def test_strategy_returns_follow_the_next_open_fill_rule() -> None:
    close = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    open_ = np.array([100.0, 105.0, 100.0, 100.0, 99.0])
    bars = Bars(np.datetime64("2020-01-01", "D") + np.arange(5), open_, close * 1.1, open_ * 0.8, close, np.ones(5))
    positions = np.array([1.0, 1.0, -1.0, -1.0, 0.0])  # decided at each close, filled at the next open
    r = strategy_returns(bars, positions, cost=0.001)
    assert r[0] == 0.0
    assert r[1] == pytest.approx(0.0 * (105 - 100) / 100 + 1.0 * (110 - 105) / 100 - 0.001)  # enters at open 1
    assert r[2] == pytest.approx(99 / 110 - 1)  # held long all bar
    assert r[3] == pytest.approx((100 - 99) / 99 - (99 - 100) / 99 - 0.002)  # long overnight, short from open
    assert r[4] == pytest.approx(-(108.9 / 99 - 1))  # still short: the exit fills at the next open


def test_targets_look_only_at_the_forward_window() -> None:
    bars = synthetic("FWD", seed=2, start="2014-01-01", end="2015-12-31")
    full = compute_targets(bars, DEFAULT_STRATEGIES, HORIZON, registry=REGISTRY)
    cut = 300
    part = compute_targets(bars.slice(0, cut), DEFAULT_STRATEGIES, HORIZON, registry=REGISTRY)
    complete = cut - HORIZON  # rows t <= cut - 1 - HORIZON have their whole window inside the cut
    assert np.array_equal(part.returns[:complete], full.returns[:complete])
    assert np.array_equal(part.sharpe[:complete], full.sharpe[:complete])
    assert np.isnan(part.returns[complete:]).all() and np.isnan(full.returns[-HORIZON:]).all()
    assert np.isfinite(full.returns[: len(bars) - HORIZON]).all()
    assert np.abs(full.sharpe[: len(bars) - HORIZON]).max() <= SHARPE_CAP
    # the forward return of row t is the sum of the per-bar returns of bars t+1..t+H
    from gpt_trader_core.ml.features import strategy_positions

    per_bar = strategy_returns(bars, strategy_positions(bars, REGISTRY.create("momentum")))
    t = 123
    assert full.returns[t, 1] == pytest.approx(per_bar[t + 1 : t + 1 + HORIZON].sum(), abs=1e-15)


# -- splits and training -----------------------------------------------------------------------------------


def test_no_training_target_overlaps_its_test_window(markets: list[Bars]) -> None:
    data = [_symbol_data(bars, DEFAULT_STRATEGIES, HORIZON, 0.0, REGISTRY) for bars in markets]
    splits = walk_forward_splits([d.timestamps for d in data], [d.eligible for d in data], HORIZON, 3)
    assert len(splits) == 3
    for split in splits:
        for d, train, test in zip(data, split.train_rows, split.test_rows, strict=True):
            first_test_bar = int(np.searchsorted(d.timestamps, split.test_start))
            assert len(train) and len(test)
            assert train.max() + HORIZON < first_test_bar <= test.min()  # targets end before the test starts
            assert (d.timestamps[test] >= split.test_start).all()
            if split.test_end is not None:
                assert (d.timestamps[test] < split.test_end).all()
            assert d.eligible[train].all() and d.eligible[test].all()
    # expanding: each split trains on everything the previous one did, and more
    for earlier, later in itertools.pairwise(splits):
        for a, b in zip(earlier.train_rows, later.train_rows, strict=True):
            assert set(a.tolist()) < set(b.tolist())


def test_training_reports_out_of_sample_results_per_split(selector: TrainedSelector, markets: list[Bars]) -> None:
    report = selector.report
    assert len(report.splits) == 3 and report.symbols == ("S0", "S1", "S2") and report.horizon == HORIZON
    for split in report.splits:
        assert split.train_end < split.test_start <= split.test_end  # purged: no target reaches the test
        assert split.naive_strategy in DEFAULT_STRATEGIES and split.alpha > 0
        assert set(split.scores) == {"model", "naive", "equal_weight", "oracle"}
        assert split.scores["model"].decisions == split.test_rows > 0
        oracle = split.scores["oracle"].mean_return
        assert all(score.mean_return <= oracle + 1e-15 for score in split.scores.values())
        hit = split.scores["model"].hit_rate
        assert hit is not None and 0 <= hit <= 1 and split.scores["equal_weight"].hit_rate is None
    assert sum(s.test_rows for s in report.splits) == report.overall["model"].decisions
    assert set(report.per_strategy) == set(DEFAULT_STRATEGIES)
    assert "naive" in report.summary() and "equal_weight" in report.summary()
    assert ((selector.skill >= 0) & (selector.skill <= 1)).all()


def test_training_is_deterministic(markets: list[Bars], selector: TrainedSelector) -> None:
    again = train_selector(markets, horizon=HORIZON, n_splits=3)
    for name in ("means", "stds", "coef", "intercept"):
        assert np.array_equal(getattr(again.model, name), getattr(selector.model, name))
    assert again.model.alpha == selector.model.alpha
    assert np.array_equal(again.skill, selector.skill) and np.array_equal(again.spread, selector.spread)
    first, second = selector.report.to_dict(), again.report.to_dict()
    first.pop("elapsed")
    second.pop("elapsed")
    assert json.dumps(first, default=str) == json.dumps(second, default=str)


def test_a_fixed_alpha_is_used_everywhere(markets: list[Bars]) -> None:
    fixed = train_selector(markets[:2], horizon=HORIZON, n_splits=2, alpha=3.0, strategies=["sma_cross", "momentum"])
    assert fixed.model.alpha == 3.0 and {s.alpha for s in fixed.report.splits} == {3.0}
    assert fixed.strategies == ("sma_cross", "momentum") and fixed.model.n_targets == 4


def test_ridge_closed_form() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = 2.0 + x @ np.array([1.5, -0.2, 3.0])
    exact = fit_ridge(x, y, alpha=0.0)
    assert np.allclose(exact.predict(x)[:, 0], y) and exact.intercept[0] == pytest.approx(y.mean())
    shrunk = fit_ridge(x, y, alpha=1e9)
    assert np.allclose(shrunk.predict(x)[:, 0], y.mean(), atol=1e-6)  # a huge penalty predicts the mean
    with pytest.raises(InvalidParameterError, match="alpha"):
        fit_ridge(x, y, alpha=-1.0)
    with pytest.raises(InvalidDataError, match="NaN"):
        fit_ridge(np.full((3, 2), np.nan), np.zeros(3))


# -- predictions, persistence --------------------------------------------------------------------------------


def test_model_recommendation_ranks_by_predicted_sharpe(selector: TrainedSelector, markets: list[Bars]) -> None:
    rec = predict(selector, markets[0])
    assert rec.source == "model" and rec.symbol == "S0" and rec.horizon == HORIZON
    assert rec.as_of == markets[0].end and rec.regime in REGIME_NAMES
    assert sorted(s.strategy for s in rec.ranking) == sorted(DEFAULT_STRATEGIES)
    sharpes = [s.expected_sharpe for s in rec.ranking]
    assert all(isinstance(v, float) for v in sharpes) and sharpes == sorted(sharpes, reverse=True)  # type: ignore[type-var]
    assert all(isinstance(s.expected_return, float) and 0 <= s.confidence <= 1 for s in rec.ranking)
    assert rec.best == rec.ranking[0].strategy and rec.best in rec.reason
    assert rec.to_dict()["ranking"][0]["strategy"] == rec.best
    assert selector.predict(markets[0]) == rec == recommend_strategy(markets[0], selector)


def test_record_round_trip_gives_identical_predictions(selector: TrainedSelector, markets: list[Bars]) -> None:
    record = selector.to_record("sel-test")
    assert record.kind == MODEL_KIND and record.name == "sel-test"
    payload = json.loads(json.dumps(record.payload, allow_nan=False))  # plain JSON: lists of floats, no pickle
    assert payload == record.payload and payload["feature_names"] == list(selector.feature_names)
    restored = TrainedSelector.from_record(attrs.evolve(record, payload=payload), REGISTRY)
    for name in ("means", "stds", "coef", "intercept"):
        assert np.array_equal(getattr(restored.model, name), getattr(selector.model, name))
    for bars in markets:
        assert predict(restored, bars) == predict(selector, bars)
    assert json.dumps(restored.report.to_dict(), default=str) == json.dumps(selector.report.to_dict(), default=str)


def test_from_record_refuses_other_kinds_and_broken_payloads(selector: TrainedSelector) -> None:
    record = selector.to_record("x")
    with pytest.raises(InvalidDataError, match="is a 'regime_hmm', not a strategy_selector") as info:
        TrainedSelector.from_record(attrs.evolve(record, kind="regime_hmm"), REGISTRY)
    one_line(info.value)
    broken = {**record.payload, "ridge": {"means": [1.0]}}
    with pytest.raises(InvalidDataError, match="broken"):
        TrainedSelector.from_record(attrs.evolve(record, payload=broken), REGISTRY)
    other_features = {**record.payload, "feature_names": ["ret_5"]}
    with pytest.raises(InvalidDataError, match="retrain"):
        TrainedSelector.from_record(attrs.evolve(record, payload=other_features), REGISTRY)
    with pytest.raises(InvalidParameterError, match="model name"):
        selector.to_record("  ")


# -- heuristic fallback --------------------------------------------------------------------------------------


def test_heuristic_in_a_crisis_advises_staying_flat() -> None:
    rng = np.random.default_rng(0)
    calm = 100 * np.exp(np.cumsum(0.0005 + 0.005 * rng.standard_normal(300)))
    crash = calm[-1] * np.exp(np.cumsum(-0.04 + 0.05 * rng.standard_normal(25)))
    rec = predict(None, make_bars(np.concatenate([calm, crash]), symbol="CRASH"))
    assert (rec.source, rec.regime, rec.best, rec.stay_flat) == ("heuristic", "crisis", "volatility", True)
    assert "crisis" in rec.reason


def test_heuristic_sideways_quiet_prefers_mean_reversion_and_trends_prefer_trend_followers() -> None:
    rng = np.random.default_rng(1)
    n = np.arange(400)
    sideways = predict(None, shaped_bars(100 * np.exp(0.01 * np.sin(n / 5) + 0.002 * rng.standard_normal(400)), "SIDE"))
    assert (sideways.regime, sideways.best, sideways.stay_flat) == ("sideways_quiet", "mean_reversion", False)
    bull = predict(None, shaped_bars(100 * np.exp(np.cumsum(0.002 + 0.002 * rng.standard_normal(400))), "BULL"))
    assert bull.regime == "bull_quiet" and bull.best == "sma_cross"
    for rec in (sideways, bull):
        assert rec.source == "heuristic" and sorted(s.strategy for s in rec.ranking) == sorted(DEFAULT_STRATEGIES)
        assert all(s.expected_return is None and s.expected_sharpe is None for s in rec.ranking)
        confidences = [s.confidence for s in rec.ranking]
        assert 0 < confidences[0] <= HEURISTIC_MAX_CONFIDENCE and confidences == sorted(confidences, reverse=True)
    assert recommend_strategy(shaped_bars(100 * np.exp(0.01 * np.sin(n / 5)), "S")).source == "heuristic"


# -- errors --------------------------------------------------------------------------------------------------


SHORT = synthetic("SHORT", seed=1, start="2020-01-01", end="2020-08-31")
WEEKLY = generate("W", "2000-01-01", "2010-01-01", "1w").bars
Call = Callable[[list[Bars], TrainedSelector], object]
ERROR_CASES: list[tuple[type[GptTraderError], str, Call]] = [
    (InvalidDataError, "too few to train with horizon=10", lambda m, s: train_selector([SHORT], horizon=HORIZON)),
    (
        InvalidDataError,
        "too little data for horizon=10 and n_splits=40",
        lambda m, s: train_selector(m[:1], horizon=HORIZON, n_splits=40),
    ),
    (UnknownStrategyError, "unknown strategy 'nope'", lambda m, s: train_selector(m, strategies=["sma_cross", "nope"])),
    (InvalidParameterError, "at least two distinct", lambda m, s: train_selector(m, strategies=["sma_cross"])),
    (InvalidParameterError, "horizon must be an integer", lambda m, s: train_selector(m, horizon=0)),
    (InvalidParameterError, "n_splits must be an integer", lambda m, s: train_selector(m, n_splits=True)),
    (InvalidParameterError, "cost must be", lambda m, s: train_selector(m, cost=-0.1)),
    (InvalidParameterError, "non-empty list of gt.Bars", lambda m, s: train_selector([])),
    (InvalidParameterError, "must hold gt.Bars", lambda m, s: train_selector([m[0], "AAPL"])),  # type: ignore[list-item]
    (InvalidDataError, "share one timeframe", lambda m, s: train_selector([m[0], WEEKLY])),
    (InvalidDataError, "too few for a recommendation", lambda m, s: predict(None, m[0].slice(0, 150))),
    (InvalidDataError, "trained on 1d bars, got 1w", lambda m, s: predict(s, WEEKLY)),
    (InvalidParameterError, "selector must be a TrainedSelector", lambda m, s: predict("model", m[0])),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("error", "text", "call"), ERROR_CASES, ids=[text for _, text, _ in ERROR_CASES])
def test_clear_errors(
    error: type[GptTraderError], text: str, call: Call, markets: list[Bars], selector: TrainedSelector
) -> None:
    with pytest.raises(error) as info:
        call(markets, selector)
    assert text in one_line(info.value)


# -- the use case over a ModelStore --------------------------------------------------------------------------


async def test_strategy_selection_trains_saves_loads_and_recommends(markets: list[Bars]) -> None:
    store = InMemoryStateStore()
    await store.open()
    service = StrategySelection(store, registry=REGISTRY)
    trained = await service.train_and_save("sel-v1", markets, horizon=HORIZON, n_splits=3)
    saved = (await store.list_models(kind=MODEL_KIND))[0]
    assert saved.name == "sel-v1" and saved.params["horizon"] == HORIZON
    assert isinstance(saved.metrics["splits"][0]["test_start"], dt.datetime)
    assert math.isfinite(saved.metrics["overall"]["model"]["mean_return"])

    from_store = await service.recommend(markets[1], "sel-v1")
    assert from_store == predict(trained, markets[1]) and from_store.source == "model"
    fallback = await service.recommend(markets[1], None)
    assert fallback.source == "heuristic"
    with pytest.raises(NotFoundError, match="model 'ghost' not found"):
        await service.recommend(markets[1], "ghost")
    with pytest.raises(InvalidParameterError, match="model name"):
        await service.train_and_save("", markets)
    await store.close()
