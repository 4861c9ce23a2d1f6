"""A paper session a workflow starts belongs to whoever started the workflow, against a real
``gpt-trader serve`` with auth on (users made with the real CLI, tokens from the login endpoint, a real
websockets client): alice runs ``risk_managed_live_trading`` over REST; on ``trades:live`` and
``portfolio:updates`` she and the admin see its session's fills and equity, bob sees none of them
(``system:events`` carries every session's start and end to every viewer, by design)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_ws_owners import _bearer, _until_finished, serve_with_users, subscribed_users
from tests.e2e.ws_server import Client

CHANNELS = ("trades:live", "portfolio:updates", "system:events")
OWNED = ("trades:live", "portfolio:updates")  # shown to the session's owner and admins only


async def test_the_session_of_a_workflow_is_followed_by_its_starter_and_not_by_another_trader(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    await serve_with_users(tmp_path, isolated_env, _scenario)


async def _scenario(port: int, proc: subprocess.Popen[str]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        tokens, clients = await subscribed_users(port, proc, http, CHANNELS)

        params = {"params": {"bars": 150, "feed": "replay", "max_drawdown_pct": 80, "max_daily_loss_pct": 50}}
        reply = await http.post(
            "/api/v1/workflows/execute/risk_managed_live_trading", json=params, headers=_bearer(tokens["alice"])
        )
        assert reply.status_code == 202, reply.text
        session = await _session_of(http, reply.json()["id"], tokens["alice"])

        for name in ("alice", "root"):
            seen = await _until_finished(clients[name], {session})
            for channel in OWNED:
                assert session in _sessions_on(seen, channel), (name, channel)
        bob = await _drain(clients["bob"])
        assert session in _sessions_on(bob, "system:events")  # he was listening all along
        for channel in OWNED:
            assert session not in _sessions_on(bob, channel), channel
        for client in clients.values():
            await client.close()


async def _session_of(http: httpx.AsyncClient, execution_id: str, token: str) -> str:
    """The id of the session the execution started, once it finished."""
    for _ in range(600):
        reply = await http.get(f"/api/v1/workflows/status/{execution_id}", headers=_bearer(token))
        assert reply.status_code == 200, reply.text
        execution = reply.json()
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            assert execution["status"] == "succeeded", execution
            return str(execution["result"]["report"]["session"]["session_id"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"execution {execution_id} still {execution['status']}")


def _sessions_on(messages: list[dict[str, Any]], channel: str) -> set[str]:
    return {m["data"].get("session_id") for m in messages if m["channel"] == channel}


async def _drain(client: Client) -> list[dict[str, Any]]:
    """The data messages the client has (until none comes for a second)."""
    out = []
    while True:
        try:
            message = await client.recv(1.0)
        except TimeoutError:
            return out
        if "seq" in message and "channel" in message:
            out.append(message)
