"""Regime detection: the seven names, rules and HMM detectors, summaries, causality, accuracy, errors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.regime import (
    REGIMES,
    GaussianHMM,
    HMMOptions,
    RegimeAnalysis,
    RegimeThresholds,
    accuracy_report,
    default_periods_per_year,
    detect_regime,
    direction_of,
    fit_hmm,
    regime_accuracy,
    volatility_of,
)
from gpt_trader_core.regime.hmm import _e_step, _forward, _log_emissions
from gpt_trader_core.regime.rules import smooth_labels

try:  # the generator's package was renamed once; accept either name
    from gpt_trader_core.market_sim import REGIMES as SIM_REGIMES
    from gpt_trader_core.market_sim import generate
except ImportError:  # pragma: no cover
    from gpt_trader_core.synthetic import REGIMES as SIM_REGIMES  # type: ignore[no-redef]
    from gpt_trader_core.synthetic import generate  # type: ignore[no-redef]

SMALL = RegimeThresholds(trend_window=20, vol_window=5, drawdown_window=60, min_duration=2)
FAST_HMM: dict[str, Any] = {"min_train": 150, "refit_every": 120}


def bars_from_returns(
    returns: Sequence[float] | np.ndarray,
    ranges: Sequence[float] | np.ndarray | float = 0.005,
    *,
    start: str = "2020-01-01",
    price: float = 100.0,
) -> Bars:
    """Daily bars with the given close-to-close log returns; each bar's high/low extend the body by ``ranges``."""
    r = np.asarray(returns, dtype=float)
    close = price * np.exp(np.cumsum(r))
    open_ = np.concatenate(([price], close[:-1]))
    extra = np.broadcast_to(np.asarray(ranges, dtype=float), r.shape)
    high = np.maximum(open_, close) * (1 + extra)
    low = np.minimum(open_, close) * (1 - extra)
    ts = np.datetime64(start, "D") + np.arange(len(r))
    return Bars(ts, open_, high, low, close, np.full(len(r), 1e5), symbol="TEST", timeframe="1d", source="test")


def random_bars(seed: int, n: int) -> Bars:
    rng = np.random.default_rng(seed)
    vol = rng.choice([0.004, 0.02], size=n // 20 + 1).repeat(20)[:n]
    drift = rng.choice([-0.002, 0.0, 0.002], size=n // 30 + 1).repeat(30)[:n]
    returns = drift + vol * rng.standard_normal(n)
    return bars_from_returns(returns, vol * rng.uniform(0.2, 1.0, n))


@pytest.fixture(scope="module")
def market() -> tuple[Bars, np.ndarray]:
    m = generate("REGIME", "2005-01-01", "2014-12-31", "1d", seed=3)
    return m.bars, np.asarray(m.regimes)


# -- names ---------------------------------------------------------------------------------------------


def test_regime_names_match_the_synthetic_market() -> None:
    assert tuple(SIM_REGIMES) == REGIMES
    assert len(REGIMES) == 7


def test_coarse_splits() -> None:
    assert [direction_of(r) for r in REGIMES] == ["bull", "bull", "bear", "bear", "sideways", "sideways", "bear"]
    assert [volatility_of(r) for r in REGIMES][-1] == "volatile"
    with pytest.raises(InvalidParameterError, match="unknown regime 'boom'"):
        direction_of("boom")


def test_periods_per_year_from_timeframe() -> None:
    assert default_periods_per_year("1d") == 252
    assert default_periods_per_year("1w") == 52
    assert default_periods_per_year("1mo") == 12
    assert default_periods_per_year("1h") == 252 * 24
    assert RegimeThresholds(periods_per_year=365).annualisation("1d") == 365


# -- properties ----------------------------------------------------------------------------------------


def _check_analysis(analysis: RegimeAnalysis, n: int) -> None:
    assert len(analysis.series) == n
    assert set(analysis.series) <= set(REGIMES)
    assert analysis.current == analysis.series[-1]
    assert 0.0 <= analysis.confidence <= 1.0
    matrix = np.array(analysis.transition_matrix)
    assert matrix.shape == (7, 7)
    assert (matrix >= 0).all()
    for row in matrix.sum(axis=1):
        assert row == pytest.approx(1.0) or row == 0.0
    seen_before_last = set(analysis.series[:-1])
    for i, name in enumerate(REGIMES):
        assert (matrix[i].sum() > 0) == (name in seen_before_last)
    assert set(analysis.average_durations) == set(analysis.series)
    assert all(d >= 1 for d in analysis.average_durations.values())
    # changes are exactly the bars whose label differs from the previous one
    expected = [i for i in range(1, n) if analysis.series[i] != analysis.series[i - 1]]
    assert [c.bar for c in analysis.changes] == expected
    for change in analysis.changes:
        assert change.from_regime == analysis.series[change.bar - 1]
        assert change.to_regime == analysis.series[change.bar]
    # run lengths average back to the series length
    runs = len(analysis.changes) + 1
    counts = {r: sum(1 for i in range(n) if analysis.series[i] == r) for r in analysis.average_durations}
    starts = [0] + [c.bar for c in analysis.changes]
    run_regimes = [analysis.series[s] for s in starts]
    for regime, duration in analysis.average_durations.items():
        assert duration == pytest.approx(counts[regime] / run_regimes.count(regime))
    assert len(run_regimes) == runs


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(21, 260), hysteresis=st.sampled_from([0.0, 0.05]))
def test_rules_properties(seed: int, n: int, hysteresis: float) -> None:
    bars = random_bars(seed, n)
    thresholds = RegimeThresholds(trend_window=20, vol_window=5, min_duration=2, hysteresis=hysteresis)
    _check_analysis(detect_regime(bars, thresholds), n)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(160, 320))
