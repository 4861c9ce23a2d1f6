"""Event-loop lag: sleep a known interval and measure how late the loop woke us up.

A loop blocked by CPU work in a handler (instead of the Executor) shows up here first: every
coroutine of the server waits that long before it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

__all__ = ["LoopLagMonitor"]


class LoopLagMonitor:
    """Measures the overshoot of ``asyncio.sleep(interval)``; keeps the last ``keep`` measurements.

    ``run()`` measures back to back until cancelled (a background task of the server), each over
    ``interval``; ``measure_once(window)`` takes one measurement over a shorter sleep if asked (a one-shot
    CLI snapshot, which has no background task and should not wait ``interval`` for one figure). The lag
    is this process's own loop's: a CLI command measures its own, a server's figures are the server's.
    """

    def __init__(
        self, interval: float = 0.1, *, keep: int = 50, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if interval <= 0 or keep < 1:
            raise ValueError("interval must be > 0 and keep >= 1")
        self.interval = interval
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque(maxlen=keep)  # (measured at, lag in seconds)

    async def measure_once(self, window: float | None = None) -> float:
        """Sleep ``window`` seconds (default ``interval``) and return (and record) how much longer it took,
        in seconds."""
        window = self.interval if window is None else window
        if window <= 0:
            raise ValueError("window must be > 0")
        started = self._clock()
        await asyncio.sleep(window)
        finished = self._clock()
        lag = max(0.0, finished - started - window)
        self._samples.append((finished, lag))
        return lag

    async def run(self) -> None:
        while True:
            await self.measure_once()

    def fresh(self, max_age: float) -> bool:
        """Whether the newest measurement is at most ``max_age`` seconds old (a sampler is running)."""
        return bool(self._samples) and self._clock() - self._samples[-1][0] <= max_age

    @property
    def last(self) -> float | None:
        """The newest lag in seconds, or ``None`` before the first measurement."""
        return self._samples[-1][1] if self._samples else None

    @property
    def max(self) -> float | None:
        """The largest lag among the measurements kept, in seconds."""
        return max(lag for _, lag in self._samples) if self._samples else None
