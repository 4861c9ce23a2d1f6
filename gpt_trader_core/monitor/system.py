"""The ``SystemProbe`` port: how busy the machine and this process are."""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

import attrs

__all__ = ["SystemMetrics", "SystemProbe", "sample_system"]


@attrs.frozen
class SystemMetrics:
    """One reading; a field is ``None`` when the platform cannot tell."""

    cpu_percent: float | None = None
    memory_percent: float | None = None
    disk_percent: float | None = None
    process_rss_mb: float | None = None


@runtime_checkable
class SystemProbe(Protocol):
    """Machine and process utilisation.

    Contract: percentages are in [0, 100]; ``cpu_percent`` is the whole machine's utilisation since
    the previous call (the first call measures over a short interval, awaiting rather than blocking);
    ``memory_percent`` is the share of memory not available to new work; ``disk_percent`` the used
    share of the file system holding the data directory; ``process_rss_mb`` this process's resident
    memory in MiB. A value the platform cannot give is ``None``; a probe never raises for that.
    """

    async def cpu_percent(self) -> float | None: ...

    async def memory_percent(self) -> float | None: ...

    async def disk_percent(self) -> float | None: ...

    async def process_rss_mb(self) -> float | None: ...


async def sample_system(probe: SystemProbe) -> SystemMetrics:
    """Every reading of ``probe`` at once (concurrently: the CPU reading may wait)."""
    cpu, memory, disk, rss = await asyncio.gather(
        probe.cpu_percent(), probe.memory_percent(), probe.disk_percent(), probe.process_rss_mb()
    )
    return SystemMetrics(cpu, memory, disk, rss)
