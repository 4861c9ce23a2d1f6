"""Causal features per bar and forward targets per strategy, for learning which strategy suits the market.

Features (row ``t`` uses bars ``0..t`` only; appending bars never changes an earlier row)
------------------------------------------------------------------------------------------
==================  ==========================================================================================
``ret_5/20/60``     log return over the last 5, 20, 60 bars: ``log(close[t] / close[t-h])``
``vol_20/60``       realised volatility: population std of the last 20 / 60 log returns, annualised with
                    ``sqrt(periods_per_year)``
``trend_t_60``      trend strength: OLS slope of ``log(close)`` on time over the last 60 bars divided by its
                    standard error (a t-statistic, clipped to ±100)
``dist_sma_50/200`` distance from the 50 / 200-bar simple moving average: ``close / sma - 1``
``rsi_14``          Wilder's RSI(14) scaled to [0, 1]
``regime_<name>``   one-hot of ``detect_regime(bars).series[t]`` over the seven regime names
==================  ==========================================================================================

With ``strategies`` (``compute_features(bars, strategies)``), three *strategy-state* columns per strategy
``s``, because a strategy's next returns depend on the position it holds now:

==================  ==========================================================================================
``pos_<s>``         the position ``s`` holds after bar ``t`` (``p[t]`` below, in [-1, 1])
``pos_ret_20_<s>``  ``p[t] * ret_20``: is the position aligned with the recent move?
``pos_trend_<s>``   ``p[t] * trend_t_60``: is the position aligned with the trend?
==================  ==========================================================================================

The first row with every feature defined is ``WARMUP_BARS - 1`` (the 200-bar SMA); earlier rows are NaN.

Targets (row ``t`` uses only bars ``t+1..t+H``)
-----------------------------------------------
Each strategy's position series comes from the backtest engine's own rule (``desired_positions``: the
strategy's target forward-filled, flat during its warm-up, capped to [-1, 1]) and is traded with the engine's
default fill (``next_open``): the position decided at bar ``j``'s close is held from bar ``j+1``'s open. The
return of bar ``j`` (from ``close[j-1]``, on constant capital) is::

    r[j] = p[j-2] * (open[j] - close[j-1]) / close[j-1] + p[j-1] * (close[j] - open[j]) / close[j-1]
           - cost * |p[j-1] - p[j-2]|

(exactly ``p * (close[j] / close[j-1] - 1)`` when the position did not change). Over the horizon ``H``:

- forward return ``R[t] = r[t+1] + ... + r[t+H]`` (constant capital, not compounded, so one ruinous
  stretch cannot end the series);
- forward Sharpe ``S[t] = mean(r[t+1..t+H]) / std(r[t+1..t+H]) * sqrt(periods_per_year)`` (population std;
  0 when the strategy was flat or the std is below 1e-12), clipped to ±``SHARPE_CAP``.

Rows whose window would run past the data (``t > n - 1 - H``) are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from gpt_trader_core.backtesting.engine import desired_positions
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.indicators import log_returns, rolling_std, rsi, sma
from gpt_trader_core.regime import REGIMES, default_periods_per_year, detect_regime
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry

FloatArray = NDArray[np.float64]

#: The seven regime names of ``detect_regime``, in one-hot column order.
REGIME_NAMES: tuple[str, ...] = REGIMES
RETURN_HORIZONS: tuple[int, ...] = (5, 20, 60)
VOL_WINDOWS: tuple[int, ...] = (20, 60)
TREND_WINDOW = 60
SMA_WINDOWS: tuple[int, ...] = (50, 200)
RSI_PERIOD = 14
#: Bars needed before the first row with every feature defined.
WARMUP_BARS = max(*SMA_WINDOWS, *(h + 1 for h in RETURN_HORIZONS), *(w + 1 for w in VOL_WINDOWS), TREND_WINDOW)
#: Forward Sharpe targets are clipped to ±this (annualised).
SHARPE_CAP = 10.0
TREND_T_CAP = 100.0

#: The market feature columns (without strategy-state columns).
FEATURE_NAMES: tuple[str, ...] = (
    *(f"ret_{h}" for h in RETURN_HORIZONS),
    *(f"vol_{w}" for w in VOL_WINDOWS),
    f"trend_t_{TREND_WINDOW}",
    *(f"dist_sma_{w}" for w in SMA_WINDOWS),
    f"rsi_{RSI_PERIOD}",
    *(f"regime_{name}" for name in REGIME_NAMES),
)
_RET_20 = FEATURE_NAMES.index("ret_20")
_TREND = FEATURE_NAMES.index(f"trend_t_{TREND_WINDOW}")


def feature_names(strategies: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns of ``compute_features(bars, strategies)``: market features, then three per strategy."""
    state = [f"{prefix}_{name}" for name in strategies for prefix in ("pos", "pos_ret_20", "pos_trend")]
    return (*FEATURE_NAMES, *state)


