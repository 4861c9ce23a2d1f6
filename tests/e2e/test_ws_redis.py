"""Streams across server processes on the Redis bus: two real ``gpt-trader serve`` processes (same
Redis, same state) give their WebSocket clients every event of a paper session in order with the
same numbers; a client that leaves one server resumes on the other with no gap and no duplicate;
Redis going away is said to the clients, the server stays up, and streams continue when it is back."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.adapters.test_event_bus import delete_namespace
from tests.adapters.test_redis_bus import RedisProxy
from tests.e2e.conftest import GPT_TRADER, free_port
from tests.e2e.test_ws_serve import _connect
from tests.e2e.ws_server import Client, ws_server

pytestmark = [pytest.mark.redis]

Message = dict[str, Any]
CHANNELS = ("trades:live", "portfolio:updates", "market:AAPL", "system:events")
# 2020's daily bars at ~40 a second: a session of a few seconds
FEED = {"kind": "replay", "timeframe": "1d", "speed": 86_400 * 40, "start": "2020-01-01", "end": "2020-12-31"}


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    name = f"gpt-trader-test:{uuid.uuid4().hex}"
    yield name
    await delete_namespace(redis_url, name)


@contextmanager
def _serve(tmp_path: Path, env: dict[str, str], redis_url: str, namespace: str) -> Iterator[tuple[int, int, Any]]:
    port, ws_port = free_port(), free_port()
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    sets = ["api.auth.enabled=false", "bus.backend=redis", f"bus.redis_url={redis_url}", f"bus.namespace={namespace}"]
    args = ["serve", "--mode", "all", "--port", str(port), "--ws-port", str(ws_port)]
    for item in sets:
        args += ["--set", item]
    proc = subprocess.Popen(
        [*command, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield port, ws_port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _finished(message: Message) -> bool:
    data = message["data"]
    return message["channel"] == "system:events" and message["type"] == "session" and data.get("last_bar") is not None


async def _until(client: Client, done: Callable[[Message], bool], timeout: float = 60) -> list[Message]:
    out: list[Message] = []
    while True:
        message = await client.recv(timeout)
        if "seq" in message and "channel" in message and message["type"] != "snapshot":
            out.append(message)
            if done(message):
                return out


def _by_channel(messages: list[Message]) -> dict[str, list[tuple[int, str, Any]]]:
    out: dict[str, list[tuple[int, str, Any]]] = {}
    for m in messages:
        out.setdefault(m["channel"], []).append((m["seq"], m["type"], m["data"]))
    return out


@pytest.mark.slow
async def test_clients_of_two_serve_processes_get_every_event_in_order_and_resume_on_the_other(
    tmp_path: Path, isolated_env: dict[str, str], redis_url: str, namespace: str
) -> None:
    env = {**isolated_env, "GPT_TRADER__WEBSOCKET__LIVE_FEED": "off"}  # only the session's market bars
    with (
        _serve(tmp_path, env, redis_url, namespace) as (port_one, ws_one, proc_one),
        _serve(tmp_path, env, redis_url, namespace) as (_, ws_two, proc_two),
    ):
        one = await _connect(f"ws://127.0.0.1:{ws_one}/ws/v1", proc_one)
        two = await _connect(f"ws://127.0.0.1:{ws_two}/ws/v1", proc_two)
        leaver = await _connect(f"ws://127.0.0.1:{ws_one}/ws/v1", proc_one)
        for client in (one, two, leaver):
            subscribed = await client.subscribe(*CHANNELS)
            assert subscribed["seq"] == dict.fromkeys(CHANNELS, 0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_one}", timeout=30) as http:
            body = {
                "strategy": "sma_cross",
                "symbols": ["AAPL"],
                "params": {"fast": 5, "slow": 20},
                "feed": FEED,
                "tier_aware": False,
            }
            started = await http.post("/api/v1/sessions", json=body)
            assert started.status_code == 201, started.text
        # the leaver reads a while, goes away from server one, and resumes on server two
        seen = await _until(leaver, lambda m: m["channel"] == "portfolio:updates" and m["seq"] >= 40)
        await leaver.close()
        await asyncio.sleep(0.3)  # events go on meanwhile
        last = {c: max((m["seq"] for m in seen if m["channel"] == c), default=0) for c in CHANNELS}
        back = await _connect(f"ws://127.0.0.1:{ws_two}/ws/v1", proc_two)
        resumed = await back.subscribe(*CHANNELS, last_seq=last)
        rest = await _until(back, _finished)
        got_one, got_two = await _until(one, _finished), await _until(two, _finished)

        expected = _by_channel(got_one)
        assert _by_channel(got_two) == expected  # same events, same numbers, same order on both servers
        for channel in ("trades:live", "portfolio:updates", "market:AAPL"):
            seqs = [seq for seq, _, _ in expected[channel]]
            assert seqs == list(range(1, len(seqs) + 1)), channel  # no gap from the first
        assert len(expected["portfolio:updates"]) > 200 and expected["trades:live"]
        assert _by_channel(seen + rest) == expected  # resumed on the other server: no gap, no duplicate
        assert resumed["seq"]["portfolio:updates"] >= last["portfolio:updates"]
        for client in (one, two, back):
            await client.close()
        # a process started afterwards (a restart) has nothing in memory: it replays from Redis
        with _serve(tmp_path, env, redis_url, namespace) as (_, ws_three, proc_three):
            late = await _connect(f"ws://127.0.0.1:{ws_three}/ws/v1", proc_three)
            total = sum(len(v) for v in expected.values())
            replay = await late.subscribe(*CHANNELS, last_seq=dict.fromkeys(CHANNELS, 0))
            assert replay["seq"] == {c: v[-1][0] for c, v in expected.items()}
            assert _by_channel(await late.data(total)) == expected
            await late.close()


async def test_redis_going_away_is_said_to_clients_and_streams_continue_when_it_is_back(
    tmp_path: Path, redis_url: str, namespace: str
) -> None:
    target = urlsplit(redis_url)
    proxy = RedisProxy(target.port or 6379)
    await proxy.start()
    url = f"redis://127.0.0.1:{proxy.port}{target.path or '/0'}"
    sets = ("bus.backend=redis", f"bus.redis_url={url}", f"bus.namespace={namespace}", "websocket.live_feed=off")
    async with ws_server(tmp_path, *sets) as (app, ws_url):
        client = await Client.connect(ws_url + "/ws/v1")
        await client.subscribe("custom:chat")
        await client.send({"action": "publish", "channel": "custom:chat", "type": "said", "data": {"n": 1}})
        await client.expect("published")
        [first] = await client.data(1)
        await proxy.stop()
        error = await client.expect("error", timeout=15)
        assert error["code"] == "bus_unavailable" and "unreachable" in error["message"]
        await client.send({"action": "publish", "channel": "custom:chat", "type": "said", "data": {"n": 2}})
        refused = await client.expect("error", timeout=15)
        assert "unreachable" in refused["message"]  # a clear error; the connection stays
        await client.send({"action": "subscribe", "channels": ["custom:other"]})
        assert (await client.expect("error", timeout=15))["code"] == "unavailable"
        await proxy.start()  # same port: Redis is back
        status = await client.expect("status", timeout=15)
        assert status["code"] == "bus_available"
        for _attempt in range(5):  # as a client would: a publish refused while the bus reconnects is retried
            await client.send({"action": "publish", "channel": "custom:chat", "type": "said", "data": {"n": 3}})
            answer = await client.recv(10)
            while answer["type"] == "ping":
                answer = await client.recv(10)
            if answer["type"] == "published":
                break
            assert answer["code"] == "unavailable", answer
            await asyncio.sleep(0.5)
        assert answer["type"] == "published", answer
        [after] = await client.data(1, timeout=10)
        assert (after["seq"], after["data"]) == (first["seq"] + 1, {"n": 3})
        await client.close()
    with suppress(Exception):
        await proxy.stop()
    assert app is not None
