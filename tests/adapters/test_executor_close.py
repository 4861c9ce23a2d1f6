"""``LocalProcessExecutor.close`` returns when it terminates a worker in the middle of sending a result.

A cancelled workflow's runner process closes its executor and exits; its optimisation chunks send ~180 kB
of statistics each (more than a pipe holds), so a worker terminated by ``close`` can be caught halfway
through one. The pool's manager thread then waited forever for the rest of the message: ``close`` never
returned and the process never exited. The scenario runs in a child process, so a hang fails this test
(the child is killed) instead of hanging the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
import asyncio, sys, time
from pathlib import Path
from adapters.executor.local import LocalProcessExecutor
from tests.adapters import _executor_jobs as jobs

def sending(pid):  # the worker waits in a write to a full pipe: it is sending its result
    return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()

async def main(pid_file, size):
    executor = LocalProcessExecutor(1, close_timeout=0)  # close terminates the worker at once
    job = asyncio.ensure_future(executor.run(jobs.big_result, pid_file, size))
    while not Path(pid_file).exists() or not Path(pid_file).read_text():
        await asyncio.sleep(0.001)
    pid = int(Path(pid_file).read_text())
    deadline = time.monotonic() + 20
    while not sending(pid):  # the parent reads the result meanwhile: the pipe fills again and again
        assert time.monotonic() < deadline, "the worker was never seen sending"
    started = time.monotonic()
    await executor.close()
    closed_in = time.monotonic() - started
    outcome = (await asyncio.gather(job, return_exceptions=True))[0]
    print(type(outcome).__name__, f"{closed_in:.2f}")

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc/PID/wchan to see the worker send")
def test_close_returns_when_a_worker_is_terminated_while_sending_its_result(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    child = subprocess.Popen(
        [sys.executable, "-c", SCENARIO, str(tmp_path / "pid"), str(size)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, 9)  # the child and its forkserver and workers: its own session
        child.communicate()
        raise AssertionError("close() never returned after terminating a worker that was sending its result") from None
    assert child.returncode == 0, err
    outcome, seconds = out.split()
    assert outcome == "ExecutorClosedError", out  # terminated while sending: the result never arrived
    assert float(seconds) < 10, out