_CHUNK = 65_536  # rows per block of the sliding-window regressions (bounds memory on long intraday data)


def periods_per_year(timeframe: str) -> float:
    """Bars per year used to annualise (the regime detector's convention): 252 trading days; ``1w`` 52;
    ``1mo`` 12; intraday ``252 * bars per 24-hour day`` (the synthetic market trades round the clock)."""
    return default_periods_per_year(timeframe)


@attrs.frozen(eq=False)
class FeatureMatrix:
    """Features of every bar: ``values[t]`` (one column per name in ``names``) uses bars ``0..t`` only.

    ``regimes[t]`` is the regime name ``detect_regime`` gave bar ``t``; ``valid[t]`` is True when every
    feature of row ``t`` is defined (from row ``WARMUP_BARS - 1`` on).
    """

    names: tuple[str, ...]
    values: FloatArray
    timestamps: NDArray[np.datetime64]
    regimes: tuple[str, ...]

    @property
    def valid(self) -> NDArray[np.bool_]:
        return np.asarray(np.isfinite(self.values).all(axis=1), dtype=bool)

    def __len__(self) -> int:
        return len(self.values)


def _log_return(close: FloatArray, h: int) -> FloatArray:
    out = np.full(len(close), np.nan)
    if len(close) > h:
        out[h:] = np.log(close[h:] / close[:-h])
    return out


def trend_t_stat(log_close: FloatArray, window: int = TREND_WINDOW) -> FloatArray:
    """t-statistic of the OLS slope of ``log_close`` on time over each trailing ``window`` (NaN before).

    Every window is fitted on its own (no running sums), so a row never depends on later data.
    """
    n = len(log_close)
    out = np.full(n, np.nan)
    if n < window:
        return out
    x = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
    sxx = float(np.sum(x * x))
    views = sliding_window_view(log_close, window)
    for start in range(0, len(views), _CHUNK):
        block = np.array(views[start : start + _CHUNK])  # contiguous copy: row-wise reductions
        centred = block - block.mean(axis=1, keepdims=True)
        slope = (centred * x).sum(axis=1) / sxx
        resid = centred - slope[:, None] * x
        se = np.sqrt((resid * resid).sum(axis=1) / (window - 2) / sxx)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(se > 0, slope / se, np.sign(slope) * TREND_T_CAP)
        out[window - 1 + start : window - 1 + start + len(block)] = np.clip(t, -TREND_T_CAP, TREND_T_CAP)
    return out


def regime_series(bars: Bars) -> tuple[str, ...]:
    """The regime name of every bar from ``detect_regime`` (rules method, default thresholds)."""
    series = detect_regime(bars).series
    names = tuple(str(label) for label in series)
    if len(names) != len(bars):
        raise InvalidDataError(f"{bars.symbol}: the regime detector labelled {len(names)} of {len(bars)} bars")
    return names


def compute_features(
    bars: Bars, strategies: Sequence[str | Strategy] = (), registry: StrategyRegistry | None = None
) -> FeatureMatrix:
    """The feature matrix of ``bars`` (module docstring): market features, plus strategy-state columns for
    each of ``strategies`` (names in ``registry``, run with default parameters, or ``Strategy`` instances).
    Rows before the warm-up are NaN."""
    if not isinstance(bars, Bars):
        raise InvalidParameterError(f"features need gt.Bars, got {type(bars).__name__}")
    close = np.asarray(bars.close, dtype=np.float64)
    ann = np.sqrt(periods_per_year(bars.timeframe))
    logret = log_returns(close)
    columns: list[FloatArray] = [_log_return(close, h) for h in RETURN_HORIZONS]
    columns += [rolling_std(logret, w) * ann for w in VOL_WINDOWS]
    columns.append(trend_t_stat(np.log(close), TREND_WINDOW))
    columns += [close / sma(close, w) - 1.0 for w in SMA_WINDOWS]
    columns.append(rsi(close, RSI_PERIOD) / 100.0)
    regimes = regime_series(bars)
    labels = np.array(regimes, dtype=object)
    columns += [(labels == name).astype(np.float64) for name in REGIME_NAMES]
    instances = as_strategies(strategies, registry)
    for strategy in instances:
        position = strategy_positions(bars, strategy)
        columns += [position, position * columns[_RET_20], position * columns[_TREND]]
    values = np.column_stack(columns)
    values.setflags(write=False)
    return FeatureMatrix(feature_names([s.name for s in instances]), values, bars.timestamps, regimes)


