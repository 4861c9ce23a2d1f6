"""Keep a background task alive: restart it after a crash with exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("gpt_trader.supervisor")


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
