"""The plan's WebSocket protocol against the real server with a real ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.ws_server import Client, ws_server


def _closed_code(closed: ConnectionClosed) -> int | None:
    return closed.rcvd.code if closed.rcvd is not None else None


async def test_hello_subscribe_publish_unsubscribe(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        assert client.hello["version"] and client.hello["heartbeat_interval"] == 30.0
        ack = await client.subscribe("custom:signals", "trades:live")
        assert ack["seq"] == {"custom:signals": 0, "trades:live": 0}
        await client.send({"action": "publish", "channel": "custom:signals", "type": "signal", "data": {"x": 1}})
        await client.expect("published")
        [message] = await client.data(1)
        assert message["channel"] == "custom:signals" and message["type"] == "signal"
        assert message["seq"] == 1 and message["data"] == {"x": 1} and message["ts"]
        await client.send({"action": "unsubscribe", "channels": ["custom:signals"]})
        assert (await client.expect("unsubscribed"))["channels"] == ["custom:signals"]
        await client.send({"action": "publish", "channel": "custom:signals", "type": "signal", "data": {"x": 2}})
        await client.expect("published")
        await client.send({"type": "ping", "timestamp": 7})
        assert (await client.expect("pong"))["timestamp"] == 7  # the unsubscribed message never came
        await client.close()


async def test_the_plans_paths_subscribe_on_connect(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        custom = await Client.connect(url + "/ws/v1/custom/news")
        trades = await Client.connect(url + "/ws/v1/trades/live")
        market = await Client.connect(url + "/ws/v1/market/stream?symbols=aapl,msft")
        assert (await custom.expect("subscribed"))["channels"] == ["custom:news"]
        assert (await trades.expect("subscribed"))["channels"] == ["trades:live"]
        assert (await market.expect("subscribed"))["channels"] == ["market:AAPL", "market:MSFT"]
        await app.ctx.container.adapters.event_bus().publish("custom:news", "headline", {"t": "hi"})
        assert (await custom.data(1))[0]["data"] == {"t": "hi"}
        for client in (custom, trades, market):
            await client.close()


async def test_heartbeat_both_ways(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.heartbeat_interval=0.2") as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        ping = await client.recv(2)
        assert ping["type"] == "ping" and ping["timestamp"] > 0
        await client.send({"type": "pong", "timestamp": ping["timestamp"]})
        await client.send({"type": "ping", "timestamp": 1})
        assert (await client.expect("pong"))["timestamp"] == 1
        pong_waiter = await client.conn.ping()  # control frames too
        await asyncio.wait_for(pong_waiter, 2)
        await client.close()


async def test_bad_json_and_unknown_actions_keep_the_connection(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.conn.send("{not json")
        assert (await client.expect("error"))["code"] == "bad_message"
        await client.send({"action": "dance"})
        error = await client.expect("error")
        assert error["code"] == "unknown_action" and "subscribe" in error["message"]
        await client.send({"action": "subscribe", "channels": ["weather:today"]})
        assert (await client.expect("error"))["code"] == "unknown_channel"
        await client.send([1, 2])
        assert (await client.expect("error"))["code"] == "bad_message"
        assert (await client.subscribe("trades:live"))["channels"] == ["trades:live"]
        await client.close()


async def test_oversize_message_closes_with_1009(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.max_message_size=1024") as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.conn.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv()
        assert _closed_code(closed.value) == 1009


async def test_rate_limit_errors_then_closes_with_1008(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.rate_limit=5") as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        codes = []
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(100):
                await client.send({"type": "ping", "timestamp": 0})
            while True:
                message = await client.recv()
                codes.append(message.get("code"))
        assert "rate_limited" in codes
        assert _closed_code(closed.value) == 1008 and "websocket.rate_limit" in closed.value.rcvd.reason  # type: ignore[union-attr]


async def test_too_many_subscriptions_is_an_error(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.max_subscriptions=2") as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("custom:a", "custom:b")
        await client.send({"action": "subscribe", "channels": ["custom:c"]})
        assert "websocket.max_subscriptions" in (await client.expect("error"))["message"]
        await client.close()


async def test_unauthenticated_clients_are_closed_with_1008(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "api.auth.enabled=true", "websocket.auth_timeout=0.3") as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        assert client.hello["auth_required"] is True
        await client.send({"action": "subscribe", "channels": ["trades:live"]})
        assert (await client.expect("error"))["code"] == "unauthenticated"
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv(3)
        assert _closed_code(closed.value) == 1008
        assert "authentication required" in closed.value.rcvd.reason  # type: ignore[union-attr]


async def test_foreign_origins_are_refused_at_the_handshake(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (_app, url):
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url + "/ws/v1", origin="http://evil.example")  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        ok = await Client.connect(url + "/ws/v1", origin="http://localhost:3000")
        await ok.close()


async def test_msgpack_frames(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        client = await Client.connect(url + "/ws/v1", fmt="msgpack")
        assert client.hello["format"] == "msgpack"
        await client.subscribe("custom:bin")
        await app.ctx.container.adapters.event_bus().publish("custom:bin", "tick", {"p": 1.5})
        raw = await asyncio.wait_for(client.conn.recv(), 5)
        assert isinstance(raw, bytes)
        [message] = [json.loads(json.dumps(__import__("msgpack").unpackb(raw)))]
        assert message["seq"] == 1 and message["data"] == {"p": 1.5}
        await client.close()


async def test_permessage_deflate_is_negotiated_when_offered(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        offered = await Client.connect(url + "/ws/v1", compression="deflate")
        plain = await Client.connect(url + "/ws/v1", compression=None)
        assert [e.name for e in offered.conn.protocol.extensions] == ["permessage-deflate"]
        assert plain.conn.protocol.extensions == []
        for client in (offered, plain):
            await client.subscribe("custom:z")
        await app.ctx.container.adapters.event_bus().publish("custom:z", "note", {"text": "abc" * 1000})
        for client in (offered, plain):
            assert (await client.data(1))[0]["data"]["text"] == "abc" * 1000
            await client.close()


async def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## WebSocket streaming", 1)[1]
    script = section.split("python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    async with ws_server(tmp_path) as (_app, url):
        port = url.rsplit(":", 1)[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script.replace("127.0.0.1:8001", f"127.0.0.1:{port}"), stdout=PIPE, stderr=PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert "'hello'" in lines[0] and "'subscribed'" in lines[1] and "'seq': 1" in lines[3]
