"""Indicators against plain-Python reference implementations, pandas, and their contracts.

The references below are deliberately naive (loops over lists, ``math.fsum``) so that they are
obviously correct; the library's vectorised versions must agree with them to ~1e-9 relative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.errors import GptTraderError, InvalidDataError, InvalidParameterError
from gpt_trader_core.indicators import (
    MACD,
    Bollinger,
    Stochastic,
    atr,
    bollinger,
    ema,
    first_valid_index,
    log_returns,
    macd,
    obv,
    returns,
    rolling_max,
    rolling_min,
    rolling_std,
    rsi,
    sma,
    stochastic,
)

NAN = math.nan
RTOL = 1e-9
SETTINGS = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------- references


def ref_sma(x: Sequence[float], p: int) -> list[float]:
    return [NAN if i < p - 1 else math.fsum(x[i - p + 1 : i + 1]) / p for i in range(len(x))]


def ref_ema(x: Sequence[float], p: int) -> list[float]:
    out = [NAN] * len(x)
    if len(x) < p:
        return out
    alpha = 2.0 / (p + 1)
    value = math.fsum(x[:p]) / p
    out[p - 1] = value
    for i in range(p, len(x)):
        value = alpha * x[i] + (1.0 - alpha) * value
        out[i] = value
    return out


def ref_wilder(x: Sequence[float], p: int) -> list[float]:
    """Wilder average of ``x``: simple mean of the first ``p`` values, then (prev*(p-1) + x) / p."""
    out = [NAN] * len(x)
    if len(x) < p:
        return out
    value = math.fsum(x[:p]) / p
    out[p - 1] = value
    for i in range(p, len(x)):
        value = (value * (p - 1) + x[i]) / p
        out[i] = value
    return out


def ref_rsi(x: Sequence[float], p: int) -> list[float]:
    out = [NAN] * len(x)
    if len(x) <= p:
        return out
    gains = [max(x[i] - x[i - 1], 0.0) for i in range(1, len(x))]
    losses = [max(x[i - 1] - x[i], 0.0) for i in range(1, len(x))]
    avg_gain, avg_loss = ref_wilder(gains, p), ref_wilder(losses, p)
    for i in range(p, len(x)):
        g, loss = avg_gain[i - 1], avg_loss[i - 1]
        if g == 0.0 and loss == 0.0:
            out[i] = 50.0
        elif loss == 0.0:
            out[i] = 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + g / loss)
    return out


def ref_macd(x: Sequence[float], fast: int, slow: int, signal: int) -> tuple[list[float], ...]:
    fast_ema, slow_ema = ref_ema(x, fast), ref_ema(x, slow)
    line = [f - s for f, s in zip(fast_ema, slow_ema, strict=True)]
    start = slow - 1
    signal_line = [NAN] * len(x)
    if len(x) > start:
        signal_line[start:] = ref_ema(line[start:], signal)
    hist = [m - s for m, s in zip(line, signal_line, strict=True)]
    return line, signal_line, hist


def ref_std(x: Sequence[float], p: int, ddof: int = 0) -> list[float]:
    out = [NAN] * len(x)
    for i in range(p - 1, len(x)):
        window = x[i - p + 1 : i + 1]
        mean = math.fsum(window) / p
        out[i] = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / (p - ddof))
    return out


def ref_true_range(h: Sequence[float], lo: Sequence[float], c: Sequence[float]) -> list[float]:
    return [
        h[i] - lo[i] if i == 0 else max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1]))
        for i in range(len(c))
    ]


def ref_obv(c: Sequence[float], v: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for i in range(len(c)):
        if i > 0 and c[i] > c[i - 1]:
            total += v[i]
        elif i > 0 and c[i] < c[i - 1]:
            total -= v[i]
        out.append(total)
    return out


def ref_rolling(x: Sequence[float], p: int, pick: Callable[[Sequence[float]], float]) -> list[float]:
    return [NAN if i < p - 1 else pick(x[i - p + 1 : i + 1]) for i in range(len(x))]


def ref_stochastic(
    h: Sequence[float], lo: Sequence[float], c: Sequence[float], kp: int, dp: int
) -> tuple[list[float], list[float]]:
    k = [NAN] * len(c)
    for i in range(kp - 1, len(c)):
        hh, ll = max(h[i - kp + 1 : i + 1]), min(lo[i - kp + 1 : i + 1])
        k[i] = 50.0 if hh == ll else 100.0 * (c[i] - ll) / (hh - ll)
    d = [NAN] * len(c)
    for i in range(kp + dp - 2, len(c)):
        d[i] = math.fsum(k[i - dp + 1 : i + 1]) / dp
    return k, d


def close_to(actual: Any, expected: Sequence[float], *, rtol: float = RTOL, atol: float = 0.0) -> None:
    """Same NaN positions, values within tolerance."""
    actual = np.asarray(actual)
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def equal(actual: Any, expected: Any) -> None:
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected, dtype=np.float64))


# --------------------------------------------------------------------------- data

price = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False, allow_infinity=False)


@st.composite
def random_walks(draw: st.DrawFn) -> list[float]:
    n = draw(st.integers(0, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vol = draw(st.sampled_from([0.001, 0.01, 0.05]))
    walk = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    if draw(st.booleans()):  # tick-rounded prices: repeated values and flat stretches
        walk = np.round(walk, 1)
    return [float(v) for v in walk]


prices = st.one_of(st.lists(price, max_size=300), random_walks())
periods = st.integers(1, 40)


@st.composite
def bars(draw: st.DrawFn) -> tuple[list[float], list[float], list[float], list[float]]:
    close = draw(prices)
    n = len(close)
    unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    up = draw(st.lists(unit, min_size=n, max_size=n))
    down = draw(st.lists(unit, min_size=n, max_size=n))
    volume = draw(st.lists(st.floats(min_value=0.0, max_value=1e7, allow_nan=False), min_size=n, max_size=n))
    high = [c * (1.0 + 0.05 * u) for c, u in zip(close, up, strict=True)]
    low = [c * (1.0 - 0.05 * d) for c, d in zip(close, down, strict=True)]
    return high, low, close, volume


# --------------------------------------------------------------------------- against the references


@SETTINGS
@given(prices, periods)
def test_sma_matches_reference(x: list[float], p: int) -> None:
    close_to(sma(x, p), ref_sma(x, p))


@SETTINGS
@given(prices, periods)
def test_ema_matches_reference(x: list[float], p: int) -> None:
    close_to(ema(x, p), ref_ema(x, p), atol=1e-9)


@SETTINGS
@given(prices, periods)
def test_rsi_matches_reference(x: list[float], p: int) -> None:
    result = rsi(x, p)
    close_to(result, ref_rsi(x, p), atol=1e-8)
    valid = result[~np.isnan(result)]
    assert np.all((valid >= 0.0) & (valid <= 100.0))


@SETTINGS
@given(prices, st.integers(1, 15), st.integers(1, 15), st.integers(1, 15))
def test_macd_matches_reference(x: list[float], a: int, b: int, signal: int) -> None:
    fast, slow = min(a, b), max(a, b) + 1
    result = macd(x, fast, slow, signal)
    assert isinstance(result, MACD)
    for actual, expected in zip(result, ref_macd(x, fast, slow, signal), strict=True):
        close_to(actual, expected, atol=1e-8)


@SETTINGS
@given(prices, periods, st.integers(0, 2))
def test_rolling_std_matches_reference(x: list[float], p: int, ddof: int) -> None:
    if ddof >= p:
        ddof = 0
    close_to(rolling_std(x, p, ddof), ref_std(x, p, ddof), atol=1e-9)


@SETTINGS
@given(prices, periods, st.floats(min_value=0.0, max_value=4.0))
def test_bollinger_matches_reference(x: list[float], p: int, k: float) -> None:
    result = bollinger(x, p, k)
    assert isinstance(result, Bollinger)
    middle, std = ref_sma(x, p), ref_std(x, p)
    close_to(result.middle, middle)
    close_to(result.upper, [m + k * s for m, s in zip(middle, std, strict=True)], atol=1e-9)
    close_to(result.lower, [m - k * s for m, s in zip(middle, std, strict=True)], atol=1e-9)


@SETTINGS
@given(bars(), periods)
def test_atr_matches_reference(ohlcv: tuple[list[float], ...], p: int) -> None:
    high, low, close, _ = ohlcv
    close_to(atr(high, low, close, p), ref_wilder(ref_true_range(high, low, close), p), atol=1e-9)


@SETTINGS
@given(bars())
def test_obv_matches_reference_exactly(ohlcv: tuple[list[float], ...]) -> None:
    _, _, close, volume = ohlcv
    equal(obv(close, volume), ref_obv(close, volume))


@SETTINGS
@given(bars(), periods, st.integers(1, 10))
def test_stochastic_matches_reference(ohlcv: tuple[list[float], ...], kp: int, dp: int) -> None:
    high, low, close, _ = ohlcv
    result = stochastic(high, low, close, kp, dp)
    assert isinstance(result, Stochastic)
    k, d = ref_stochastic(high, low, close, kp, dp)
    close_to(result.k, k, atol=1e-9)
    close_to(result.d, d, atol=1e-9)
    valid = result.k[~np.isnan(result.k)]
    assert np.all((valid >= 0.0) & (valid <= 100.0))


@SETTINGS
@given(prices, st.integers(1, 320))
def test_rolling_extremes_match_reference_exactly(x: list[float], p: int) -> None:
    equal(rolling_max(x, p), ref_rolling(x, p, max))
    equal(rolling_min(x, p), ref_rolling(x, p, min))


@SETTINGS
@given(prices)
def test_returns_match_reference(x: list[float]) -> None:
    simple = [NAN][: len(x)] + [x[i] / x[i - 1] - 1.0 for i in range(1, len(x))]
    logs = [NAN][: len(x)] + [math.log(x[i] / x[i - 1]) for i in range(1, len(x))]
    close_to(returns(x), simple, atol=1e-15)
    close_to(log_returns(x), logs, atol=1e-15)


@SETTINGS
@given(st.integers(0, 50), st.integers(0, 50))
def test_first_valid_index(warmup: int, valid: int) -> None:
    values = [NAN] * warmup + [1.5] * valid
    assert first_valid_index(values) == warmup
    assert first_valid_index(np.asarray(values)) == next(
        (i for i, v in enumerate(values) if not math.isnan(v)), len(values)
    )


# --------------------------------------------------------------------------- causality

ALL_INDICATORS: dict[str, Callable[[list[float], list[float], list[float], list[float]], list[Any]]] = {
    "sma": lambda h, lo, c, v: [sma(c, 7)],
    "ema": lambda h, lo, c, v: [ema(c, 2), ema(c, 9)],
    "rsi": lambda h, lo, c, v: [rsi(c, 5)],
    "macd": lambda h, lo, c, v: list(macd(c, 3, 8, 4)),
    "bollinger": lambda h, lo, c, v: list(bollinger(c, 6, 2.0)),
    "rolling_std": lambda h, lo, c, v: [rolling_std(c, 5, 1)],
    "atr": lambda h, lo, c, v: [atr(h, lo, c, 4)],
    "obv": lambda h, lo, c, v: [obv(c, v)],
    "stochastic": lambda h, lo, c, v: list(stochastic(h, lo, c, 5, 3)),
    "rolling_max": lambda h, lo, c, v: [rolling_max(h, 6)],
    "rolling_min": lambda h, lo, c, v: [rolling_min(lo, 6)],
    "returns": lambda h, lo, c, v: [returns(c), log_returns(c)],
}


@SETTINGS
@given(bars(), st.data())
def test_appending_data_never_changes_earlier_outputs(ohlcv: tuple[list[float], ...], data: st.DataObject) -> None:
    high, low, close, volume = ohlcv
    cut = data.draw(st.integers(0, len(close)))
    for name, compute in ALL_INDICATORS.items():
        full = compute(high, low, close, volume)
        prefix = compute(high[:cut], low[:cut], close[:cut], volume[:cut])
        for whole, part in zip(full, prefix, strict=True):
            assert len(whole) == len(close) and len(part) == cut, name
            np.testing.assert_array_equal(part, whole[:cut], err_msg=name)


@SETTINGS
@given(prices, st.integers(0, 30), st.integers(1, 20))
def test_leading_nans_only_extend_the_warm_up(x: list[float], k: int, p: int) -> None:
    """Feeding one indicator's output (NaN warm-up) into another shifts the result, nothing more."""
    padded = [NAN] * k + x
    indicators: list[Callable[[list[float]], list[Any]]] = [
        lambda v: [sma(v, p)],
        lambda v: [ema(v, p)],
        lambda v: [rsi(v, p)],
        lambda v: list(macd(v, p, p + 3, 4)),
        lambda v: list(bollinger(v, p)),
        lambda v: [rolling_std(v, p), rolling_max(v, p), rolling_min(v, p)],
    ]
    for f in indicators:
        for shifted, plain in zip(f(padded), f(x), strict=True):
            np.testing.assert_array_equal(shifted, [NAN] * k + plain.tolist())