def test_hmm_properties(seed: int, n: int) -> None:
    bars = random_bars(seed, n)
    _check_analysis(detect_regime(bars, SMALL, method="hmm", **FAST_HMM), n)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(40, 200), cut=st.floats(0.3, 0.95))
def test_rules_are_causal(seed: int, n: int, cut: float) -> None:
    """The label of bar i only depends on bars 0..i: cutting the future off changes no earlier label."""
    bars = random_bars(seed, n)
    k = max(SMALL.trend_window + 1, int(n * cut))
    full = detect_regime(bars, SMALL).series
    assert detect_regime(bars.slice(0, k), SMALL).series == full[:k]


def test_rules_and_hmm_are_causal_on_synthetic_data(market: tuple[Bars, np.ndarray]) -> None:
    bars = market[0].slice(0, 700)
    cases: list[tuple[str, dict[str, Any]]] = [("rules", {}), ("hmm", FAST_HMM)]
    for method, options in cases:
        full = detect_regime(bars, method=method, **options).series
        for k in (210, 269, 270, 271, 455, 699):
            assert detect_regime(bars.slice(0, k), method=method, **options).series == full[:k], (method, k)


def test_in_sample_hmm_is_documented_as_non_causal_but_has_full_length(market: tuple[Bars, np.ndarray]) -> None:
    bars = market[0].slice(0, 600)
    analysis = detect_regime(bars, method="hmm", refit_every=None)
    _check_analysis(analysis, 600)
    assert analysis.method == "hmm"


# -- behaviour on constructed paths -----------------------------------------------------------------------


def test_clear_regimes_are_recognised() -> None:
    rng = np.random.default_rng(1)
    n = 200
    bull_quiet = bars_from_returns(0.0015 + 0.004 * rng.standard_normal(n), 0.002)
    bear_volatile = bars_from_returns(-0.004 + 0.025 * rng.standard_normal(n), 0.01)
    sideways_quiet = bars_from_returns(0.004 * rng.standard_normal(n) - 0.004 * np.sin(np.arange(n)), 0.002)
    assert detect_regime(bull_quiet).current == "bull_quiet"
    assert detect_regime(bear_volatile).current == "bear_volatile"
    assert detect_regime(sideways_quiet).current == "sideways_quiet"
    assert detect_regime(bull_quiet).confidence > 0.8


