"""``analyze_portfolio``: exposure, concentration, correlation, volatility, beta and historical VaR/CVaR.

Alignment
    The bars of every symbol (and of the benchmark, if any) are reduced to the timestamps they all share;
    at least 30 common bars are needed. Returns are simple close-to-close returns
    ``r_t = C_t / C_{t-1} - 1`` on those common bars (so ``len - 1`` returns).

Weights
    ``w_i`` are fractions of portfolio value (negative = short); missing symbols weigh 0 and ``None`` means
    equal weights ``1 / N``. They must be finite and sum to a positive number (a net-long book).
    ``normalised_weights = w / sum(w)`` (sum 1). The portfolio is rebalanced to ``w`` every bar and the rest
    of the capital, ``1 - sum(w)``, is cash earning 0: ``r_p,t = sum_i w_i r_i,t``.

Exposure and concentration
    ``gross = sum |w_i|``, ``net = sum w_i``, ``long = sum max(w_i, 0)``, ``short = sum max(-w_i, 0)``.
    With ``s_i = |w_i| / gross`` (each position's share of the gross exposure): Herfindahl index
    ``HHI = sum s_i^2`` (``1/N`` for equal weights, 1 for a single position), ``effective_positions = 1 / HHI``,
    ``largest_weight = max s_i`` (and its symbol).

Risk
    * ``correlation``: Pearson correlation matrix of the symbols' returns (labels = ``symbols``); a symbol
      whose returns are constant has NaN correlations except its diagonal, which is 1.
    * ``volatility_ann = std(r_p, ddof=1) * sqrt(P)``, ``return_ann = mean(r_p) * P`` with ``P`` periods per
      year (252 for daily bars; see ``gpt_trader_core.regime.values.default_periods_per_year``).
    * ``beta = cov(r_p, r_b) / var(r_b)`` against the benchmark's returns ``r_b`` - the given ``benchmark``
      bars, or else the equal-weight average of the symbols' returns (``benchmark_name = "equal_weight"``).
    * historical VaR at confidence ``c`` (one-bar horizon, a fraction of portfolio value, positive = loss):
      ``VaR_c = -quantile(r_p, 1 - c)`` (numpy's linear interpolation); CVaR (expected shortfall)
      ``CVaR_c = -mean(r_p[r_p <= quantile(r_p, 1 - c)])``. Hence ``VaR_99 >= VaR_95`` and ``CVaR_c >= VaR_c``.
      A negative VaR means even that tail of the history was a gain.
    * ``max_drawdown``: deepest fall of the compounded portfolio value below its running peak (a fraction).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from gpt_trader_core.analysis.technical import as_bars
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.errors import InvalidDataError, InvalidParameterError
from gpt_trader_core.regime.values import default_periods_per_year

FloatArray = NDArray[np.float64]

MIN_COMMON_BARS = 30
VAR_LEVELS = (0.95, 0.99)


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must be in (0, 1) such as 0.95, got {confidence!r}")
    return float(confidence)


def _returns_array(returns: Any) -> FloatArray:
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or not np.isfinite(r).all():
        raise InvalidDataError("returns must be a non-empty 1-D sequence of finite numbers")
    return r


def historical_var(returns: Any, confidence: float = 0.95) -> float:
    """Historical value at risk: ``-quantile(returns, 1 - confidence)`` (positive = loss)."""
    r = _returns_array(returns)
    return -float(np.quantile(r, 1.0 - _check_confidence(confidence)))


def historical_cvar(returns: Any, confidence: float = 0.95) -> float:
    """Expected shortfall: ``-mean(returns[returns <= quantile(returns, 1 - confidence)])``."""
    r = _returns_array(returns)
    cut = float(np.quantile(r, 1.0 - _check_confidence(confidence)))
    return -float(r[r <= cut].mean())


@attrs.frozen(eq=False)
class PortfolioAnalysis:
    """Risk and composition of a weighted portfolio on its symbols' common bars (see the module docstring)."""

    symbols: tuple[str, ...]
    weights: Mapping[str, float]
    normalised_weights: Mapping[str, float]
    gross_exposure: float
    net_exposure: float
    long_exposure: float
    short_exposure: float
    herfindahl: float
    effective_positions: float
    largest_weight: float
    largest_symbol: str
    correlation: tuple[tuple[float, ...], ...]
    volatility_ann: float
    return_ann: float
    beta: float
    benchmark_name: str
    var_95: float
    var_99: float
    cvar_95: float
    cvar_99: float
    max_drawdown: float
    asset_volatility_ann: Mapping[str, float]
    bars: int
    start: dt.datetime
    end: dt.datetime
    periods_per_year: float
    returns: FloatArray = attrs.field(repr=False)

    def value_at_risk(self, confidence: float = 0.95) -> float:
        """Historical VaR of the portfolio at ``confidence`` (one bar, positive = loss)."""
        return historical_var(self.returns, confidence)

    def expected_shortfall(self, confidence: float = 0.95) -> float:
        """Historical CVaR of the portfolio at ``confidence`` (one bar, positive = loss)."""
        return historical_cvar(self.returns, confidence)

    def correlation_of(self, a: str, b: str) -> float:
        """Correlation of the returns of symbols ``a`` and ``b``."""
        for name in (a, b):
            if name not in self.symbols:
                raise InvalidParameterError(f"unknown symbol {name!r}; the portfolio holds {', '.join(self.symbols)}")
        return self.correlation[self.symbols.index(a)][self.symbols.index(b)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (NaN as ``None``, without the return series)."""
        out: dict[str, Any] = {}
        for field in attrs.fields(PortfolioAnalysis):
            if field.name == "returns":
                continue
            out[field.name] = _plain(getattr(self, field.name))
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _weights(symbols: tuple[str, ...], weights: Mapping[str, float] | None) -> FloatArray:
    if weights is None:
        return np.full(len(symbols), 1.0 / len(symbols))
    if not isinstance(weights, Mapping):
        raise InvalidParameterError(f"weights must be a mapping symbol -> weight, got {type(weights).__name__}")
    unknown = sorted(set(weights) - set(symbols))
    if unknown:
        raise InvalidParameterError(
            f"weights name {', '.join(map(repr, unknown))}, not among the prices ({', '.join(symbols)}); "
            "remove them or add their bars"
        )
    out = np.zeros(len(symbols))
    for i, symbol in enumerate(symbols):
        value = weights.get(symbol, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidParameterError(f"weight of {symbol!r} must be a finite number, got {value!r}")
        out[i] = float(value)
    total = float(out.sum())
    if not total > 0:
        raise InvalidParameterError(
            f"weights must sum to a positive number (a net-long portfolio), got {total:g}; "
            "check the signs of the short positions"
        )
    return out


def _correlation(returns: FloatArray) -> tuple[tuple[float, ...], ...]:
    centred = returns - returns.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    cov = centred.T @ centred
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(scale, scale)
    corr = np.clip(corr, -1.0, 1.0)
    corr[:, scale == 0] = np.nan
    corr[scale == 0, :] = np.nan
    np.fill_diagonal(corr, 1.0)
    corr = (corr + corr.T) / 2  # exactly symmetric
    return tuple(tuple(float(v) for v in row) for row in corr)


def analyze_portfolio(
    prices: Mapping[str, Bars | Any],
    weights: Mapping[str, float] | None = None,
    *,
    benchmark: Bars | Any | None = None,
    periods_per_year: float | None = None,
) -> PortfolioAnalysis:
    """Analyse a portfolio of ``prices`` (symbol → bars) held at ``weights`` (see the module docstring).

    ``weights``: fractions of portfolio value per symbol (``None``: equal weights); ``benchmark``: bars to
    measure beta against (default: the equal-weight average of the symbols); ``periods_per_year``: for
    annualising (default from the first symbol's timeframe, 252 for daily bars).
    """
    if not isinstance(prices, Mapping) or not prices:
        raise InvalidDataError("prices must be a non-empty mapping symbol -> bars, e.g. {'AAPL': bars}")
    symbols = tuple(str(s) for s in prices)
    data = [as_bars(prices[s], f"prices[{s!r}]") for s in prices]
    bench = None if benchmark is None else as_bars(benchmark, "benchmark")
    w = _weights(symbols, weights)
    common = data[0].timestamps
    for bars in [*data[1:], *([bench] if bench is not None else [])]:
        common = np.intersect1d(common, bars.timestamps, assume_unique=True)
    if len(common) < MIN_COMMON_BARS:
        names = ", ".join(symbols) + (" and the benchmark" if bench is not None else "")
        raise InvalidDataError(
            f"analyze_portfolio needs at least {MIN_COMMON_BARS} bars common to {names}, got {len(common)}; "
            "use histories that overlap in time"
        )

    def aligned_returns(bars: Bars) -> FloatArray:
        rows = np.searchsorted(bars.timestamps, common)
        close = bars.close[rows]
        out: FloatArray = close[1:] / close[:-1] - 1.0
        return out

    asset = np.column_stack([aligned_returns(bars) for bars in data])
    portfolio = asset @ w
    if bench is not None:
        bench_returns = aligned_returns(bench)
        bench_name = bench.symbol
    else:
        bench_returns = asset.mean(axis=1)
        bench_name = "equal_weight"
    ppy = float(periods_per_year) if periods_per_year is not None else default_periods_per_year(data[0].timeframe)
    if not ppy > 0:
        raise InvalidParameterError(f"periods_per_year must be positive, got {periods_per_year!r}")
    bench_var = float(np.var(bench_returns, ddof=1))
    beta = float(np.cov(portfolio, bench_returns, ddof=1)[0, 1] / bench_var) if bench_var > 0 else math.nan
    gross = float(np.abs(w).sum())
    shares = np.abs(w) / gross
    hhi = float((shares**2).sum())
    largest = int(np.argmax(shares))
    value = np.cumprod(1.0 + portfolio)
    peak = np.maximum.accumulate(np.concatenate(([1.0], value)))[1:]
    return PortfolioAnalysis(
        symbols=symbols,
        weights=MappingProxyType(dict(zip(symbols, w.tolist(), strict=True))),
        normalised_weights=MappingProxyType(dict(zip(symbols, (w / w.sum()).tolist(), strict=True))),
        gross_exposure=gross,
        net_exposure=float(w.sum()),
        long_exposure=float(np.maximum(w, 0).sum()),
        short_exposure=float(np.maximum(-w, 0).sum()),
        herfindahl=hhi,
        effective_positions=1.0 / hhi,
        largest_weight=float(shares[largest]),
        largest_symbol=symbols[largest],
        correlation=_correlation(asset),
        volatility_ann=float(np.std(portfolio, ddof=1) * math.sqrt(ppy)),
        return_ann=float(np.mean(portfolio) * ppy),
        beta=beta,
        benchmark_name=bench_name,
        var_95=historical_var(portfolio, 0.95),
        var_99=historical_var(portfolio, 0.99),
        cvar_95=historical_cvar(portfolio, 0.95),
        cvar_99=historical_cvar(portfolio, 0.99),
        max_drawdown=float(np.max(1.0 - value / peak)),
        asset_volatility_ann=MappingProxyType(
            {s: float(np.std(asset[:, i], ddof=1) * math.sqrt(ppy)) for i, s in enumerate(symbols)}
        ),
        bars=len(common),
        start=to_datetime(common[0]),
        end=to_datetime(common[-1]),
        periods_per_year=ppy,
        returns=_frozen(portfolio),
    )


def _frozen(array: FloatArray) -> FloatArray:
    array.setflags(write=False)
    return array
