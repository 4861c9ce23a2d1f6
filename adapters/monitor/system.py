"""``PsutilSystemProbe``: the ``SystemProbe`` port on psutil (Linux, macOS, Windows, BSD).

* CPU: busy share of the whole machine's CPU time elapsed since the previous reading (idle and iowait
  are not busy; guest time is already counted in user time, as psutil itself counts it). The probe
  takes its first reading when it is constructed, so a one-shot command that asks later (it has
  started its components meanwhile) gets a figure at once; asked sooner than ``min_interval`` seconds
  after that reading, it waits only the rest of ``min_interval``. The state is this probe's own,
  unlike ``psutil.cpu_percent(interval=None)``, whose last reading is shared by the whole process.
* Memory: ``psutil.virtual_memory().percent``, ``1 - available / total`` (the host's view; a
  container's cgroup limit is not taken into account).
* Disk: ``psutil.disk_usage`` of the data directory (its nearest existing parent), ``used / (used +
  free)`` like ``df``.
* RSS: this process's resident set size.

A reading the platform refuses (``psutil.Error``, ``OSError``, ``NotImplementedError``) is ``None``,
logged once at DEBUG. Every reading is a cheap system call: no thread needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil

log = logging.getLogger("gpt_trader.monitor.system")

_MIB = 1024 * 1024
_NOT_BUSY = ("idle", "iowait")
_COUNTED_IN_USER = ("guest", "guest_nice")  # Linux: already part of user/nice
_UNAVAILABLE = (psutil.Error, OSError, NotImplementedError)

T = TypeVar("T")


class PsutilSystemProbe:
    """Machine and process figures from psutil; ``cpu_times``, ``clock`` and ``sleep`` are injectable
    for tests. Constructing it takes the first CPU reading (one cheap system call)."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        min_interval: float = 0.1,
        cpu_times: Callable[[], Any] = psutil.cpu_times,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self._min_interval = min_interval
        self._cpu_times_source = cpu_times
        self._clock = clock
        self._sleep = sleep
        self._cpu_last: float | None = None
        self._warned: set[str] = set()
        # (clock time, busy, total) of the previous reading: the first one now, the baseline of the first figure
        self._cpu_previous: tuple[float, float, float] | None = None
        first = self._cpu_times()
        if first is not None:
            self._cpu_previous = (self._clock(), *first)

    def _reading(self, what: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except _UNAVAILABLE as exc:
            if what not in self._warned:  # once per reading: the platform will not change
                self._warned.add(what)
                log.debug("system probe: no %s reading on this platform (%s: %s)", what, type(exc).__name__, exc)
            return None

    def _cpu_times(self) -> tuple[float, float] | None:
        """(busy, total) CPU seconds of all CPUs since boot."""
        times = self._reading("cpu", self._cpu_times_source)
        if times is None:
            return None
        fields: dict[str, float] = times._asdict()
        total = sum(value for name, value in fields.items() if name not in _COUNTED_IN_USER)
        return total - sum(fields.get(name, 0.0) for name in _NOT_BUSY), total

    async def cpu_percent(self) -> float | None:
        now = self._clock()
        previous = self._cpu_previous
        if previous is None:  # no reading at construction (refused then): take one and wait the interval
            first = self._cpu_times()
            if first is None:
                return None
            previous = (now, *first)
            await self._sleep(self._min_interval)
            now = self._clock()
        elif now - previous[0] < self._min_interval:
            if self._cpu_last is not None:
                return self._cpu_last  # asked again too soon for a meaningful difference
            # the first figure, asked soon after construction: wait only the rest of the interval
            await self._sleep(self._min_interval - (now - previous[0]))
            now = self._clock()
        current = self._cpu_times()
        if current is None:
            return None
        busy, total = current[0] - previous[1], current[1] - previous[2]
        self._cpu_previous = (now, *current)
        if total > 0:
            self._cpu_last = min(100.0, max(0.0, 100.0 * busy / total))
        elif self._cpu_last is None:
            self._cpu_last = 0.0
        return self._cpu_last

    async def memory_percent(self) -> float | None:
        memory = self._reading("memory", psutil.virtual_memory)
        return None if memory is None else min(100.0, max(0.0, float(memory.percent)))

    async def disk_percent(self) -> float | None:
        path = self.data_dir
        while not path.exists() and path != path.parent:
            path = path.parent
        usage = self._reading("disk", lambda: psutil.disk_usage(str(path)))
        return None if usage is None else float(usage.percent)

    async def process_rss_mb(self) -> float | None:
        memory = self._reading("process memory", lambda: psutil.Process().memory_info())
        return None if memory is None else memory.rss / _MIB
