"""``LocalLeases``: who runs each trading session when there is one machine and no shared lease backend.

A module of its own (it was part of ``services.sessions``, which still exports it) so that what only reads
sessions — the CLI's ``status``, ``monitor`` and the session readers — asks the ``SessionLeases`` port
without importing the trading engine, numpy and the charts.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Mapping
from typing import Any

from gpt_trader_core.errors import ConflictError
from gpt_trader_core.ports import SessionCommandHandler


@functools.cache
def _process_token() -> str:
    """Tells this process from an earlier one that had the same pid (a container's pid 1 restarted)."""
    return uuid.uuid4().hex[:12]


class LocalLeases:
    """``SessionLeases`` for one machine and no servers (the embedded default): this process is
    ``host:pid:token``; an owner on this host holds its sessions while a process with its pid exists,
    unless that pid is this process's and the token is not (an earlier incarnation: a restarted
    container's pid 1). Owners on other hosts cannot be checked from here and count as holding (never
    recovered twice). Not shared: recovery runs once, when a server starts. Several server workers use
    a shared lease backend instead (``adapters/leases``)."""

    shared = False
    renew_interval = 5.0
    scan_interval = 0.0

    def __init__(self) -> None:
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._me = f"{self._host}:{self._pid}:{_process_token()}"
        self._held: set[str] = set()

    @property
    def me(self) -> str:
        return self._me

    def alive(self, owner: str | None) -> bool:
        if owner is None:
            return False
        if owner == self._me:
            return True
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host != self._host or not pid.isdigit():
            return True
        if int(pid) == self._pid:
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by another user
            return True
        return True

    async def acquire(self, session_id: str) -> str | None:
        if session_id in self._held:
            return None
        self._held.add(session_id)
        return self._me

    async def renew(self, session_id: str, owner: str) -> bool:
        return session_id in self._held

    async def release(self, session_id: str, owner: str) -> None:
        self._held.discard(session_id)

    async def holds(self, session_id: str, owner: str | None) -> bool:
        return self.alive(owner)

    async def holding(self, owners: Mapping[str, str | None]) -> set[str]:
        return {session_id for session_id, owner in owners.items() if self.alive(owner)}

    async def serve(self, handler: SessionCommandHandler) -> None:
        """Nothing to serve: no other process can send commands here (recovery runs once, not ``lead``)."""

    async def ask(
        self, owner: str, session_id: str, command: str, args: Mapping[str, Any], timeout: float
    ) -> Mapping[str, Any]:
        raise ConflictError(
            f"session {session_id} is not running in this process but in {owner}, which it cannot reach; ask "
            "that one (--remote URL of the server running it; with bus.backend=redis every worker reaches it)"
        )