def test_causality_across_many_blocks() -> None:
    """The recursive smoothers work in blocks of 256 values: prefixes of every length stay bit-identical."""
    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 1500)))
    high, low = close * 1.01, close * 0.99
    full = [ema(close, 10), rsi(close, 14), atr(high, low, close, 14), *macd(close), sma(close, 50)]
    for cut in (1, 26, 255, 256, 257, 270, 511, 512, 513, 777, 1499):
        part = [ema(close[:cut], 10), rsi(close[:cut], 14), atr(high[:cut], low[:cut], close[:cut], 14)]
        part += [*macd(close[:cut]), sma(close[:cut], 50)]
        for whole, prefix in zip(full, part, strict=True):
            np.testing.assert_array_equal(prefix, whole[:cut])


def test_long_series_match_references() -> None:
    """Several blocks of the vectorised recursion against the plain loops, on 3,000 bars."""
    rng = np.random.default_rng(11)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 3000)))
    high, low = close * (1 + rng.uniform(0, 0.02, 3000)), close * (1 - rng.uniform(0, 0.02, 3000))
    c, h, lo = close.tolist(), high.tolist(), low.tolist()
    for p in (2, 3, 20, 200):
        close_to(ema(close, p), ref_ema(c, p))
        close_to(rsi(close, p), ref_rsi(c, p), atol=1e-9)
        close_to(atr(high, low, close, p), ref_wilder(ref_true_range(h, lo, c), p))
    for actual, expected in zip(macd(close), ref_macd(c, 12, 26, 9), strict=True):
        close_to(actual, expected, atol=1e-9)


