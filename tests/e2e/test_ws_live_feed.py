"""``market:SYMBOL`` for a symbol no session trades: the configured live feed (the SYNTHETIC market by
default, no servers needed) streams over a real WebSocket, labelled synthetic, and stops when the
last subscriber leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.ws_server import Client, ws_server


async def test_any_symbol_streams_the_synthetic_live_feed_while_someone_listens(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.live_interval=0.05") as (app, url):
        hub = app.ctx.ws.hub
        first = await Client.connect(url + "/ws/v1")
        second = await Client.connect(url + "/ws/v1/market/stream?symbols=zzq")
        subscribed = await first.subscribe("market:zzq")
        assert subscribed["channels"] == ["market:ZZQ"]
        await second.expect("subscribed")
        bars = await first.data(6)
        assert [m["seq"] for m in bars] == list(range(bars[0]["seq"], bars[0]["seq"] + 6))
        for message in bars:
            data = message["data"]
            assert (message["channel"], message["type"], data["symbol"], data["synthetic"]) == (
                "market:ZZQ",
                "bar",
                "ZZQ",
                True,
            )
            assert data["feed"].startswith("synthetic-live(") and data["low"] <= data["close"] <= data["high"]
        assert [m["data"]["bar"] for m in bars] == list(range(bars[0]["data"]["bar"], bars[0]["data"]["bar"] + 6))
        both = [m["seq"] for m in (await second.data(8))[-2:]], [m["seq"] for m in await first.data(2)]
        assert both[0] == both[1]  # one stream, the same numbers
        assert hub.market.pumping == ("ZZQ",)
        await first.send({"action": "unsubscribe", "channels": ["market:ZZQ"]})
        await first.expect("unsubscribed")
        assert hub.market.pumping == ("ZZQ",)  # the second client still listens
        await second.close()
        for _ in range(50):
            if not hub.market.pumping:
                break
            await asyncio.sleep(0.05)
        assert hub.market.pumping == ()
        await first.close()


async def test_live_feed_off_streams_only_sessions(tmp_path: Path) -> None:
    async with ws_server(tmp_path, "websocket.live_feed=off", "websocket.live_interval=0.05") as (app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.subscribe("market:ZZQ")
        assert app.ctx.ws.hub.market is None
        try:
            message = await client.recv(0.5)
        except TimeoutError:
            message = None
        assert message is None
        await client.close()