def test_crisis_is_detected_in_a_crash() -> None:
    rng = np.random.default_rng(7)
    calm = 0.0008 + 0.006 * rng.standard_normal(300)
    crash = -0.025 + 0.04 * rng.standard_normal(30)
    recovery = 0.001 + 0.01 * rng.standard_normal(60)
    ranges = np.concatenate([np.full(300, 0.003), np.full(30, 0.03), np.full(60, 0.006)])
    bars = bars_from_returns(np.concatenate([calm, crash, recovery]), ranges)
    analysis = detect_regime(bars)
    series = analysis.series
    assert "crisis" not in series[:300]
    crisis_bars = [i for i, r in enumerate(series) if r == "crisis"]
    assert crisis_bars, "the crash was not labelled crisis"
    assert 300 <= crisis_bars[0] < 315
    assert sum(300 <= i < 335 for i in crisis_bars) >= 15
    at_bottom = detect_regime(bars.slice(0, 330))
    assert at_bottom.current == "crisis"
    assert at_bottom.confidence > 0.3
    assert any(c.to_regime == "crisis" for c in analysis.changes)


def test_every_bar_is_labelled_from_the_first() -> None:
    bars = bars_from_returns(np.full(81, 0.002), 0.002)
    analysis = detect_regime(bars)
    assert len(analysis.series) == 81
    assert analysis.series[0] in REGIMES


def test_min_duration_delays_switches() -> None:
    raw = np.array([0, 0, 1, 0, 1, 1, 1, 2, 2, 0], dtype=np.int8)
    assert smooth_labels(raw, 1).tolist() == raw.tolist()
    assert smooth_labels(raw, 2).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 2, 2]
    assert smooth_labels(raw, 3).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_smoothing_reduces_changes(market: tuple[Bars, np.ndarray]) -> None:
    bars = market[0]
    rough = detect_regime(bars, RegimeThresholds(min_duration=1))
    smooth = detect_regime(bars, RegimeThresholds(min_duration=10))
    assert len(smooth.changes) < len(rough.changes)


def test_rules_accuracy_on_synthetic_market(market: tuple[Bars, np.ndarray]) -> None:
    bars, truth = market
    report = accuracy_report(detect_regime(bars), truth)
    assert report.accuracy > 0.45
    assert report.volatility_accuracy > 0.9
    assert report.direction_accuracy > 0.45


def test_summary_helpers(market: tuple[Bars, np.ndarray]) -> None:
    analysis = detect_regime(market[0])
    assert sum(analysis.share(r) for r in REGIMES) == pytest.approx(1.0)
    current = analysis.current
    assert analysis.transition_probability(current, current) == pytest.approx(
        analysis.transition_matrix[REGIMES.index(current)][REGIMES.index(current)]
    )
    data = analysis.to_dict()
    assert data["current"] == current and len(data["transition_matrix"]) == 7
    assert "bars" in repr(analysis)
    with pytest.raises(InvalidParameterError, match="unknown regime 'moon'"):
        analysis.transition_probability("moon", current)
    with pytest.raises(InvalidParameterError, match="unknown regime"):
        analysis.share("bull")


def test_accepts_a_dataframe(goog: Bars) -> None:
    frame = goog.to_frame()
    assert detect_regime(frame).series == detect_regime(goog).series


# -- accuracy ----------------------------------------------------------------------------------------------


def test_regime_accuracy() -> None:
    assert regime_accuracy(["bull_quiet", "crisis"], ["bull_quiet", "bear_volatile"]) == 0.5
    assert regime_accuracy(np.array([0, 1, 2]), [0, 1, 2]) == 1.0
    report = accuracy_report(
        ["bull_quiet", "crisis", "sideways_quiet"], ["bull_volatile", "bear_volatile", "bear_quiet"]
    )
    assert report.accuracy == 0.0
    assert report.direction_accuracy == pytest.approx(2 / 3)  # bull=bull, crisis counts as bear
    assert report.volatility_accuracy == pytest.approx(2 / 3)
    assert math.isnan(report.precision["bull_volatile"])
    assert report.recall["bull_volatile"] == 0.0
    with pytest.raises(InvalidParameterError, match=r"predicted\[1\] is 'boom'"):
        regime_accuracy(["bull_quiet", "boom"], ["bull_quiet", "crisis"])
    with pytest.raises(InvalidParameterError, match="not a regime index"):
        regime_accuracy([0, 9], [0, 1])
    with pytest.raises(InvalidDataError, match="predicted has 1 labels but truth has 2"):
        regime_accuracy(["crisis"], ["crisis", "crisis"])
    with pytest.raises(InvalidDataError, match="no labels"):
        regime_accuracy([], [])