def as_strategies(strategies: Sequence[str | Strategy], registry: StrategyRegistry | None = None) -> list[Strategy]:
    """Strategy instances: names are looked up in ``registry`` (``UnknownStrategyError``) with defaults."""
    if isinstance(strategies, str) or not isinstance(strategies, Sequence):
        raise InvalidParameterError(f"strategies must be a list of strategy names, got {strategies!r}")
    instances: list[Strategy] = []
    for strategy in strategies:
        if isinstance(strategy, Strategy):
            instances.append(strategy)
        elif registry is None:
            raise InvalidParameterError(
                f"the strategy name {strategy!r} needs the registry that resolves it: pass registry= "
                "(gt.* functions pass the global one), or Strategy instances"
            )
        else:
            instances.append(registry.create(strategy))
    return instances


# -- targets -------------------------------------------------------------------------------------------


def strategy_positions(bars: Bars, strategy: Strategy) -> FloatArray:
    """The position held after each bar's close (the engine's ``desired_positions``, long/short)."""
    strategy.require_bars(bars)
    signals = strategy.signals(bars)
    positions: FloatArray = desired_positions(signals.target, signals.warmup, long_only=False)
    return positions


def strategy_returns(bars: Bars, positions: FloatArray, cost: float = 0.0) -> FloatArray:
    """Per-bar returns on constant capital of ``positions`` traded at the next bar's open (module docstring);
    ``r[0] = 0``."""
    o, c = bars.open, bars.close
    n = len(c)
    out = np.zeros(n)
    if n < 2:
        return out
    held = np.concatenate(([0.0], positions[:-2]))  # p[j-2] for j = 1..n-1 (flat before the data)
    new = positions[:-1]  # p[j-1]
    prev_close = c[:-1]
    out[1:] = held * (o[1:] - prev_close) / prev_close + new * (c[1:] - o[1:]) / prev_close
    out[1:] -= cost * np.abs(new - held)
    return out


def forward_targets(returns: FloatArray, horizon: int, ann: float) -> tuple[FloatArray, FloatArray]:
    """Forward return and forward Sharpe of every row over ``(t, t + horizon]`` (NaN past the data)."""
    n = len(returns)
    fwd_ret = np.full(n, np.nan)
    fwd_sharpe = np.full(n, np.nan)
    rows = n - horizon
    if rows <= 0:
        return fwd_ret, fwd_sharpe
    windows = np.array(sliding_window_view(returns[1:], horizon))  # row t: returns[t+1 : t+1+horizon]
    fwd_ret[:rows] = windows.sum(axis=1)
    mean = windows.mean(axis=1)
    std = windows.std(axis=1)
    sharpe = np.zeros(rows)
    np.divide(mean, std, out=sharpe, where=std > 1e-12)
    fwd_sharpe[:rows] = np.clip(sharpe * ann, -SHARPE_CAP, SHARPE_CAP)
    return fwd_ret, fwd_sharpe


@attrs.frozen(eq=False)
class Targets:
    """Forward targets of one symbol: ``returns[t, s]`` and ``sharpe[t, s]`` for strategy ``s`` over
    ``(t, t + horizon]``, NaN where the window runs past the data."""

    strategies: tuple[str, ...]
    horizon: int
    returns: FloatArray
    sharpe: FloatArray


def compute_targets(
    bars: Bars,
    strategies: Sequence[str | Strategy],
    horizon: int,
    cost: float = 0.0,
    registry: StrategyRegistry | None = None,
) -> Targets:
    """Forward return and Sharpe of each strategy (names in ``registry`` with default parameters, or
    instances) on ``bars``."""
    ann = float(np.sqrt(periods_per_year(bars.timeframe)))
    instances = as_strategies(strategies, registry)
    rets, sharpes = [], []
    for strategy in instances:
        per_bar = strategy_returns(bars, strategy_positions(bars, strategy), cost)
        fwd_ret, fwd_sharpe = forward_targets(per_bar, horizon, ann)
        rets.append(fwd_ret)
        sharpes.append(fwd_sharpe)
    return Targets(tuple(s.name for s in instances), horizon, np.column_stack(rets), np.column_stack(sharpes))
