"""Keep things alive: a background task restarted after a crash with exponential backoff; server
workers that died started again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("gpt_trader.supervisor")


async def cancelled(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has stopped."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    *,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    healthy_after: float = 60.0,
) -> None:
    """Run ``factory()`` until it returns; after a crash log it and start again after a delay that
    doubles each time (capped at ``max_backoff``) and resets once a run lasted ``healthy_after`` s.
    Cancellation stops it at once."""
    backoff = initial_backoff
    restarts = 0
    while True:
        started = time.monotonic()
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if time.monotonic() - started >= healthy_after:
                backoff = initial_backoff
            restarts += 1
            log.exception("background task %r crashed (restart %d in %.1f s)", name, restarts, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)


#: Sanic worker states from which a server worker is still (or about to be) serving.
_DEAD_STATES = frozenset({"FAILED"})


async def revive_dead_workers(multiplexer: Any, interval: float = 1.0) -> None:
    """Sanic's worker manager leaves a server worker that died (SIGKILL, out of memory) dead: ask it to
    start that worker again. Every worker runs this; only the live worker whose name sorts first asks,
    once per death (the manager moves the worker out of ``FAILED`` as it restarts it). Its trading
    sessions have been taken over by then (leases); the new worker takes sessions over like any other."""
    asked: dict[str, Any] = {}
    while True:
        await asyncio.sleep(interval)
        servers = {name: info for name, info in multiplexer.workers.items() if info.get("server")}
        alive = sorted(name for name, info in servers.items() if info.get("state") not in _DEAD_STATES)
        if not alive or alive[0] != multiplexer.name:
            continue
        for name, info in servers.items():
            death = (info.get("pid"), info.get("starts"))
            if info.get("state") in _DEAD_STATES and asked.get(name) != death:
                asked[name] = death
                log.warning("server worker %s (pid %s) died; starting it again", name, info.get("pid"))
                multiplexer.restart(name)
