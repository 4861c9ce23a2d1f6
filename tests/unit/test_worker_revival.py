"""A server worker that died is started again, asked for once, by the first live worker only."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from entrypoints.supervisor import revive_dead_workers


class Manager:
    """What a worker sees of Sanic's worker manager: the shared worker states and a restart request."""

    def __init__(self, name: str, states: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.states = states
        self.restarts: list[str] = []

    @property
    def workers(self) -> dict[str, dict[str, Any]]:
        return self.states

    def restart(self, name: str) -> None:
        self.restarts.append(name)


async def _run_for(manager: Manager, seconds: float) -> None:
    task = asyncio.create_task(revive_dead_workers(manager, interval=0.01))
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_the_first_live_worker_asks_once_per_death() -> None:
    states = {
        "Sanic-Server-0-0": {"server": True, "state": "FAILED", "pid": 10, "starts": 1},
        "Sanic-Server-1-0": {"server": True, "state": "ACKED", "pid": 11, "starts": 1},
        "Sanic-Server-2-0": {"server": True, "state": "ACKED", "pid": 12, "starts": 1},
        "Sanic-Reloader-0": {"server": False, "state": "FAILED", "pid": 13, "starts": 1},
    }
    first, second = Manager("Sanic-Server-1-0", states), Manager("Sanic-Server-2-0", states)
    await asyncio.gather(_run_for(first, 0.1), _run_for(second, 0.1))
    assert first.restarts == ["Sanic-Server-0-0"] and second.restarts == []
    states["Sanic-Server-0-0"] = {"server": True, "state": "FAILED", "pid": 20, "starts": 2}  # died again
    await _run_for(first, 0.1)
    assert first.restarts == ["Sanic-Server-0-0", "Sanic-Server-0-0"]


async def test_nothing_is_asked_while_every_worker_lives() -> None:
    states = {f"Sanic-Server-{i}-0": {"server": True, "state": "ACKED", "pid": i, "starts": 1} for i in range(3)}
    manager = Manager("Sanic-Server-0-0", states)
    await _run_for(manager, 0.05)
    assert manager.restarts == []
