"""Market analysis: indicator snapshot, trend/momentum, swings and levels, chart patterns, strategy
comparison and portfolio risk."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gpt_trader_core as gt
from gpt_trader_core import indicators as ind
from gpt_trader_core.analysis import (
    RANKABLE,
    Pattern,
    analyze,
    analyze_portfolio,
    detect_patterns,
    find_swings,
    historical_cvar,
    historical_var,
    support_resistance,
)
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError, UnknownStrategyError
from gpt_trader_core.functions import compare_strategies

try:  # the generator's package was renamed once; accept either name
    from gpt_trader_core.market_sim import generate
except ImportError:  # pragma: no cover
    from gpt_trader_core.synthetic import generate  # type: ignore[no-redef]


def path_bars(anchors: Sequence[tuple[int, float]], *, wick: float = 0.002, start: str = "2021-01-04") -> Bars:
    """Daily bars whose closes run linearly between ``(bar, price)`` anchors; open = previous close,
    high/low = the body widened by ``wick``."""
    xs = [a[0] for a in anchors]
    close = np.interp(np.arange(xs[-1] + 1), xs, [a[1] for a in anchors])
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * (1 + wick)
    low = np.minimum(open_, close) * (1 - wick)
    ts = np.datetime64(start, "D") + np.arange(len(close))
    volume = np.full(len(close), 1e6)
    return Bars(ts, open_, high, low, close, volume, symbol="PATH", timeframe="1d", source="test")


def random_walk(seed: int, n: int, *, symbol: str = "RW", start: str = "2020-01-01") -> Bars:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    ts = np.datetime64(start, "D") + np.arange(n)
    volume = rng.uniform(1e5, 1e6, n)
    return Bars(ts, open_, high, low, close, volume, symbol=symbol, timeframe="1d", source="test")


def found(patterns: Sequence[Pattern], kind: str) -> list[Pattern]:
    return [p for p in patterns if p.kind == kind]


@pytest.fixture(scope="module")
def market() -> Bars:
    return generate("ANALYSIS", "2010-01-01", "2019-12-31", "1d", seed=5).bars


# -- indicator snapshot ------------------------------------------------------------------------------------


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(34, 260))
def test_latest_values_equal_the_indicator_functions(seed: int, n: int) -> None:
    bars = random_walk(seed, n)
    values = analyze(bars).indicators
    c, h, lo = bars.close, bars.high, bars.low
    assert set(values.sma) == {p for p in (20, 50, 200) if p <= n}
    for period, value in values.sma.items():
        assert _same(value, ind.sma(c, period)[-1])
    macd = ind.macd(c)
    bands = ind.bollinger(c)
    stoch = ind.stochastic(h, lo, c)
    pairs = [
        (values.ema_12, ind.ema(c, 12)[-1]),
        (values.ema_26, ind.ema(c, 26)[-1]),
        (values.rsi_14, ind.rsi(c, 14)[-1]),
        (values.macd, macd.macd[-1]),
        (values.macd_signal, macd.signal[-1]),
        (values.macd_histogram, macd.histogram[-1]),
        (values.bollinger_middle, bands.middle[-1]),
        (values.bollinger_upper, bands.upper[-1]),
        (values.bollinger_lower, bands.lower[-1]),
        (values.atr_14, ind.atr(h, lo, c, 14)[-1]),
        (values.obv, ind.obv(c, bars.volume)[-1]),
        (values.stochastic_k, stoch.k[-1]),
        (values.stochastic_d, stoch.d[-1]),
    ]
    for got, expected in pairs:
        assert _same(got, float(expected))
    expected_b = (c[-1] - bands.lower[-1]) / (bands.upper[-1] - bands.lower[-1])
    assert values.bollinger_percent_b == pytest.approx(expected_b)


def test_trend_and_momentum_on_clear_paths() -> None:
    up = analyze(path_bars([(0, 100), (120, 200)]))
    assert up.trend.direction == "up"
    assert up.trend.strength > 0.8
    assert up.momentum.rsi_zone == "overbought"
    down = analyze(path_bars([(0, 200), (120, 100)]))
    assert down.trend.direction == "down"
    assert down.momentum.rsi_zone == "oversold"
    flat = analyze(path_bars([(i * 5, 100 + (2 if i % 2 else -2)) for i in range(25)]))
    assert flat.trend.direction == "sideways"
    assert flat.momentum.rsi_zone == "neutral"
    # a turn: up then sharply down -> the MACD crossed bearish recently
    turn = analyze(path_bars([(0, 100), (80, 150), (84, 140)]))
    assert turn.momentum.macd_state == "bearish"
    assert turn.momentum.last_cross == "bearish_cross"
    assert turn.momentum.bars_since_cross is not None and turn.momentum.bars_since_cross < 5
    assert turn.momentum.recent_cross == "bearish_cross"


def test_analysis_is_json_ready_and_readable(market: Bars) -> None:
    result = analyze(market)
    text = json.dumps(result.to_dict())
    assert '"trend"' in text and "NaN" not in text
    assert "MarketAnalysis(ANALYSIS 1d" in repr(result)
    assert result.bars == len(market)
    assert result.nearest_support is None or result.nearest_support <= result.close
    assert result.nearest_resistance is None or result.nearest_resistance > result.close
    assert all(0.0 <= p.confidence <= 1.0 for p in result.patterns)
    assert all(p.start_bar <= p.end_bar < len(market) for p in result.patterns)
    assert set(result.recent_patterns(len(market))) == set(result.patterns)


def test_accepts_a_dataframe(goog: Bars) -> None:
    assert analyze(goog.to_frame()).indicators == analyze(goog).indicators


# -- swings and levels ---------------------------------------------------------------------------------------


def test_swings_alternate_and_move_at_least_swing_pct(market: Bars) -> None:
    swings = find_swings(market, 0.05)
    points = swings.points
    assert len(points) > 20
    for a, b in itertools.pairwise(points):
        assert a.kind != b.kind
        assert a.bar < b.bar <= b.confirmed_bar
        move = b.price / a.price - 1 if b.kind == "high" else 1 - b.price / a.price
        assert move >= 0.05 - 1e-12
        # the swing is the extreme between its neighbours
        segment = market.high[a.bar : b.bar + 1] if b.kind == "high" else market.low[a.bar : b.bar + 1]
        assert b.price == (segment.max() if b.kind == "high" else segment.min())


def test_swings_are_causal(market: Bars) -> None:
    full = find_swings(market, 0.05).points
    cut = 1200
    early = find_swings(market.slice(0, cut), 0.05).points
    assert early == tuple(p for p in full if p.confirmed_bar < cut)


def test_support_and_resistance_of_a_range() -> None:
    anchors = [(0, 100), (10, 110), (20, 100), (30, 110), (40, 100), (50, 110), (60, 105)]
    bars = path_bars(anchors)
    levels = support_resistance(bars, swing_pct=0.04)
    support, resistance = levels.nearest_support, levels.nearest_resistance
    assert support is not None and resistance is not None
    assert support.price == pytest.approx(100 * 0.998)
    assert resistance.price == pytest.approx(110 * 1.002)
    assert support.touches == 3 and support.swing_lows == 3
    assert resistance.touches == 3 and resistance.swing_highs == 3
    assert (support.first_bar, support.last_bar) == (0, 40)
    assert (resistance.first_bar, resistance.last_bar) == (10, 50)
    assert support.kind == "support" and resistance.kind == "resistance"
    assert len(levels.levels) == 2
    assert levels.supports == (support,) and levels.resistances == (resistance,)
    assert support_resistance(bars, swing_pct=0.04, min_touches=4).levels == ()


# -- patterns ------------------------------------------------------------------------------------------------


def test_double_top() -> None:
    bars = path_bars([(0, 100), (20, 120), (30, 108), (40, 120), (55, 100)])
    (top,) = found(detect_patterns(bars, swing_pct=0.05), "double_top")
    assert (top.start_bar, top.end_bar) == (20, 50)  # first peak .. first close below the neckline
    assert top.confirmed and top.bias == "bearish"
    assert top.key_levels["neckline"] == pytest.approx(108 * 0.998)
    assert top.key_levels["first_peak"] == pytest.approx(120 * 1.002)
    assert top.key_levels["target"] < top.key_levels["neckline"]
    assert top.confidence > 0.8
    assert top.start_time == bars.start + dt.timedelta(days=20)
    assert top.end_time == bars.start + dt.timedelta(days=50)


def test_double_bottom_mirror() -> None:
    bars = path_bars([(0, 120), (20, 100), (30, 112), (40, 100), (55, 125)])
    (bottom,) = found(detect_patterns(bars, swing_pct=0.05), "double_bottom")
    assert bottom.start_bar == 20 and bottom.confirmed and bottom.bias == "bullish"
    assert bars.close[bottom.end_bar] > bottom.key_levels["neckline"] >= bars.close[bottom.end_bar - 1]


def test_unfinished_double_top_is_unconfirmed() -> None:
    bars = path_bars([(0, 100), (20, 120), (30, 108), (40, 120), (46, 112)])
    (top,) = found(detect_patterns(bars, swing_pct=0.05), "double_top")
    assert not top.confirmed
    assert top.confidence <= 0.7  # 0.7 * quality, without the 0.3 of a confirmation
    # once the price runs above the peaks, it is no double top any more
    invalid = path_bars([(0, 100), (20, 120), (30, 108), (40, 120), (46, 113), (60, 135)])
    assert found(detect_patterns(invalid, swing_pct=0.05), "double_top") == []


def test_head_and_shoulders() -> None:
    anchors = [(0, 100), (15, 115), (25, 105), (40, 125), (50, 105), (60, 115), (75, 95)]
    bars = path_bars(anchors)
    (hs,) = found(detect_patterns(bars, swing_pct=0.05), "head_and_shoulders")
    assert (hs.start_bar, hs.end_bar) == (15, 68)
    assert hs.confirmed and hs.bias == "bearish"
    assert hs.key_levels["head"] == pytest.approx(125 * 1.002)
    assert hs.key_levels["left_shoulder"] == pytest.approx(hs.key_levels["right_shoulder"])
    assert hs.key_levels["neckline"] == pytest.approx(105 * 0.998)
    assert hs.confidence > 0.8


def test_inverse_head_and_shoulders() -> None:
    anchors = [(0, 130), (15, 115), (25, 125), (40, 105), (50, 125), (60, 115), (75, 135)]
    bars = path_bars(anchors)
    (ihs,) = found(detect_patterns(bars, swing_pct=0.05), "inverse_head_and_shoulders")
    assert ihs.start_bar == 15 and ihs.confirmed and ihs.bias == "bullish"
    assert bars.close[ihs.end_bar] > ihs.key_levels["neckline"]


def test_ascending_triangle() -> None:
    anchors = [(0, 100), (10, 120), (20, 105), (30, 120), (40, 110), (50, 120), (60, 115), (70, 130)]
    bars = path_bars(anchors)
    triangles = found(detect_patterns(bars, swing_pct=0.04), "ascending_triangle")
    assert len(triangles) == 1
    (tri,) = triangles
    assert tri.start_bar in (0, 10)
    assert tri.end_bar == 64  # the first close above the flat top (120 * 1.002)
    assert bars.close[64] > 120 * 1.002 > bars.close[63]
    assert tri.confirmed and tri.bias == "bullish"
    assert tri.key_levels["upper_start"] == pytest.approx(120 * 1.002)
    assert tri.key_levels["upper_end"] == pytest.approx(120 * 1.002)
    assert tri.key_levels["lower_end"] > tri.key_levels["lower_start"]


def test_descending_and_symmetric_triangles() -> None:
    descending = path_bars([(0, 120), (10, 100), (20, 115), (30, 100), (40, 110), (50, 100), (60, 105), (70, 90)])
    (d,) = found(detect_patterns(descending, swing_pct=0.04), "descending_triangle")
    assert d.confirmed and d.bias == "bearish"
    symmetric = path_bars([(0, 90), (10, 130), (20, 95), (30, 125), (40, 100), (50, 120), (60, 105), (72, 135)])
    (s,) = found(detect_patterns(symmetric, swing_pct=0.04), "symmetric_triangle")
    assert s.confirmed and s.bias == "bullish"


def test_bull_flag() -> None:
    bars = path_bars([(0, 105), (18, 100), (30, 120), (36, 115), (45, 130)])
    flags = found(detect_patterns(bars, swing_pct=0.04), "bull_flag")
    assert len(flags) == 1
    (flag,) = flags
    assert (flag.start_bar, flag.end_bar) == (18, 40)  # pole start .. first close above the flag's high
    assert flag.confirmed and flag.bias == "bullish"
    assert flag.key_levels["pole_top"] == pytest.approx(120 * 1.002)
    assert flag.key_levels["pole_start"] == pytest.approx(100 * 0.998)
    assert flag.key_levels["flag_low"] == pytest.approx(115 * 0.998)
    assert flag.key_levels["target"] == pytest.approx(bars.close[40] + 120 * 1.002 - 100 * 0.998)


def test_bear_flag_and_deep_pullback_is_no_flag() -> None:
    bars = path_bars([(0, 125), (18, 130), (30, 110), (36, 115), (45, 100)])
    (flag,) = found(detect_patterns(bars, swing_pct=0.04), "bear_flag")
    assert flag.start_bar == 18 and flag.confirmed and flag.bias == "bearish"
    deep = path_bars([(0, 105), (18, 100), (30, 120), (36, 108), (45, 130)])  # retraces 60 % of the pole
    assert found(detect_patterns(deep, swing_pct=0.04), "bull_flag") == []


def test_confirmed_patterns_are_causal(market: Bars) -> None:
    """A confirmed pattern is found, identically, from the bars up to its end bar only."""
    patterns = [p for p in detect_patterns(market, swing_pct=0.05) if p.confirmed]
    assert len(patterns) >= 5
    for p in patterns[:: max(1, len(patterns) // 8)]:
        again = detect_patterns(market.slice(0, p.end_bar + 1), swing_pct=0.05)
        assert p in again, p


def test_pattern_kinds_filter_and_errors(market: Bars) -> None:
    only = detect_patterns(market, swing_pct=0.05, kinds=["double_top"])
    assert {p.kind for p in only} <= {"double_top"}
    with pytest.raises(InvalidParameterError, match="unknown pattern kind 'cup'"):
        detect_patterns(market, kinds=["cup"])
    with pytest.raises(InvalidParameterError, match="swing_pct must be a fraction"):
        find_swings(market, 1.5)


def test_analyze_errors() -> None:
    with pytest.raises(InvalidDataError, match=r"analyze needs at least 34 bars .* got 20"):
        analyze(random_walk(0, 20))
    with pytest.raises(InvalidDataError, match=r"bars must be gt\.Bars or a pandas DataFrame"):
        analyze([1.0, 2.0, 3.0])


# -- strategy comparison ----------------------------------------------------------------------------------


def test_compare_strategies_on_goog(goog: Bars) -> None:
    entries: list[str | tuple[str, dict[str, float]]] = [
        "sma_cross",
        ("sma_cross", {"fast": 5, "slow": 20}),
        "momentum",
        "mean_reversion",
        "breakout",
        ("volatility", {"vol_threshold": 0.001}),  # never trades: NaN Sharpe ratio
    ]
    table = compare_strategies(goog, entries, commission=0.002)
    assert len(table) == 6
    sharpes = [row.stats["sharpe_ratio"] for row in table]
    numbers = [s for s in sharpes if not math.isnan(s)]
    assert numbers == sorted(numbers, reverse=True)
    assert math.isnan(sharpes[-1]) and table[-1].strategy == "volatility"
    assert [row.rank for row in table] == list(range(1, 7))
    best = table.best
    direct = gt.backtest(goog, best.strategy, commission=0.002, **best.params)
    for key in RANKABLE:
        assert _same(float(best.stats[key]), float(direct.stats[key]))
    assert best.result.stats["return_pct"] == direct.stats["return_pct"]
    assert set(table.records()[0]) == {"rank", "strategy", "params", *RANKABLE}
    assert "ranked by sharpe_ratio" in str(table)
    by_trades = compare_strategies(goog, entries[:5], rank_by="num_trades")
    trades = [row["num_trades"] for row in by_trades]
    assert trades == sorted(trades, reverse=True)
    drawdowns = [r["max_drawdown_pct"] for r in compare_strategies(goog, entries[:3], rank_by="max_drawdown_pct")]
    assert drawdowns == sorted(drawdowns, reverse=True)  # shallowest (closest to 0) first


def test_compare_strategies_errors(goog: Bars) -> None:
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'nope'"):
        compare_strategies(goog, ["nope"])
    with pytest.raises(InvalidParameterError, match="rank_by must be one of"):
        compare_strategies(goog, ["sma_cross"], rank_by="alpha")
    with pytest.raises(InvalidParameterError, match="strategies is empty"):
        compare_strategies(goog, [])
    with pytest.raises(InvalidParameterError, match=r"strategies\[1\] must be a strategy name or a \(name, params\)"):
        compare_strategies(goog, ["sma_cross", 42])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="unknown backtest setting 'fees'"):
        compare_strategies(goog, ["sma_cross"], fees=0.1)
    with pytest.raises(InvalidParameterError, match="sma_cross: unknown parameter 'speed'"):
        compare_strategies(goog, [("sma_cross", {"speed": 3})])


# -- portfolio -----------------------------------------------------------------------------------------------


returns_strategy = st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=5, max_size=300)


@settings(max_examples=100, deadline=None)
@given(returns=returns_strategy, low=st.floats(0.5, 0.999), high=st.floats(0.5, 0.999))
def test_var_is_monotone_and_cvar_exceeds_var(returns: list[float], low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    assert historical_var(returns, high) >= historical_var(returns, low) - 1e-15
    assert historical_cvar(returns, high) >= historical_cvar(returns, low) - 1e-15
    assert historical_cvar(returns, low) >= historical_var(returns, low) - 1e-15
    assert historical_var(returns, 0.99) >= historical_var(returns, 0.95) - 1e-15


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[dict[str, Bars], dict[str, float]]:
    k = draw(st.integers(1, 4))
    n = draw(st.integers(30, 150))
    seed = draw(st.integers(0, 2**32 - 1))
    symbols = [f"S{i}" for i in range(k)]
    prices = {s: random_walk(seed + i, n, symbol=s) for i, s in enumerate(symbols)}
    raw = draw(st.lists(st.floats(-1.0, 2.0, allow_nan=False), min_size=k, max_size=k))
    if sum(raw) <= 0.05:
        raw = [abs(w) + 0.1 for w in raw]
    return prices, dict(zip(symbols, raw, strict=True))


@settings(max_examples=40, deadline=None)
@given(case=portfolios())
def test_portfolio_properties(case: tuple[dict[str, Bars], dict[str, float]]) -> None:
    prices, weights = case
    result = analyze_portfolio(prices, weights)
    k = len(prices)
    corr = np.array(result.correlation)
    assert corr.shape == (k, k)
    np.testing.assert_array_equal(np.diag(corr), 1.0)
    np.testing.assert_array_equal(corr, corr.T)
    assert np.nanmax(np.abs(corr)) <= 1.0
    assert sum(result.normalised_weights.values()) == pytest.approx(1.0)
    assert result.net_exposure == pytest.approx(sum(weights.values()))
    assert result.gross_exposure == pytest.approx(sum(abs(w) for w in weights.values()))
    assert result.long_exposure - result.short_exposure == pytest.approx(result.net_exposure)
    assert 1 / k - 1e-12 <= result.herfindahl <= 1 + 1e-12
    assert result.effective_positions == pytest.approx(1 / result.herfindahl)
    assert result.var_99 >= result.var_95
    assert result.cvar_95 >= result.var_95 and result.cvar_99 >= result.var_99
    assert result.value_at_risk(0.95) == result.var_95
    assert result.expected_shortfall(0.99) == result.cvar_99
    assert result.volatility_ann >= 0 and 0 <= result.max_drawdown < 1
    assert len(result.returns) == result.bars - 1


def test_portfolio_on_synthetic_markets() -> None:
    prices = {s: generate(s, "2015-01-01", "2019-12-31", "1d", seed=1).bars for s in ("AAA", "BBB", "CCC")}
    equal = analyze_portfolio(prices)
    assert equal.weights == {"AAA": 1 / 3, "BBB": 1 / 3, "CCC": 1 / 3}
    assert equal.herfindahl == pytest.approx(1 / 3)
    assert equal.beta == pytest.approx(1.0)  # the equal-weight portfolio is the default benchmark
    assert equal.benchmark_name == "equal_weight"
    single = analyze_portfolio(prices, {"AAA": 1.0}, benchmark=prices["AAA"])
    assert single.beta == pytest.approx(1.0)
    assert single.herfindahl == 1.0 and single.largest_symbol == "AAA"
    assert single.volatility_ann == pytest.approx(single.asset_volatility_ann["AAA"])
    assert single.correlation_of("AAA", "AAA") == 1.0
    levered = analyze_portfolio(prices, {"AAA": 1.5, "BBB": -0.5})
    assert levered.gross_exposure == 2.0 and levered.net_exposure == 1.0 and levered.short_exposure == 0.5
    assert json.dumps(equal.to_dict())


def test_portfolio_aligns_on_common_timestamps() -> None:
    a = random_walk(1, 100, symbol="A", start="2020-01-01")
    b = random_walk(2, 100, symbol="B", start="2020-02-10")  # overlaps 60 days
    result = analyze_portfolio({"A": a, "B": b})
    assert result.bars == 60
    assert result.start == b.start and result.end == a.end


def test_portfolio_errors() -> None:
    a = random_walk(1, 100, symbol="A")
    b = random_walk(2, 100, symbol="B")
    late = random_walk(3, 100, symbol="C", start="2020-03-20")  # 21 days of overlap with a
    with pytest.raises(InvalidDataError, match="needs at least 30 bars common to A, C, got 21"):
        analyze_portfolio({"A": a, "C": late})
    with pytest.raises(InvalidParameterError, match=r"weights must sum to a positive number .* got -0\.5"):
        analyze_portfolio({"A": a, "B": b}, {"A": 0.5, "B": -1.0})
    with pytest.raises(InvalidParameterError, match="weights name 'MSFT', not among the prices"):
        analyze_portfolio({"A": a, "B": b}, {"A": 0.5, "MSFT": 0.5})
    with pytest.raises(InvalidParameterError, match="weight of 'A' must be a finite number"):
        analyze_portfolio({"A": a}, {"A": math.inf})
    with pytest.raises(InvalidDataError, match="prices must be a non-empty mapping"):
        analyze_portfolio({})
    with pytest.raises(InvalidParameterError, match="confidence must be in"):
        historical_var([0.01, -0.02], 1.0)
    with pytest.raises(InvalidParameterError, match="unknown symbol 'Z'"):
        analyze_portfolio({"A": a, "B": b}).correlation_of("A", "Z")
