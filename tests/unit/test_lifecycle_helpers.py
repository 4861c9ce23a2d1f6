"""The supervisor restarts crashed background tasks with backoff; logs carry request/execution ids."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging

import pytest

from entrypoints import logs
from entrypoints.supervisor import supervise


async def test_supervisor_restarts_with_exponential_backoff(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[float] = []
    loop = asyncio.get_running_loop()

    async def flaky() -> None:
        attempts.append(loop.time())
        if len(attempts) < 4:
            raise RuntimeError(f"boom {len(attempts)}")

    with caplog.at_level(logging.ERROR, "gpt_trader.supervisor"):
        await asyncio.wait_for(supervise("flaky", flaky, initial_backoff=0.02, max_backoff=0.05), 5)
    assert len(attempts) == 4
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04 and gaps[2] >= 0.05  # doubled, then capped
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["background task 'flaky' crashed"] * 3


async def test_supervisor_stops_when_cancelled() -> None:
    async def forever() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(supervise("forever", forever))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_json_logs_carry_request_and_execution_ids() -> None:
    stream = io.StringIO()
    logs.configure_logging("INFO", "json", stream)
    token_r, token_e = logs.request_id.set("req-1"), logs.execution_id.set("exe-9")
    try:
        logging.getLogger("gpt_trader.test").info("hello %s", "world")
    finally:
        logs.request_id.reset(token_r)
        logs.execution_id.reset(token_e)
        logging.getLogger().handlers.clear()
    entry = json.loads(stream.getvalue().strip())
    assert entry["message"] == "hello world" and entry["request_id"] == "req-1" and entry["execution_id"] == "exe-9"
    assert entry["level"] == "INFO" and entry["logger"] == "gpt_trader.test"


def test_console_logs_are_readable() -> None:
    stream = io.StringIO()
    logs.configure_logging("WARNING", "console", stream)
    try:
        logging.getLogger("gpt_trader.test").info("quiet")
        logging.getLogger("gpt_trader.test").warning("loud")
    finally:
        logging.getLogger().handlers.clear()
    assert "quiet" not in stream.getvalue() and "WARNING gpt_trader.test: loud" in stream.getvalue()
