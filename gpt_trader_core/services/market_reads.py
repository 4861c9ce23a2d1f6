"""Cached market reads for the drivers: bars (cached by ``MarketHistory``) and regimes, the latter
through the cache (kind ``regime``) keyed by the data's fingerprint, so a repeated question is free."""

from __future__ import annotations

import datetime as dt

import numpy as np

from gpt_trader_core.cache_keys import content_key
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ports import Cache, Executor
from gpt_trader_core.regime import RegimeAnalysis, detect_regime
from gpt_trader_core.services.backtest import MarketHistory

#: Most bars one request may load (a request for more is refused before any data is read).
MAX_BARS = 100_000


def check_window(
    start: dt.datetime | None, end: dt.datetime | None, timeframe: str | None, max_bars: int = MAX_BARS
) -> None:
    """Refuse, before loading anything, a window that is reversed or holds more than ``max_bars`` bars
    (intraday timeframes need both bounds: a source's whole history at 1m is millions of bars)."""
    if start is not None and end is not None and start > end:
        raise InvalidParameterError(f"start {start:%Y-%m-%d} is after end {end:%Y-%m-%d}")
    if timeframe is None:  # the data's own timeframe: its bars are what the source holds
        return
    step = TIMEFRAMES.get(timeframe)
    if step is None:
        raise InvalidParameterError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    length = dt.timedelta(seconds=float(step / np.timedelta64(1, "s")))
    if start is None or end is None:
        if length < dt.timedelta(days=1):
            raise InvalidParameterError(
                f"give start and end for the intraday timeframe {timeframe} (at most {max_bars:,} bars)"
            )
        return
    bars = (end - start) / length
    if bars > max_bars:
        raise InvalidParameterError(
            f"{start:%Y-%m-%d}..{end:%Y-%m-%d} at {timeframe} is about {bars:,.0f} bars, more than {max_bars:,}; "
            "narrow the range or use a longer timeframe"
        )


def _regime(bars: Bars, method: str) -> RegimeAnalysis:
    return detect_regime(bars, None, method=method)


class MarketReads:
    def __init__(self, history: MarketHistory, executor: Executor, cache: Cache | None = None) -> None:
        self._history = history
        self._executor = executor
        self._cache = cache

    @property
    def source(self) -> str:
        return self._history.source

    async def bars(self, symbol: str, start: dt.datetime | None, end: dt.datetime | None, timeframe: str) -> Bars:
        check_window(start, end, timeframe)
        return await self._history.get(symbol, start, end, timeframe)

    async def regime(
        self, symbol: str, start: dt.datetime | None, end: dt.datetime | None, timeframe: str, method: str
    ) -> RegimeAnalysis:
        bars = await self.bars(symbol, start, end, timeframe)
        key = content_key("regime", data=bars.fingerprint(), source=bars.source, symbol=bars.symbol, method=method)
        if self._cache is not None:
            hit = await self._cache.get("regime", key)
            if isinstance(hit, RegimeAnalysis):
                return hit
        analysis = await self._executor.run(_regime, bars, method)
        if self._cache is not None:
            await self._cache.set("regime", key, analysis)
        return analysis
