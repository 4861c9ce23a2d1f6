"""``ProcSystemProbe`` against this machine's real /proc, against a fake /proc, and without one."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from adapters.monitor.system import ProcSystemProbe
from gpt_trader_core.monitor import SystemProbe, sample_system

linux_only = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")


@linux_only
async def test_real_readings_are_percentages_and_a_positive_rss(tmp_path: Path) -> None:
    probe = ProcSystemProbe(tmp_path)
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
async def test_real_readings_agree_with_psutil(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")  # not a dependency: only a cross-check where installed
    probe = ProcSystemProbe(tmp_path)
    assert await probe.memory_percent() == pytest.approx(psutil.virtual_memory().percent, abs=2.0)
    assert await probe.disk_percent() == pytest.approx(psutil.disk_usage(str(tmp_path)).percent, abs=0.5)
    rss = await probe.process_rss_mb()
    assert rss == pytest.approx(psutil.Process().memory_info().rss / 2**20, rel=0.2)


def _fake_proc(root: Path, *, busy: int, idle: int) -> None:
    (root / "self").mkdir(parents=True, exist_ok=True)
    # user nice system idle iowait irq softirq steal guest guest_nice
    (root / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1\n")
    (root / "meminfo").write_text(
        "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
        "MemAvailable:    4000000 kB\nHugePages_Total:       0\n"
    )
    (root / "self" / "statm").write_text("50000 2560 300 10 0 400 0\n")


async def test_readings_from_a_fake_proc(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    _fake_proc(proc, busy=1000, idle=9000)
    probe = ProcSystemProbe(tmp_path / "data" / "not" / "yet", proc=proc, min_interval=0.01)
    assert await probe.cpu_percent() == 0.0  # nothing moved between the two first readings
    _fake_proc(proc, busy=1300, idle=9100)  # 300 busy of 400 jiffies
    await asyncio.sleep(0.02)
    assert await probe.cpu_percent() == pytest.approx(75.0)
    assert await probe.memory_percent() == pytest.approx(75.0)  # 1 - 4/16
    assert await probe.process_rss_mb() == pytest.approx(2560 * os.sysconf("SC_PAGE_SIZE") / 2**20)
    disk = await probe.disk_percent()  # the data dir does not exist yet: its nearest parent's file system
    assert disk is not None and 0.0 <= disk <= 100.0


async def test_without_proc_cpu_and_memory_are_unknown_and_rss_falls_back(tmp_path: Path) -> None:
    probe = ProcSystemProbe(tmp_path, proc=tmp_path / "no-proc")
    metrics = await sample_system(probe)
    assert metrics.cpu_percent is None and metrics.memory_percent is None
    assert metrics.disk_percent is not None
    if sys.platform != "win32":
        assert metrics.process_rss_mb is not None and metrics.process_rss_mb > 1.0  # peak RSS from getrusage
