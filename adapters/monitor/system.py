"""``ProcSystemProbe``: the ``SystemProbe`` port read from Linux's /proc, with a stdlib fallback.

* CPU: ``/proc/stat`` (first line), busy share of the jiffies elapsed since the previous call; the
  first call awaits ``min_interval`` seconds between two readings.
* Memory: ``/proc/meminfo``, ``1 - MemAvailable / MemTotal`` (the host's view; a container's cgroup
  limit is not taken into account).
* Disk: ``os.statvfs`` of the data directory (its nearest existing parent), ``used / (used + avail)``
  like ``df``.
* RSS: ``/proc/self/statm`` (resident pages × page size).

Without /proc (macOS, Windows) CPU and memory are ``None`` and RSS falls back to the peak resident
size from ``resource.getrusage``. Every reading is a small read of a virtual file: no thread needed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

log = logging.getLogger("gpt_trader.monitor.system")

_MIB = 1024 * 1024


class ProcSystemProbe:
    """Reads /proc (``proc`` is injectable for tests) and the file system holding ``data_dir``."""

    def __init__(self, data_dir: Path | str, *, proc: Path | str = "/proc", min_interval: float = 0.1) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self._proc = Path(proc)
        self._min_interval = min_interval
        self._cpu_previous: tuple[float, int, int] | None = None  # (monotonic time, busy, total)
        self._cpu_last: float | None = None
        self._warned: set[str] = set()

    def _read(self, relative: str) -> str | None:
        try:
            return (self._proc / relative).read_text()
        except OSError as exc:
            if relative not in self._warned:  # once per file: the platform will not change
                self._warned.add(relative)
                log.debug("system probe: cannot read %s (%s)", self._proc / relative, exc)
            return None

    def _cpu_times(self) -> tuple[int, int] | None:
        """(busy, total) jiffies of all CPUs since boot."""
        text = self._read("stat")
        if text is None or not text.startswith("cpu "):
            return None
        fields = [int(v) for v in text.split("\n", 1)[0].split()[1:9]]
        fields += [0] * (8 - len(fields))
        user, nice, system, idle, iowait, irq, softirq, steal = fields  # guest time is already in user
        total = user + nice + system + idle + iowait + irq + softirq + steal
        return total - idle - iowait, total

    async def cpu_percent(self) -> float | None:
        now = time.monotonic()
        previous = self._cpu_previous
        if previous is not None and now - previous[0] < self._min_interval:
            return self._cpu_last  # asked again too soon for a meaningful difference
        current = self._cpu_times()
        if current is None:
            return None
        if previous is None:
            await asyncio.sleep(self._min_interval)
            previous = (now, *current)
            now = time.monotonic()
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
        text = self._read("meminfo")
        if text is None:
            return None
        info: dict[str, int] = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                info[key] = int(parts[0])
        total = info.get("MemTotal", 0)
        if total <= 0:
            return None
        available = info.get("MemAvailable")
        if available is None:  # kernels before 3.14
            available = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
        return min(100.0, max(0.0, 100.0 * (total - available) / total))

    async def disk_percent(self) -> float | None:
        path = self.data_dir
        while not path.exists() and path != path.parent:
            path = path.parent
        try:
            stats = os.statvfs(path)
        except (OSError, AttributeError) as exc:  # AttributeError: no statvfs on Windows
            log.debug("system probe: cannot stat the file system of %s (%s)", path, exc)
            return None
        used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        usable = used + stats.f_bavail * stats.f_frsize
        return 100.0 * used / usable if usable > 0 else None

    async def process_rss_mb(self) -> float | None:
        text = self._read("self/statm")
        if text is not None:
            fields = text.split()
            if len(fields) > 1:
                return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / _MIB
        try:
            import resource
        except ImportError:  # Windows
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # peak, not current: the best we have
        return peak / _MIB if sys.platform == "darwin" else peak / 1024
