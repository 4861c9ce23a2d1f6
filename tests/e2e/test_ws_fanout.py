"""The fan-out's fast path over real sockets: one pre-built frame written straight to every plain
connection, per-connection framing for compressed ones, the bounded queue when a socket falls behind,
and the close handshake — order, content and close codes as a real ``websockets`` client sees them."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from websockets.frames import Close, Opcode
from websockets.frames import Frame as WsFrame
from websockets.protocol import State

from entrypoints.http.ws.client import Client as ServerClient
from entrypoints.http.ws.deflate import WatchedServerProtocol
from entrypoints.http.ws.frames import Frame
from gpt_trader_core.domain.events import StreamMessage
from tests.e2e.ws_server import Client, ws_server


def _server_clients(app: Any) -> list[ServerClient]:
    return list(app.ctx.ws.clients)


async def _bars(client: Client, last: int, pongs: list[int] | None = None) -> list[dict[str, Any]]:
    """Data messages of market:AAPL up to the one numbered ``last``; pongs' timestamps into ``pongs``."""
    out: list[dict[str, Any]] = []
    while not out or out[-1]["seq"] < last:
        message = await client.recv(30.0)
        if message.get("channel") == "market:AAPL":
            out.append(message)
        elif message.get("type") == "pong" and pongs is not None:
            pongs.append(message["timestamp"])
    return out


async def test_plain_msgpack_and_deflate_clients_get_every_bar_in_order_with_controls_between(tmp_path: Path) -> None:
    async with ws_server(tmp_path) as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        kinds = [("json", None), ("json", None), ("msgpack", None), ("json", "deflate"), ("msgpack", "deflate")]
        clients = [await Client.connect(url + "/ws/v1", fmt, compression=comp) for fmt, comp in kinds]
        for client in clients:
            await client.subscribe("market:AAPL")
        n = 300

        async def publish() -> None:
            for i in range(n):
                await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i)})
                if i % 10 == 0:
                    await asyncio.sleep(0)

        async def ping(client: Client) -> None:
            for i in range(5):  # answered through the per-connection path, between the shared frames
                await client.send({"type": "ping", "timestamp": i})
                await asyncio.sleep(0.001)

        publishing = asyncio.create_task(publish())
        await asyncio.gather(*(ping(c) for c in clients))
        pongs: list[list[int]] = [[] for _ in clients]
        received = await asyncio.gather(*(_bars(c, n, p) for c, p in zip(clients, pongs, strict=True)))
        await publishing
        for client, bars, answered in zip(clients, received, pongs, strict=True):
            while len(answered) < 5:  # any pong the stream did not overtake
                message = await client.recv()
                if message.get("type") == "pong":
                    answered.append(message["timestamp"])
            assert [m["seq"] for m in bars] == list(range(1, n + 1))
            assert [m["data"]["close"] for m in bars] == [float(i) for i in range(n)]
            assert answered == [0, 1, 2, 3, 4]
        by_kind = {(c.fmt, c.plain): c for c in _server_clients(app)}
        # Plain connections were written the shared frame bytes; compressed ones never were.
        assert by_kind[("json", True)].shared > 0 and by_kind[("msgpack", True)].shared > 0
        assert by_kind[("json", False)].shared == 0 and by_kind[("msgpack", False)].shared == 0
        assert by_kind[("json", False)].sent >= n
        for client in clients:
            await client.close()


async def test_a_lagging_plain_client_queues_in_order_then_returns_to_the_fast_path(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.send_queue=5000") as (app, url):
        bus = app.ctx.container.adapters.event_bus()
        lagging = await Client.connect(url + "/ws/v1/market/stream?symbols=AAPL", tiny_window=True)
        await lagging.expect("subscribed")
        [server_side] = _server_clients(app)
        big = "z" * 8000  # in a field the market channel carries
        n = 300  # 2.4 MB, far more than its socket buffers: the rest waits in its queue
        for i in range(n):
            await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i), "time": big})
            if i % 20 == 0:
                await asyncio.sleep(0)
        assert len(server_side.queue) > 0 and not server_side.ready  # the fast path stepped aside
        first = await _bars(lagging, n)
        assert [m["seq"] for m in first] == list(range(1, n + 1))  # queue large enough: nothing dropped
        for _ in range(100):  # the writer drains the queue and hands back to the fast path
            if server_side.ready:
                break
            await asyncio.sleep(0.01)
        assert server_side.ready
        shared = server_side.shared
        for i in range(n, n + 10):
            await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i)})
        second = await _bars(lagging, n + 10)
        assert [m["seq"] for m in second] == list(range(n + 1, n + 11))
        assert server_side.shared == shared + 10
        await lagging.close()


async def test_a_client_closing_mid_stream_gets_a_clean_close_handshake(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.send_queue=100000") as (app, url):  # nothing conflated
        bus = app.ctx.container.adapters.event_bus()
        # max_queue=None: the library keeps reading while it closes (a bounded queue would pause its
        # reading, so the server's close frame would wait behind unread data until the close timeout).
        leaving = await Client.connect(url + "/ws/v1", compression=None, max_queue=None)
        staying = await Client.connect(url + "/ws/v1", compression=None)
        for client in (leaving, staying):
            await client.subscribe("market:AAPL")
        stop = asyncio.Event()

        async def publish() -> int:
            i = 0
            while not stop.is_set():
                i += 1
                await bus.publish("session:s1", "bar_processed", {"symbol": "AAPL", "close": float(i)})
                await asyncio.sleep(0)
            return i

        publishing = asyncio.create_task(publish())
        await _bars(leaving, 20)
        await leaving.conn.close()  # mid-stream: data frames keep coming until the server's close frame
        assert leaving.conn.close_code == 1000
        stop.set()
        last = await publishing
        bars = await _bars(staying, last)
        assert [m["seq"] for m in bars] == list(range(1, last + 1))
        for _ in range(100):
            if len(_server_clients(app)) == 1:
                break
            await asyncio.sleep(0.01)
        assert len(_server_clients(app)) == 1
        await staying.close()


def test_no_data_frame_follows_the_close_frame_on_the_fast_path() -> None:
    """The fast path checks a flag, not the protocol's state: the protocol must lower it the moment
    a close frame arrives, before its reply is written, so nothing is written after that reply."""
    proto = WatchedServerProtocol(state=State.OPEN)
    written: list[bytes] = []
    transport = SimpleNamespace(write=written.append, is_closing=lambda: False, get_write_buffer_size=lambda: 0)
    server_side = ServerClient(
        SimpleNamespace(ws_proto=proto, io_proto=SimpleNamespace(transport=transport)),  # type: ignore[arg-type]
        "json",
        send_queue=10,
        rate=10,
    )

    def bar(seq: int) -> Frame:
        return Frame(StreamMessage("market:AAPL", "bar", seq, dt.datetime(2026, 1, 1), {"symbol": "AAPL"}))

    first = bar(1)
    server_side.offer(first, True)
    assert written == [first.framed("json")] and server_side.shared == 1
    proto.receive_data(WsFrame(Opcode.CLOSE, Close(1000, "bye").serialize()).serialize(mask=True))
    assert not server_side.ready and not server_side.open
    written.extend(d for d in proto.data_to_send() if d)  # the close reply, as Sanic writes it
    server_side.offer(bar(2), True)
    assert len(written) == 2 and written[-1].startswith(b"\x88")  # the close frame is the last thing written
    assert server_side.shared == 1