# --------------------------------------------------------------------------- pandas parity


@SETTINGS
@given(prices, periods)
def test_sma_equals_pandas_rolling_mean(x: list[float], p: int) -> None:
    expected = pd.Series(x, dtype="float64").rolling(p).mean().to_numpy()
    close_to(sma(x, p), expected, rtol=1e-12)


def test_sma_has_no_drift_against_pandas_over_10000_bars() -> None:
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 10_000)))
    for p in (2, 5, 10, 20, 30, 50, 100, 200):
        expected = pd.Series(close).rolling(p).mean().to_numpy()
        close_to(sma(close, p), expected, rtol=1e-12)
    # Fast/slow comparisons agree with pandas on every bar, including on tick-rounded flat stretches.
    ticks = np.round(close, 0)
    for fast, slow in ((5, 20), (10, 30), (20, 50)):
        ours = sma(ticks, fast)[slow:] > sma(ticks, slow)[slow:]
        theirs = pd.Series(ticks).rolling(fast).mean()[slow:] > pd.Series(ticks).rolling(slow).mean()[slow:]
        np.testing.assert_array_equal(ours, theirs.to_numpy())


def test_other_indicators_agree_with_pandas() -> None:
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 2000)))
    series = pd.Series(close)
    for p in (5, 20):
        for ddof in (0, 1):
            close_to(rolling_std(close, p, ddof), series.rolling(p).std(ddof=ddof), rtol=1e-6, atol=1e-9)
        equal(rolling_max(close, p), series.rolling(p).max())
        equal(rolling_min(close, p), series.rolling(p).min())
        # EMA = pandas' recursive ewm started from the SMA seed.
        seeded = pd.Series([close[:p].mean(), *close[p:]]).ewm(span=p, adjust=False).mean().to_numpy()
        close_to(ema(close, p)[p - 1 :], seeded)
    close_to(returns(close), series.pct_change(), atol=1e-15)


