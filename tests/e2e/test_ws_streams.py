"""Streams of the real system over a real WebSocket: paper-session trades and equity, workflow
progress, resume without gaps or duplicates, slow consumers, graceful shutdown and restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from gpt_trader_core.services.sessions import SessionRequest
from gpt_trader_core.workflows import execution_steps
from tests.e2e.conftest import free_port
from tests.e2e.ws_server import Client, ws_server

FEED = {"kind": "replay", "timeframe": "1d", "speed": 0.0, "start": "2020-01-01", "end": "2020-12-31"}
Message = dict[str, Any]


async def _collect_until(client: Client, done: Callable[[Message], bool], timeout: float = 30.0) -> list[Message]:
    out: list[Message] = []
    while True:
        message = await client.recv(timeout)
        if "seq" in message and "channel" in message and message["type"] != "snapshot":
            out.append(message)
            if done(message):
                return out


def _seqs(messages: list[Message], channel: str) -> list[int]:
    return [m["seq"] for m in messages if m["channel"] == channel]


async def test_paper_session_fills_on_trades_and_equity_on_portfolio(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.send_queue=100000") as (app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("trades:live", "portfolio:updates", "system:events", "market:AAPL")
        request = SessionRequest("sma_cross", ("AAPL",), {"fast": 5, "slow": 20}, feed=FEED, tier_aware=False)
        record = await app.ctx.sessions.start(request)
        messages = await _collect_until(
            client, lambda m: m["type"] == "session" and m["data"].get("last_bar") is not None
        )
        store = await app.ctx.container.adapters.state_store()
        fills = await store.list_fills(record.id)
        got_fills = [m["data"] for m in messages if m["channel"] == "trades:live" and m["type"] == "fill"]
        assert fills and [f["fill_id"] for f in got_fills] == [f.fill_id for f in fills]
        assert any(m["type"] == "order" and m["data"]["status"] == "filled" for m in messages)
        equity = [m["data"] for m in messages if m["channel"] == "portfolio:updates" and m["type"] == "equity"]
        # (the live feed may have sent a synthetic AAPL bar before the session's first one: not counted)
        bars = [m for m in messages if m["channel"] == "market:AAPL" and m["data"].get("session_id") == record.id]
        assert len(equity) == len(bars) > 100  # equity after every bar, fills included
        assert equity[-1]["equity"] == pytest.approx((await store.get_session(record.id)).equity)
        for channel in ("trades:live", "portfolio:updates", "market:AAPL"):
            seqs = _seqs(messages, channel)
            assert seqs == list(range(1, len(seqs) + 1)), channel
        await client.close()


async def test_workflow_progress_matches_workflow_status(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        workflows = await app.ctx.container.services.workflows()
        execution = await workflows.execute(
            "simple_backtest", {"symbol": "MSFT", "start": "2020-01-01", "end": "2021-12-31"}, wait=False
        )
        client = await Client.connect(url + "/ws/v1")
        # last_seq 0: everything the execution published before this client subscribed, then live
        await client.subscribe(f"workflow:{execution.id}", last_seq={f"workflow:{execution.id}": 0})
        messages = await _collect_until(client, lambda m: m["type"].startswith("execution_") and m["seq"] > 1)
        assert messages[0]["type"] == "execution_started"
        assert _seqs(messages, f"workflow:{execution.id}") == list(range(1, len(messages) + 1))
        status = await workflows.status(execution.id)
        final = messages[-1]["data"]
        assert (final["status"], final["progress"]) == (status.status.value, status.progress)
        assert {m["data"]["step"] for m in messages if m["type"] == "step_finished"} == {
            s["name"] for s in execution_steps(status) if s["status"] == "succeeded"
        }
        await client.close()


async def test_resume_after_a_dropped_connection_without_gap_or_duplicate(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("market:aapl")
        for i in range(5):
            await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i)})
        seen = await client.data(3)
        await client.conn.close()  # dropped after message 3 (4 and 5 were in flight)
        for i in range(5, 8):
            await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i)})
        again = await Client.connect(url + "/ws/v1")
        ack = await again.subscribe("market:AAPL", last_seq={"market:AAPL": seen[-1]["seq"]})
        assert ack["seq"]["market:AAPL"] == 8
        resumed = await again.data(5)
        assert [m["seq"] for m in seen + resumed] == list(range(1, 9))
        assert [m["data"]["close"] for m in resumed] == [3.0, 4.0, 5.0, 6.0, 7.0]
        await again.send({"type": "ping", "timestamp": 0})
        assert (await again.recv())["type"] == "pong"  # nothing after 8: no duplicate
        await again.close()


async def test_too_far_behind_gets_a_snapshot_then_deltas(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.replay_buffer=5") as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        for i in range(20):
            await bus.publish("session:s1", "portfolio_updated", {"session_id": "s1", "equity": float(i)})
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("portfolio:updates", last_seq={"portfolio:updates": 2})
        snapshot = await client.expect("snapshot")
        assert snapshot["seq"] == 20 and snapshot["data"]["from_seq"] == 3
        assert snapshot["data"]["messages"][-1]["data"]["equity"] == 19.0
        await bus.publish("session:s1", "portfolio_updated", {"session_id": "s1", "equity": 20.0})
        [delta] = await client.data(1)
        assert delta["seq"] == 21
        await client.close()


async def test_a_stalled_client_is_dropped_on_ordered_channels_and_others_keep_up(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.send_queue=50") as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        stalled = await Client.connect(url + "/ws/v1/trades/live", tiny_window=True)
        await stalled.expect("subscribed")
        reader = await Client.connect(url + "/ws/v1/trades/live", max_size=None)
        await reader.expect("subscribed")
        big = "x" * 8000
        n = 2000  # 16 MB: more than the buffers hold for a client that never reads

        async def publish() -> None:
            for i in range(n):
                await bus.publish("session:s1", "fill_recorded", {"session_id": "s1", "fill_id": f"{i}:{big}"})
                if i % 5 == 0:
                    await asyncio.sleep(0.002)  # a steady stream the reading client keeps up with

        publishing = asyncio.create_task(publish())
        got = await reader.data(n, timeout=30)
        await publishing
        assert [m["seq"] for m in got] == list(range(1, n + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await stalled.recv(30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "too slow" in closed.value.rcvd.reason and "last_seq" in closed.value.rcvd.reason
        await reader.close()


async def test_market_data_conflates_for_a_slow_client(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.send_queue=20") as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        slow = await Client.connect(url + "/ws/v1/market/stream?symbols=AAPL", tiny_window=True)
        await slow.expect("subscribed")
        n, big = 1000, "y" * 8000
        for i in range(n):  # it reads nothing meanwhile
            await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i), "time": big})
            if i % 20 == 0:
                await asyncio.sleep(0)
        got = await _collect_until(slow, lambda m: m["seq"] == n)
        assert len(got) < n  # latest wins: older bars were dropped while it lagged, the last one arrived
        assert got[-1]["data"]["close"] == float(n - 1)
        assert [m["seq"] for m in got] == sorted({m["seq"] for m in got})  # in order, no duplicate
        await slow.close()


async def test_shutdown_sends_1001_and_the_next_start_resumes_without_gap(tmp_path: Path) -> None:
    port = free_port()
    async with ws_server(tmp_path, port=port) as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("custom:orders")
        for i in range(5):
            await bus.publish("custom:orders", "placed", {"i": i})
        seen = await client.data(3)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv(5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    async with ws_server(tmp_path, port=port) as (app, url):
        await app.ctx.container.adapters.event_bus().publish("custom:orders", "placed", {"i": 5})
        again = await Client.connect(url + "/ws/v1")
        await again.subscribe("custom:orders", last_seq={"custom:orders": seen[-1]["seq"]})
        resumed = await again.data(3)
        assert [m["seq"] for m in resumed] == [4, 5, 6]
        assert [m["data"]["i"] for m in resumed] == [3, 4, 5]
        await again.close()
