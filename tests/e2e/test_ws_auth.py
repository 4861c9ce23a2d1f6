"""WebSocket authentication against the real auth use case: tokens (handshake or messages), API keys,
refusals (1008), role checks and admin-only security events."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from gpt_trader_core.errors import GptTraderError
from tests.e2e.ws_server import Client, ws_server

PASSWORD = "correct horse battery staple"
AUTH_ON = ("api.auth.enabled=true", "websocket.auth_timeout=2")


async def test_tokens_keys_roles_and_admin_only_security_events(tmp_path: Path) -> None:
    async with ws_server(tmp_path, *AUTH_ON) as (app, url):
        auth = await app.ctx.container.services.auth()
        await auth.add_user("vera", "viewer", PASSWORD)
        await auth.add_user("adam", "admin", PASSWORD)
        viewer_token = (await auth.login("vera", PASSWORD)).access_token
        admin_token = (await auth.login("adam", PASSWORD)).access_token
        _key, trader_key = await auth.create_key("bot", "trader")

        viewer = await Client.connect(url + "/ws/v1")  # the plan's "auth" field of a subscribe
        assert viewer.hello["auth_required"] is True
        await viewer.send({"action": "subscribe", "channels": ["system:events"], "auth": viewer_token})
        assert (await viewer.expect("authenticated"))["role"] == "viewer"
        await viewer.expect("subscribed")
        await viewer.send({"action": "publish", "channel": "custom:x", "type": "t", "data": {}})
        assert (await viewer.expect("error"))["code"] == "forbidden"  # publishing needs the trader role

        admin = await Client.connect(url + "/ws/v1", additional_headers={"Authorization": f"Bearer {admin_token}"})
        assert admin.hello["auth_required"] is False  # authenticated at the handshake
        await admin.subscribe("system:events")

        bot = await Client.connect(url + "/ws/v1/custom/signals", additional_headers={"X-API-Key": trader_key})
        await bot.expect("subscribed")
        await bot.send({"action": "publish", "channel": "custom:signals", "type": "buy", "data": {"s": "AAPL"}})
        await bot.expect("published")
        assert (await bot.data(1))[0]["data"] == {"s": "AAPL"}

        with pytest.raises(GptTraderError):
            await auth.login("adam", "wrong password entirely")
        event = (await admin.data(1))[0]
        assert event["channel"] == "system:events" and event["type"] == "security"
        await viewer.send({"type": "ping", "timestamp": 1})
        assert (await viewer.recv())["type"] == "pong"  # the viewer never saw the security event
        for client in (viewer, admin, bot):
            await client.close()


@pytest.mark.parametrize(
    "first", [{"action": "auth", "token": "not-a-jwt"}, {"action": "auth", "api_key": "gtk_00_nope"}]
)
async def test_bad_credentials_close_with_1008(tmp_path: Path, first: dict[str, str]) -> None:
    async with ws_server(tmp_path, *AUTH_ON) as (_app, url):
        client = await Client.connect(url + "/ws/v1")
        await client.send(first)
        with pytest.raises(ConnectionClosed) as closed:
            await client.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert "authentication refused" in closed.value.rcvd.reason
