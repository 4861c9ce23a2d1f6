"""`gpt-trader serve --mode all` as a real subprocess: the streams answer on the WebSocket port and on
the API's port, compress when asked, and SIGTERM closes them with 1001."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import GPT_TRADER, free_port
from tests.e2e.ws_server import Client


async def _connect(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> Client:
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            return await Client.connect(url)
        except OSError:
            if time.monotonic() - started > timeout:
                raise
            await asyncio.sleep(0.1)


async def test_serve_all_streams_on_both_ports_and_1001_on_sigterm(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    port, ws_port = free_port(), free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    args = ["serve", "--mode", "all", "--port", str(port), "--ws-port", str(ws_port), "--set", "api.auth.enabled=false"]
    proc = subprocess.Popen(
        [*command, *args], cwd=tmp_path, env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        ws = await _connect(f"ws://127.0.0.1:{ws_port}/ws/v1", proc)
        api = await _connect(f"ws://127.0.0.1:{port}/ws/v1/custom/chat", proc)
        assert [e.name for e in ws.conn.protocol.extensions] == ["permessage-deflate"]
        await api.expect("subscribed")
        await ws.subscribe("custom:chat")
        # one hub per process: a message published through one port reaches the other's clients
        await ws.send({"action": "publish", "channel": "custom:chat", "type": "said", "data": {"t": "hi"}})
        for client in (ws, api):
            [message] = await client.data(1)
            assert message["data"] == {"t": "hi"} and message["seq"] == 1
        proc.send_signal(signal.SIGTERM)
        for client in (ws, api):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await client.recv(10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_optimisation_progress_on_the_api_port_matches_its_status(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    port = free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    args = ["serve", "--mode", "api", "--port", str(port), "--set", "api.auth.enabled=false"]
    proc = subprocess.Popen(
        [*command, *args], cwd=tmp_path, env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        client = await _connect(f"ws://127.0.0.1:{port}/ws/v1", proc)  # the API's own port
        body = {"symbol": "AAPL", "strategy": "sma_cross", "space": {"fast": [5, 10], "slow": [20, 50]}}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            started = await http.post("/api/v1/strategies/optimize", json=body)
            assert started.status_code == 202
            channel = f"optimize:{started.json()['id']}"
            await client.subscribe(channel, last_seq={channel: 0})  # from its first message on
            messages = []
            while not messages or messages[-1]["type"] not in ("job_succeeded", "job_failed"):
                messages += await client.data(1, timeout=60)
            status = (await http.get(started.headers["location"])).json()
        assert messages[0]["type"] == "job_started" and messages[-1]["type"] == "job_succeeded"
        assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
        final = messages[-1]["data"]
        assert (final["status"], final["progress"]) == (status["status"], status["progress"])
        await client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
