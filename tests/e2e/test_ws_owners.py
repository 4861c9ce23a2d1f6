"""Per-owner stream authorisation with auth on, against a real ``gpt-trader serve`` (users made with the
real CLI, tokens from the real login endpoint, a real websockets client on the API's port): two traders
each start a paper session over REST; on ``trades:live`` and ``portfolio:updates`` each sees only their
own session's fills and equity, an admin sees both; ``workflow:ID`` of another user's execution is
refused, and the owner follows it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import GPT_TRADER, free_port
from tests.e2e.test_ws_serve import _connect
from tests.e2e.ws_server import Client

PASSWORD = "correct horse battery staple"
FEED = {"kind": "replay", "timeframe": "1d", "speed": 0.0, "start": "2020-01-01", "end": "2020-12-31"}
COMMAND = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
Message = dict[str, Any]
USERS = {"alice": "trader", "bob": "trader", "root": "admin"}


async def _until_finished(client: Client, sessions: set[str]) -> list[Message]:
    """Data messages until every session in ``sessions`` said it finished (on system:events)."""
    out: list[Message] = []
    waiting = set(sessions)
    while waiting:
        message = await client.recv(30)
        if "seq" in message and "channel" in message and message["type"] != "snapshot":
            out.append(message)
            data = message["data"]
            if message["type"] == "session" and data.get("last_bar") is not None:
                waiting.discard(data["session_id"])
    return out


def _sessions_on(messages: list[Message], channel: str, type_: str) -> set[str]:
    return {m["data"]["session_id"] for m in messages if m["channel"] == channel and m["type"] == type_}


async def test_a_trader_sees_only_their_own_sessions_and_executions_and_an_admin_sees_all(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    await serve_with_users(tmp_path, isolated_env, _scenario)


async def serve_with_users(
    tmp_path: Path, isolated_env: dict[str, str], scenario: Callable[[int, subprocess.Popen[str]], Awaitable[None]]
) -> None:
    """``scenario(port, proc)`` against a real ``serve --mode api`` with auth on and the users
    alice and bob (traders) and root (admin), made with the real CLI."""
    env = {**isolated_env, "GPT_TRADER__API__RATE_LIMITS__ENABLED": "false", "GPT_TRADER__WEBSOCKET__LIVE_FEED": "off"}
    for name, role in USERS.items():
        made = subprocess.run(
            [*COMMAND, "users", "add", name, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n", cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
    port = free_port()
    proc = subprocess.Popen(
        [*COMMAND, "serve", "--mode", "api", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        await scenario(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def subscribed_users(
    port: int, proc: subprocess.Popen[str], http: httpx.AsyncClient, channels: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, Client]]:
    """Each user's access token (from the login endpoint) and a WebSocket client subscribed to
    ``channels`` with it; waits for the server to listen first."""
    first = await _connect(f"ws://127.0.0.1:{port}/ws/v1", proc)
    await first.close()
    tokens = {}
    for name in USERS:
        reply = await http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        tokens[name] = reply.json()["access_token"]
    clients: dict[str, Client] = {}
    for name, token in tokens.items():
        client = await Client.connect(f"ws://127.0.0.1:{port}/ws/v1", additional_headers=_bearer(token))
        await client.subscribe(*channels)
        clients[name] = client
    return tokens, clients


async def _scenario(port: int, proc: subprocess.Popen[str]) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        channels = ("trades:live", "portfolio:updates", "system:events")
        tokens, clients = await subscribed_users(port, proc, http, channels)

        started: dict[str, str] = {}
        for name in ("alice", "bob"):
            body = {
                "strategy": "sma_cross",
                "symbols": ["AAPL" if name == "alice" else "MSFT"],
                "params": {"fast": 5, "slow": 20},
                "feed": FEED,
                "tier_aware": False,
            }
            reply = await http.post("/api/v1/sessions", json=body, headers=_bearer(tokens[name]))
            assert reply.status_code == 201, reply.text
            started[name] = reply.json()["id"]

        seen = {name: await _until_finished(client, set(started.values())) for name, client in clients.items()}
        for name in ("alice", "bob"):
            other = started["bob" if name == "alice" else "alice"]
            assert _sessions_on(seen[name], "trades:live", "fill") == {started[name]}  # not the other's fills
            assert _sessions_on(seen[name], "portfolio:updates", "equity") == {started[name]}
            assert other not in {m["data"].get("session_id") for m in seen[name] if m["channel"] != "system:events"}
        assert _sessions_on(seen["root"], "trades:live", "fill") == set(started.values())
        assert _sessions_on(seen["root"], "portfolio:updates", "equity") == set(started.values())

        # a workflow execution: bob may not follow alice's; alice and the admin may
        params = {"params": {"symbol": "MSFT", "start": "2020-01-01", "end": "2021-12-31"}}
        reply = await http.post(
            "/api/v1/workflows/execute/simple_backtest", json=params, headers=_bearer(tokens["alice"])
        )
        assert reply.status_code == 202, reply.text
        channel = f"workflow:{reply.json()['id']}"
        await clients["bob"].send({"action": "subscribe", "channels": [channel], "last_seq": {channel: 0}})
        refused = await clients["bob"].expect("error")
        assert refused["code"] == "forbidden" and "another user" in refused["message"]
        for name in ("alice", "root"):
            await clients[name].subscribe(channel, last_seq={channel: 0})
            types = []
            while not any(t in types for t in ("execution_finished", "execution_failed")):
                message = await clients[name].recv(30)
                if message.get("channel") == channel:
                    types.append(message["type"])
            assert types[0] == "execution_started" and types[-1] == "execution_finished", types
        for client in clients.values():
            await client.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
