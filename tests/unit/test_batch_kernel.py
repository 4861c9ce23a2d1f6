"""Properties of the batched grid kernel on random data: every row equals the single-run engine.

The parity tests (tests/parity/test_batch_parity.py) run the built-in strategies on real prices; these
run random targets (fractions, flats, re-entries, warm-ups) on random prices violent enough to ruin
accounts, under random fill settings, through ``simulate_batch`` and ``stats_batch``, and compare
each row with ``engine.simulate`` and ``stats_with`` bit for bit. The helpers replaying numpy's
summation and BLAS's dot products are checked against numpy itself, the batched moving averages
against ``indicators.sma``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_trader_core.backtesting import batch_stats
from gpt_trader_core.backtesting.batch import BatchSignals, BatchTrades, simulate_batch
from gpt_trader_core.backtesting.batch_indicators import sma_many
from gpt_trader_core.backtesting.batch_stats import GroupSums, _ragged_self_dots, _row_dots, stats_batch
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import simulate
from gpt_trader_core.backtesting.stats import StatsContext, stats_with
from gpt_trader_core.indicators import sma

_OUT_OF_MONEY = 5  # engine.EXIT_REASONS index


def _prices(rng: np.random.Generator, n: int, violent: bool) -> tuple[np.ndarray, np.ndarray]:
    steps = rng.normal(0.0, 0.08 if violent else 0.015, n)
    if violent:  # jumps that can take a short (or a long) account to zero
        steps[rng.integers(0, n, 3)] += rng.choice([-1.2, 1.2], 3)
    close = np.round(100.0 * np.exp(np.cumsum(steps)), 2) + 0.01
    open_ = np.round(close * np.exp(rng.normal(0.0, 0.005, n)), 2) + 0.01
    return open_, close


def _targets(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    choices = np.array([np.nan, np.nan, np.nan, -1.0, -0.5, 0.0, 0.25, 1.0, 1.0, -1.0])
    target = choices[rng.integers(0, len(choices), (k, n))]
    sparse_rows = rng.random(k) < 0.5  # some rows speak rarely, like crossovers
    target[sparse_rows] = np.where(rng.random((int(sparse_rows.sum()), n)) < 0.9, np.nan, target[sparse_rows])
    reentry = rng.random((k, n)) < 0.1
    warmup = rng.integers(0, max(1, n // 3), k)
    return target, reentry, warmup


configs = st.builds(
    BacktestConfig,
    cash=st.sampled_from([1_000.0, 10_000.0, 123_456.0]),
    commission=st.sampled_from([0.0, 0.001, 0.002, 0.01]),
    commission_fixed=st.sampled_from([0.0, 0.0, 1.0]),
    slippage=st.sampled_from([0.0, 0.0, 0.0005]),
    spread=st.sampled_from([0.0, 0.0, 0.001]),
    mode=st.sampled_from(["long_short", "long_only"]),
    fill=st.sampled_from(["next_open", "close"]),
    fractional=st.booleans(),
    close_at_end=st.booleans(),
)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same type (NaN equal to NaN; numpy's float64 is a float)."""
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    return (bool(a == b) and type(a) is type(b)) or (isinstance(a, float) and isinstance(b, float) and a == b)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 25),
    n=st.integers(3, 300),
    violent=st.booleans(),
    config=configs,
)
def test_every_row_equals_the_single_run_engine(
    seed: int, k: int, n: int, violent: bool, config: BacktestConfig
) -> None:
    rng = np.random.default_rng(seed)
    open_, close = _prices(rng, n, violent)
    target, reentry, warmup = _targets(rng, k, n)
    sim = simulate_batch(open_, close, BatchSignals(target, warmup, reentry), config)
    equity = sim.equity
    ts = np.datetime64("2020-01-01") + np.arange(n).astype("timedelta64[D]")
    context = StatsContext(ts, close)
    healthy = np.flatnonzero(~sim.ruined)
    first = np.minimum(np.asarray(sim.start) - 1, n - 1)
    try:
        batched = stats_batch(context, sim.curves.take(healthy), sim.trades.take(healthy), first[healthy])
    except OverflowError:  # (1 + g) ** N out of range: then the single run overflows too (checked below)
        batched = None
    by_row = dict(zip(healthy.tolist(), batched or [], strict=False))
    overflowed = False
    for row in range(k):
        alone = simulate(open_, open_, open_, close, target[row], int(warmup[row]), config, reentry[row])
        # Ruined: the equity reaches zero somewhere (the engine closes out of money there, or a gap
        # at a fill leaves the account flat with no cash); batch_run re-runs those rows alone.
        ruined = bool(np.any(alone.equity <= 0))
        assert ruined or not np.any(alone.trades.exit_reason == _OUT_OF_MONEY)
        assert sim.ruined[row] == ruined, row
        if ruined:
            continue  # batch_run re-runs these through the engine
        log = sim.trades.log(row)
        for column in ("size", "entry_bar", "exit_bar", "entry_price", "exit_price", "pnl", "return_pct", "commission"):
            np.testing.assert_array_equal(
                getattr(log, column), getattr(alone.trades, column), err_msg=f"{row} {column}"
            )
        np.testing.assert_array_equal(log.exit_reason, alone.trades.exit_reason)
        np.testing.assert_array_equal(equity[row], alone.equity, err_msg=str(row))
        assert sim.cash[row] == alone.cash and sim.rejected[row] == alone.rejected_orders
        try:
            expected = stats_with(context, alone.equity, alone.trades, int(first[row]))
        except OverflowError:
            overflowed = True
            continue
        if batched is None:
            continue
        got = by_row[row]
        mismatched = {key: (got[key], expected[key]) for key in expected if not _same(got[key], expected[key])}
        assert not mismatched, (row, mismatched)
    assert batched is not None or overflowed


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 12),
    n=st.integers(1, 200),
    levels=st.integers(1, 6),
    block_cells=st.sampled_from([1, 50, 400, 1_000_000]),
)
def test_curve_statistics_equal_the_single_run_on_any_positive_curve(
    seed: int, k: int, n: int, levels: int, block_cells: int
) -> None:
    """Equity curves with plateaus, repeated peaks, a last bar right after a peak or in a drawdown,
    cut in blocks of rows of any size: every curve statistic equals ``stats_with``'s."""
    rng = np.random.default_rng(seed)
    # Few distinct levels (ties, new peaks equal to the old ones), or a continuous walk.
    if levels < 6:
        equity = 1_000.0 + 10.0 * rng.integers(0, levels + 1, (k, n)).astype(np.float64)
    else:
        equity = 1_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (k, n)), axis=1))
    equity[rng.random(k) < 0.3, -1] = equity[0, 0] / 2  # some rows end in a fresh drawdown
    plateau = rng.random((k, n)) < 0.3  # some bars repeat the previous one
    plateau[:, 0] = False
    for j in range(1, n):
        equity[plateau[:, j], j] = equity[plateau[:, j], j - 1]
    offsets = np.zeros(k + 1, dtype=np.int64)
    floats, ints = np.empty(0), np.empty(0, dtype=np.int64)
    no_trades = BatchTrades(offsets, floats, ints, ints, *(floats,) * 5, np.empty(0, dtype=np.int8))
    ts = np.datetime64("2020-01-01") + np.arange(n).astype("timedelta64[D]")
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    context = StatsContext(ts, close)
    first = np.zeros(k, dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_stats, "_BLOCK_CELLS", block_cells)
        batched = stats_batch(context, equity, no_trades, first)
    for row in range(k):
        expected = stats_with(context, equity[row], no_trades.log(row), 0)
        got = batched[row]
        mismatched = {key: (got[key], expected[key]) for key in expected if not _same(got[key], expected[key])}
        assert not mismatched, (row, mismatched)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 300), min_size=1, max_size=30),
    columns=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_group_sums_equal_numpy_sums(lengths: list[int], columns: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    values = rng.normal(0.0, 1.0, (columns, int(offsets[-1]))) * rng.choice([1e-3, 1.0, 1e6], (columns, 1))
    sums = GroupSums(offsets)(values)
    for c in range(columns):
        expected = [values[c, a:b].sum() for a, b in itertools.pairwise(offsets)]
        assert sums[c].tolist() == expected  # == : the same floats, not merely close ones
    assert GroupSums(offsets)(values[0]).tolist() == sums[0].tolist()


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 20), width=st.integers(0, 700), seed=st.integers(0, 2**32 - 1))
def test_row_dots_are_numpy_dots(rows: int, width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b, shared = rng.normal(size=(rows, width)), rng.normal(size=(rows, width)), rng.normal(size=width)
    assert _row_dots(a, b).tolist() == [float(np.dot(x, y)) for x, y in zip(a, b, strict=True)]
    assert _row_dots(a, shared).tolist() == [float(np.dot(x, shared)) for x in a]
    lengths = rng.integers(0, 40, rows)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    flat = rng.normal(size=int(offsets[-1]))
    expected = [float(np.dot(flat[x:y], flat[x:y])) for x, y in itertools.pairwise(offsets)]
    assert _ragged_self_dots(flat, offsets).tolist() == expected


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 700),
    periods=st.lists(st.integers(1, 600), min_size=1, max_size=25),
    repeats=st.booleans(),
)
def test_many_averages_equal_indicators_sma(seed: int, n: int, periods: list[int], repeats: bool) -> None:
    rng = np.random.default_rng(seed)
    close = np.round(np.exp(rng.normal(4.0, 1.0, n)), 2)
    if repeats:  # runs of equal prices: windows of equal values must give that value exactly
        close = np.repeat(close[: max(1, n // 7)], 7)[:n]
    got = sma_many(close, periods)
    for p in periods:
        np.testing.assert_array_equal(got[p], sma(close, p), err_msg=str(p))


def test_every_average_of_real_prices_equals_indicators_sma() -> None:
    pytest.importorskip("backtesting")
    from backtesting.test import EURUSD, GOOG

    for frame in (GOOG, EURUSD):
        close = frame["Close"].to_numpy(dtype=np.float64)
        got = sma_many(close, range(1, 301))
        for p in range(1, 301):
            np.testing.assert_array_equal(got[p], sma(close, p), err_msg=str(p))
