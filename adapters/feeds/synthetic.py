"""A deterministic SYNTHETIC live feed: a new bar every ``interval`` seconds from the synthetic market."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Sequence

import numpy as np

from gpt_trader_core.domain.bars import TIMEFRAMES, Bars, to_datetime
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.market_sim import generate
from gpt_trader_core.ports import BarEvent

#: Intraday bars generated at a time, per symbol.
_CHUNK_DAYS = 30


class SyntheticLiveFeed:
    """Bars of the synthetic market (``timeframe``, default 1m) starting at ``start``, one every
    ``interval`` seconds of wall-clock time from ``started_at`` (a Unix time; stored with a session so
    a restarted process catches up with the same bars). ``history_bars`` bars before ``start`` warm
    up indicators. SYNTHETIC data: generated, not a real market."""

    def __init__(
        self,
        *,
        seed: int = 0,
        timeframe: str = "1m",
        start: str | dt.datetime = "2024-01-02",
        interval: float = 1.0,
        history_bars: int = 300,
        started_at: float | None = None,
    ) -> None:
        if timeframe not in TIMEFRAMES or timeframe in ("1w", "1mo"):
            raise InvalidParameterError(f"timeframe must be an intraday or daily timeframe, got {timeframe!r}")
        if interval < 0:
            raise InvalidParameterError(f"interval must be >= 0 seconds, got {interval}")
        self.seed, self.timeframe, self.interval = seed, timeframe, interval
        self.start = np.datetime64(start, "ns")
        self.history_bars = history_bars
        self.started_at = time.time() if started_at is None else started_at
        self._cache: dict[str, Bars] = {}

    @property
    def name(self) -> str:
        return f"synthetic-live(seed={self.seed}, {self.timeframe}, every {self.interval:g}s)"

    def _bars_until(self, symbol: str, count: int) -> Bars:
        """At least ``history_bars + count`` bars of ``symbol`` from before ``start`` on."""
        have = self._cache.get(symbol)
        need = self.history_bars + count
        if have is not None and len(have) >= need:
            return have
        days = max(_CHUNK_DAYS, int(need * TIMEFRAMES[self.timeframe] / np.timedelta64(1, "D") * 1.6) + 10)
        back = max(5, int(self.history_bars * TIMEFRAMES[self.timeframe] / np.timedelta64(1, "D") * 1.6) + 5)
        first = (self.start - np.timedelta64(back, "D")).astype("datetime64[D]")
        last = (self.start + np.timedelta64(days, "D")).astype("datetime64[D]")
        bars = generate(symbol, str(first), str(last), self.timeframe, self.seed).bars
        begin = int(np.searchsorted(bars.timestamps, self.start)) - self.history_bars
        if begin < 0:
            raise InvalidParameterError("not enough synthetic history before the feed's start")
        self._cache[symbol] = bars = bars.slice(begin)
        return bars

    def history(self, symbol: str) -> Bars | None:
        return self._bars_until(symbol.upper(), 1).slice(0, self.history_bars) if self.history_bars else None

    async def stream(self, symbols: Sequence[str], start_index: int = 0) -> AsyncIterator[Sequence[BarEvent]]:
        wanted = [s.upper() for s in symbols]
        step = 0
        while True:
            due = self.started_at + step * self.interval
            delay = due - time.time()
            if step >= start_index and delay > 0:
                await asyncio.sleep(delay)
            events = []
            for symbol in wanted:
                bars = self._bars_until(symbol, step + 1 + 500)
                row = self.history_bars + step
                events.append(
                    BarEvent(
                        symbol,
                        step,
                        to_datetime(bars.timestamps[row]),
                        float(bars.open[row]),
                        float(bars.high[row]),
                        float(bars.low[row]),
                        float(bars.close[row]),
                        float(bars.volume[row]),
                    )
                )
            yield events
            step += 1
            if step < start_index:
                continue
            await asyncio.sleep(0)