# -- the HMM engine ---------------------------------------------------------------------------------------


def _naive_forward_backward(
    start: np.ndarray, trans: np.ndarray, logb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    b = np.exp(logb)
    alpha = start * b[0]
    loglik = math.log(alpha.sum())
    alpha = alpha / alpha.sum()
    filtered = [alpha]
    for t in range(1, len(b)):
        alpha = (alpha @ trans) * b[t]
        loglik += math.log(alpha.sum())
        alpha = alpha / alpha.sum()
        filtered.append(alpha)
    f = np.array(filtered)
    beta = np.ones_like(f)
    for t in range(len(b) - 2, -1, -1):
        v = trans @ (b[t + 1] * beta[t + 1])
        beta[t] = v / v.sum()
    gamma = f * beta
    gamma /= gamma.sum(axis=1, keepdims=True)
    xi = np.zeros_like(trans)
    for t in range(1, len(b)):
        m = f[t - 1][:, None] * trans * (b[t] * beta[t])[None, :]
        xi += m / m.sum()
    return f, gamma, xi, loglik


@pytest.mark.parametrize("length", [1, 2, 3, 17, 50, 257])
def test_forward_backward_matches_the_textbook_loop(length: int) -> None:
    rng = np.random.default_rng(length)
    k = 3
    trans = rng.dirichlet(np.ones(k) * 2, size=k)
    start = rng.dirichlet(np.ones(k))
    means = rng.normal(size=(k, 2))
    covs = np.array([np.eye(2) * s for s in (0.3, 1.0, 2.5)])
    x = rng.normal(size=(length, 2)) * 1.5
    logb = _log_emissions(x, means, covs)
    f, gamma, xi, loglik = _naive_forward_backward(start, trans, logb)
    filtered, ll_forward = _forward(start, trans, logb)
    g, xi_sum, ll = _e_step(start, trans, logb)
    np.testing.assert_allclose(filtered, f, atol=1e-12)
    np.testing.assert_allclose(g, gamma, atol=1e-12)
    np.testing.assert_allclose(xi_sum, xi, atol=1e-10)
    assert ll == pytest.approx(loglik, rel=1e-12)
    assert ll_forward == pytest.approx(loglik, rel=1e-12)


def test_forward_survives_extreme_observations() -> None:
    model = GaussianHMM(
        np.array([0.5, 0.5]),
        np.array([[0.99, 0.01], [0.01, 0.99]]),
        np.array([[0.0], [0.0]]),
        np.array([[[1e-4]], [[1.0]]]),
    )
    x = np.concatenate([np.zeros(3000), [1e3], np.zeros(10)])
    probs = model.filter_probabilities(x)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[3000, 1] == pytest.approx(1.0)
    assert math.isfinite(model.score(x))


def test_fit_recovers_a_two_state_model() -> None:
    rng = np.random.default_rng(0)
    trans = np.array([[0.97, 0.03], [0.05, 0.95]])
    states = np.zeros(4000, dtype=int)
    for t in range(1, 4000):
        states[t] = rng.choice(2, p=trans[states[t - 1]])
    means = np.array([[-1.0, 0.0], [2.0, 1.0]])
    x = means[states] + rng.normal(size=(4000, 2)) * np.array([0.5, 1.0])[states][:, None]
    model = fit_hmm(x, 2, seed=1)
    order = np.argsort(model.means[:, 0])
    np.testing.assert_allclose(model.means[order], means, atol=0.1)
    np.testing.assert_allclose(model.transitions[np.ix_(order, order)], trans, atol=0.02)
    np.testing.assert_allclose(model.transitions.sum(axis=1), 1.0)
    assert model.converged
    decoded = order.argsort()[model.posterior_probabilities(x).argmax(axis=1)]
    assert np.mean(decoded == states) > 0.97
    again = fit_hmm(x, 2, seed=1)
    np.testing.assert_array_equal(again.means, model.means)  # deterministic


def test_fit_hmm_errors() -> None:
    with pytest.raises(InvalidDataError, match="at least 40 observations for 4 states"):
        fit_hmm(np.zeros((10, 2)), 4)
    with pytest.raises(InvalidDataError, match="finite"):
        fit_hmm(np.full((100, 1), np.nan), 2)
    with pytest.raises(InvalidParameterError, match="n_states must be an integer >= 1"):
        fit_hmm(np.zeros((100, 1)), 0)


# -- errors ------------------------------------------------------------------------------------------------


def test_too_little_data() -> None:
    bars = bars_from_returns(np.zeros(40))
    with pytest.raises(InvalidDataError, match=r"needs at least 81 bars for trend_window=80, got 40"):
        detect_regime(bars)
    with pytest.raises(InvalidDataError, match=r"needs at least 61 bars for trend_window=60, got 40"):
        detect_regime(bars, RegimeThresholds(trend_window=60))
    with pytest.raises(InvalidDataError, match=r"at least 504 bars for min_train=504 \(method='hmm'\), got 40"):
        detect_regime(bars, method="hmm")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bull_trend": -0.3}, "bear_trend .* must be below bull_trend"),
        ({"crisis_vol": 0.1}, "crisis_vol .* must exceed high_vol"),
        ({"high_vol": 0.0}, "high_vol must be > 0"),
        ({"crisis_drawdown": 1.5}, "crisis_drawdown must be a fraction"),
        ({"hysteresis": 0.5}, "hysteresis must be in"),
        ({"min_duration": 0}, "min_duration must be an integer >= 1"),
        ({"trend_window": 1}, "trend_window must be an integer >= 2"),
        ({"vol_window": 2.5}, "vol_window must be an integer"),
        ({"periods_per_year": -1}, "periods_per_year must be a positive number"),
        ({"bull_trend": math.nan}, "bull_trend must be a finite number"),
    ],
)
def test_bad_thresholds(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        RegimeThresholds(**kwargs)  # type: ignore[arg-type]


def test_bad_method_and_options(market: tuple[Bars, np.ndarray]) -> None:
    bars = market[0]
    with pytest.raises(InvalidParameterError, match="unknown regime method 'magic'; use one of rules, hmm"):
        detect_regime(bars, method="magic")
    with pytest.raises(InvalidParameterError, match="unknown HMM option 'states'; valid options: n_states"):
        detect_regime(bars, method="hmm", states=3)
    with pytest.raises(InvalidParameterError, match="apply to method='hmm' only"):
        detect_regime(bars, n_states=3)
    with pytest.raises(InvalidParameterError, match="init='regimes' needs n_states=7"):
        HMMOptions(n_states=4, init="regimes")
    with pytest.raises(InvalidParameterError, match=r"min_train .* at least 10 \* n_states"):
        HMMOptions(min_train=30)
    with pytest.raises(InvalidParameterError, match="thresholds must be a RegimeThresholds"):
        detect_regime(bars, {"trend_window": 60})  # type: ignore[arg-type]
    with pytest.raises(InvalidDataError, match=r"bars must be gt\.Bars or a pandas DataFrame"):
        detect_regime([1, 2, 3])


def test_hmm_with_kmeans_and_fewer_states(market: tuple[Bars, np.ndarray]) -> None:
    bars, truth = market
    analysis = detect_regime(bars, method="hmm", n_states=4, refit_every=None)
    _check_analysis(analysis, len(bars))
    assert accuracy_report(analysis, truth).volatility_accuracy > 0.85
