"""How busy the machine and this process are: a ``SystemMetrics`` reading of the ``SystemProbe`` port."""

from __future__ import annotations

import asyncio

import attrs

from gpt_trader_core.ports import SystemProbe

__all__ = ["SystemMetrics", "SystemProbe", "sample_system"]


@attrs.frozen
class SystemMetrics:
    """One reading; a field is ``None`` when the platform cannot tell."""

    cpu_percent: float | None = None
    memory_percent: float | None = None
    disk_percent: float | None = None
    process_rss_mb: float | None = None


async def sample_system(probe: SystemProbe) -> SystemMetrics:
    """Every reading of ``probe`` at once (concurrently: the CPU reading may wait)."""
    cpu, memory, disk, rss = await asyncio.gather(
        probe.cpu_percent(), probe.memory_percent(), probe.disk_percent(), probe.process_rss_mb()
    )
    return SystemMetrics(cpu, memory, disk, rss)
