"""Replay historical bars as a live feed: as fast as possible or at N× real time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import numpy as np

from gpt_trader_core.domain.bars import TIMEFRAMES, Bars, to_datetime
from gpt_trader_core.errors import DataSourceError, InvalidParameterError
from gpt_trader_core.ports import BarEvent


class ReplayFeed:
    """Streams ``bars`` (one ``Bars`` per symbol, aligned on their common timestamps).

    ``speed``: 0 = as fast as possible; otherwise each step waits ``bar length / speed`` seconds
    (``speed=60`` plays 1-minute bars at one per second). ``warmup`` leading bars are not streamed but
    returned by ``history`` (for indicators that must be warm at the first streamed bar).
    """

    def __init__(self, bars: Mapping[str, Bars], *, speed: float = 0.0, warmup: int = 0) -> None:
        if not bars:
            raise DataSourceError("a replay feed needs the bars of at least one symbol")
        if speed < 0:
            raise InvalidParameterError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        self._bars = {symbol.upper(): b for symbol, b in bars.items()}
        common = None
        for b in self._bars.values():
            common = b.timestamps if common is None else np.intersect1d(common, b.timestamps)
        assert common is not None
        if len(common) <= warmup:
            raise DataSourceError(f"the replay has {len(common)} common bars, not more than the warm-up {warmup}")
        self._index = {s: np.searchsorted(b.timestamps, common) for s, b in self._bars.items()}
        self._times = common
        self.speed = speed
        self.warmup = warmup
        first = next(iter(self._bars.values()))
        self._step_seconds = (
            TIMEFRAMES[first.timeframe].astype("timedelta64[s]").astype(float) / speed if speed else 0.0
        )

    @property
    def name(self) -> str:
        return f"replay(speed={self.speed:g})"

    def __len__(self) -> int:
        return len(self._times) - self.warmup

    def history(self, symbol: str) -> Bars | None:
        if not self.warmup:
            return None
        rows = self._index[symbol.upper()][: self.warmup]
        return self._bars[symbol.upper()].slice(int(rows[0]), int(rows[-1]) + 1)

    async def stream(self, symbols: Sequence[str], start_index: int = 0) -> AsyncIterator[Sequence[BarEvent]]:
        wanted = [s.upper() for s in symbols]
        unknown = [s for s in wanted if s not in self._bars]
        if unknown:
            raise DataSourceError(f"the replay has no bars for {', '.join(unknown)}; it has {', '.join(self._bars)}")
        columns = {s: (self._bars[s], self._index[s]) for s in wanted}
        for step in range(len(self)):
            position = step + self.warmup
            time = to_datetime(self._times[position])
            events = []
            for symbol, (bars, index) in columns.items():
                row = int(index[position])
                events.append(
                    BarEvent(
                        symbol,
                        step,
                        time,
                        float(bars.open[row]),
                        float(bars.high[row]),
                        float(bars.low[row]),
                        float(bars.close[row]),
                        float(bars.volume[row]),
                    )
                )
            yield events
            # Pace only the live part; steps before start_index rebuild history at once.
            await asyncio.sleep(self._step_seconds if step >= start_index else 0)