# --------------------------------------------------------------------------- warm-up and edge cases


def test_warm_up_nan_counts() -> None:
    x = np.linspace(100.0, 150.0, 60) + np.sin(np.arange(60))
    h, lo = x + 1.0, x - 1.0
    expected = {
        "sma(10)": (sma(x, 10), 9),
        "ema(10)": (ema(x, 10), 9),
        "rsi(14)": (rsi(x, 14), 14),
        "macd.macd": (macd(x).macd, 25),
        "macd.signal": (macd(x).signal, 33),
        "macd.histogram": (macd(x).histogram, 33),
        "bollinger.middle": (bollinger(x).middle, 19),
        "bollinger.upper": (bollinger(x).upper, 19),
        "bollinger.lower": (bollinger(x).lower, 19),
        "rolling_std(5)": (rolling_std(x, 5), 4),
        "atr(14)": (atr(h, lo, x), 13),
        "obv": (obv(x, np.ones(60)), 0),
        "stochastic.k": (stochastic(h, lo, x).k, 13),
        "stochastic.d": (stochastic(h, lo, x).d, 15),
        "rolling_max(7)": (rolling_max(x, 7), 6),
        "rolling_min(7)": (rolling_min(x, 7), 6),
        "returns": (returns(x), 1),
        "log_returns": (log_returns(x), 1),
    }
    for name, (values, warm_up) in expected.items():
        assert len(values) == 60, name
        assert first_valid_index(values) == warm_up, name
        assert np.isnan(values[:warm_up]).all(), name
        assert not np.isnan(values[warm_up:]).any(), name


