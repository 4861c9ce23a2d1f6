"""``PsutilSystemProbe`` on this machine, cross-checked against Linux's /proc where there is one, and
its CPU arithmetic on scripted CPU times."""

from __future__ import annotations

import asyncio
import os
import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from adapters.monitor.system import PsutilSystemProbe
from gpt_trader_core.monitor import SystemProbe, sample_system

linux_only = pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="needs Linux /proc")

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")


async def test_real_readings_are_percentages_and_a_positive_rss(tmp_path: Path) -> None:
    probe = PsutilSystemProbe(tmp_path)
    assert isinstance(probe, SystemProbe)
    started = time.perf_counter()
    metrics = await sample_system(probe)
    assert time.perf_counter() - started < 1.0  # the first CPU reading waits ~0.1 s, not more
    for value in (metrics.cpu_percent, metrics.memory_percent, metrics.disk_percent):
        assert value is not None and 0.0 <= value <= 100.0
    assert metrics.process_rss_mb is not None and metrics.process_rss_mb > 1.0
    sum(range(3_000_000))  # some CPU work, then a second reading over the interval since the first
    await asyncio.sleep(0.15)
    cpu = await probe.cpu_percent()
    assert cpu is not None and 0.0 <= cpu <= 100.0
    assert await probe.cpu_percent() == cpu  # asked again at once: the last reading, no new interval


@linux_only
async def test_real_readings_agree_with_proc(tmp_path: Path) -> None:
    probe = PsutilSystemProbe(tmp_path)
    info = {line.split(":")[0]: int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()}
    from_proc = 100.0 * (1 - info["MemAvailable"] / info["MemTotal"])
    assert await probe.memory_percent() == pytest.approx(from_proc, abs=2.0)
    stats = os.statvfs(tmp_path)
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    assert await probe.disk_percent() == pytest.approx(100.0 * used / (used + stats.f_bavail * stats.f_frsize), abs=0.5)
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    rss = await probe.process_rss_mb()
    assert rss == pytest.approx(resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, rel=0.2)


def _scripted(*readings: CpuTimes) -> Iterator[CpuTimes]:
    yield from readings
    while True:
        yield readings[-1]


async def test_cpu_is_the_busy_share_since_the_previous_reading(tmp_path: Path) -> None:
    # guest time is part of user time already; idle and iowait are not busy
    readings = _scripted(
        CpuTimes(10, 0, 0, 90, 0, 0, 0, 0, 5, 0),
        CpuTimes(10, 0, 0, 90, 0, 0, 0, 0, 5, 0),  # nothing moved between the two first readings
        CpuTimes(13, 0, 0, 90.5, 0.5, 0, 0, 0, 7, 0),  # 3 busy of 4 seconds
    )
    probe = PsutilSystemProbe(tmp_path / "data" / "not" / "yet", min_interval=0.01, cpu_times=lambda: next(readings))
    assert await probe.cpu_percent() == 0.0
    await asyncio.sleep(0.02)
    assert await probe.cpu_percent() == pytest.approx(75.0)
    disk = await probe.disk_percent()  # the data dir does not exist yet: its nearest parent's file system
    assert disk is not None and 0.0 <= disk <= 100.0


async def test_a_reading_the_platform_refuses_is_unknown(tmp_path: Path) -> None:
    def refused() -> CpuTimes:
        raise psutil.AccessDenied()

    probe = PsutilSystemProbe(tmp_path, cpu_times=refused)
    metrics = await sample_system(probe)
    assert metrics.cpu_percent is None
    assert metrics.memory_percent is not None and metrics.disk_percent is not None


class _Clock:
    """A monotonic clock the test moves; ``sleep`` records what the probe waits and moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _probe_on(tmp_path: Path, clock: _Clock, *readings: CpuTimes) -> PsutilSystemProbe:
    scripted = _scripted(*readings)
    return PsutilSystemProbe(
        tmp_path, min_interval=0.1, cpu_times=lambda: next(scripted), clock=clock, sleep=clock.sleep
    )


async def test_a_probe_built_long_enough_ago_answers_without_waiting(tmp_path: Path) -> None:
    clock = _Clock()
    probe = _probe_on(
        tmp_path,
        clock,
        CpuTimes(10, 0, 0, 90, 0, 0, 0, 0, 0, 0),  # read at construction
        CpuTimes(11, 0, 0, 93, 0, 0, 0, 0, 0, 0),  # 1 busy of 4 seconds since
    )
    clock.now += 0.25  # the command starts its components meanwhile
    assert await probe.cpu_percent() == pytest.approx(25.0)
    assert clock.slept == []


async def test_a_probe_asked_soon_after_construction_waits_only_the_rest(tmp_path: Path) -> None:
    clock = _Clock()
    probe = _probe_on(
        tmp_path,
        clock,
        CpuTimes(10, 0, 0, 90, 0, 0, 0, 0, 0, 0),
        CpuTimes(12, 0, 0, 92, 0, 0, 0, 0, 0, 0),  # 2 busy of 4 seconds
    )
    clock.now += 0.03
    assert await probe.cpu_percent() == pytest.approx(50.0)
    assert clock.slept == [pytest.approx(0.07)]  # not a whole min_interval
    clock.now += 0.01
    assert await probe.cpu_percent() == pytest.approx(50.0)  # too soon again: the last figure, no wait
    assert clock.slept == [pytest.approx(0.07)]