def test_data_shorter_than_warm_up_is_all_nan() -> None:
    x = [100.0, 101.0, 99.0, 102.0, 103.0]
    for values in (
        sma(x, 6),
        ema(x, 6),
        rsi(x, 5),
        *macd(x, 2, 6, 2),
        *bollinger(x, 6),
        rolling_std(x, 6),
        atr(x, x, x, 6),
        *stochastic(x, x, x, 6, 1),
        rolling_max(x, 6),
        rolling_min(x, 6),
    ):
        assert len(values) == 5 and np.isnan(values).all()
    assert np.isnan(macd(x, 2, 4, 3).signal).all()  # line valid from 3, signal would start at 5
    assert np.isnan(stochastic(x, x, x, 4, 3).d).all()
    for values in (sma([], 3), ema([], 3), rsi([], 3), returns([]), obv([], []), rolling_max([], 2)):
        assert values.dtype == np.float64 and values.shape == (0,)
    assert first_valid_index([]) == 0
    assert first_valid_index([NAN, NAN]) == 2


def test_flat_prices_give_exact_neutral_values() -> None:
    x = np.full(40, 0.1)
    h, lo = np.full(40, 0.1), np.full(40, 0.1)
    assert (sma(x, 3)[2:] == 0.1).all()  # 0.1 + 0.1 + 0.1 != 0.3: flat windows are special-cased
    assert (ema(x, 5)[4:] == 0.1).all()
    assert (rolling_std(x, 5)[4:] == 0.0).all()
    bands = bollinger(x, 5)
    assert (bands.upper[4:] == bands.middle[4:]).all() and (bands.lower[4:] == bands.middle[4:]).all()
    assert (rsi(x, 14)[14:] == 50.0).all()
    assert (stochastic(h, lo, x, 5, 3).k[4:] == 50.0).all()
    assert (atr(h, lo, x, 5)[4:] == 0.0).all()
    assert (macd(x).histogram[33:] == 0.0).all()
    assert (obv(x, np.ones(40)) == 0.0).all()


def test_rsi_extremes() -> None:
    rising, falling = np.arange(1.0, 40.0), np.arange(40.0, 1.0, -1.0)
    assert (rsi(rising, 14)[14:] == 100.0).all()
    assert (rsi(falling, 14)[14:] == 0.0).all()


def test_period_one_is_identity() -> None:
    x = [3.0, 1.5, 2.25, 7.0]
    equal(sma(x, 1), x)
    equal(ema(x, 1), x)
    equal(rolling_max(x, 1), x)
    equal(rolling_min(x, 1), x)
    equal(rolling_std(x, 1), [0.0] * 4)


def test_inputs_are_not_modified_and_read_only_arrays_work() -> None:
    x = np.linspace(1.0, 2.0, 50)
    x.setflags(write=False)
    before = x.copy()
    for values in (sma(x, 5), ema(x, 5), rsi(x, 5), rolling_std(x, 5), atr(x, x, x, 5), obv(x, x)):
        assert values.flags.writeable
    for result in (macd(x, 3, 5, 2), bollinger(x, 5), stochastic(x, x, x, 5, 2)):
        assert all(values.flags.writeable for values in result)
    returns(x)
    log_returns(x)
    equal(x, before)
    equal(sma(np.arange(10), 2)[1:], np.arange(10)[1:] - 0.5)  # integer input is converted
    strided = np.linspace(1.0, 9.0, 400)[::2]  # non-contiguous views give the same bits
    equal(sma(strided, 30), sma(strided.copy(), 30))
    equal(rolling_std(strided, 30), rolling_std(strided.copy(), 30))


# --------------------------------------------------------------------------- parameter validation

BAD_PERIODS = [0, -1, 2.5, 14.0, True, "14", None]

PERIOD_CALLS: dict[str, Callable[[Any], object]] = {
    "sma": lambda p: sma([1.0, 2.0], p),
    "ema": lambda p: ema([1.0, 2.0], p),
    "rsi": lambda p: rsi([1.0, 2.0], p),
    "rolling_std": lambda p: rolling_std([1.0, 2.0], p),
    "rolling_max": lambda p: rolling_max([1.0, 2.0], p),
    "rolling_min": lambda p: rolling_min([1.0, 2.0], p),
    "bollinger": lambda p: bollinger([1.0, 2.0], p),
    "atr": lambda p: atr([1.0], [1.0], [1.0], p),
    "macd.fast": lambda p: macd([1.0], fast=p, slow=30),
    "macd.slow": lambda p: macd([1.0], fast=1, slow=p),
    "macd.signal": lambda p: macd([1.0], signal=p),
    "stochastic.k_period": lambda p: stochastic([1.0], [1.0], [1.0], k_period=p),
    "stochastic.d_period": lambda p: stochastic([1.0], [1.0], [1.0], d_period=p),
}


@pytest.mark.parametrize("name", sorted(PERIOD_CALLS))
@pytest.mark.parametrize("bad", BAD_PERIODS, ids=repr)
def test_bad_periods_raise(name: str, bad: object) -> None:
    parameter = name.rsplit(".", 1)[-1] if "." in name else "period"
    with pytest.raises(InvalidParameterError, match=rf"^{parameter} must be an integer >= 1, got ") as info:
        PERIOD_CALLS[name](bad)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, GptTraderError)


def test_numpy_integer_periods_are_accepted() -> None:
    period: Any = np.int64(2)
    equal(sma([1.0, 2.0, 3.0], period), [NAN, 1.5, 2.5])


FLOAT_DDOF: Any = 0.5
TEXT_NUM_STD: Any = "2"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: macd([1.0] * 40, 26, 12), r"^fast must be smaller than slow, got fast=26, slow=12$"),
        (lambda: macd([1.0] * 40, 12, 12), r"^fast must be smaller than slow"),
        (lambda: rolling_std([1.0] * 5, 3, 3), r"^ddof must be an integer in \[0, period - 1\] = \[0, 2\]"),
        (lambda: rolling_std([1.0] * 5, 3, -1), r"^ddof must be an integer in"),
        (lambda: rolling_std([1.0] * 5, 3, FLOAT_DDOF), r"^ddof must be an integer in"),
        (lambda: bollinger([1.0] * 5, 3, -1.0), r"^num_std must be a finite number >= 0, got -1.0$"),
        (lambda: bollinger([1.0] * 5, 3, math.inf), r"^num_std must be a finite number >= 0"),
        (lambda: bollinger([1.0] * 5, 3, math.nan), r"^num_std must be a finite number >= 0"),
        (lambda: bollinger([1.0] * 5, 3, TEXT_NUM_STD), r"^num_std must be a finite number >= 0"),
    ],
)
def test_other_bad_parameters_raise(call: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_bad_data_shapes_raise_invalid_data() -> None:
    with pytest.raises(InvalidDataError, match="one-dimensional"):
        sma([[1.0, 2.0]], 1)
    with pytest.raises(InvalidDataError, match="one-dimensional"):
        sma(5.0, 1)
    with pytest.raises(InvalidDataError, match="must be numeric"):
        sma(["a", "b"], 1)
    with pytest.raises(InvalidDataError, match="high, low, close must have the same length"):
        atr([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(InvalidDataError, match="same length"):
        stochastic([1.0], [1.0], [1.0, 2.0])
    with pytest.raises(InvalidDataError, match="close, volume must have the same length"):
        obv([1.0, 2.0], [1.0])
