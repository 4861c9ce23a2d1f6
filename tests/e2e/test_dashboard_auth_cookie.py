"""``/api/v1/auth/cookie``: the dashboard's login keeps the refresh token in an httpOnly SameSite=Strict
cookie and hands script only the access token (the real auth layer, a real SQLite store)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sanic import Sanic

from adapters.bus.memory import InMemoryEventBus
from adapters.state.sqlite import SqliteStateStore
from entrypoints.dashboard.server import install_dashboard

# The auth layer (issue 13) provides the use case and middleware these routes sit on.
pytest.importorskip("entrypoints.http.auth", reason="needs the auth layer (entrypoints/http/auth)")

from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from entrypoints.http.auth import install_auth
from entrypoints.http.auth.config import HttpAuthConfig
from gpt_trader_core.domain.auth import AuthPolicy
from gpt_trader_core.services.auth import Authentication

PASSWORD = "correct horse battery"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    auth = Authentication(
        store,
        store,
        store,
        Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),
        JwtTokenCodec([SigningKey("cookie-test-secret-" + "y" * 50)]),
        InMemoryEventBus(),
        policy=AuthPolicy(max_failures=5, lockout=60.0, failure_delay=0.0),
    )
    await auth.add_user("ann", "trader", PASSWORD)
    Sanic.test_mode = True
    app = Sanic(f"cookie_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.config.AUTO_EXTEND = False
    install_auth(app, None, None, config=HttpAuthConfig())
    app.ctx.auth = auth
    install_dashboard(app)
    app.asgi = True
    app.router.reset()
    app.signal_router.reset()
    await app._startup()
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http
    finally:
        if app.ctx.rate_limits is not None:
            await app.ctx.rate_limits.close()
        await store.close()


async def login(client: httpx.AsyncClient) -> httpx.Response:
    answer = await client.post("/api/v1/auth/cookie/login", json={"username": "ann", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer


async def test_login_sets_an_httponly_strict_cookie_and_answers_only_the_access_token(client):
    answer = await login(client)
    assert set(answer.json()) == {"access_token", "token_type", "expires_in"}
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("gt_refresh=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/api/v1/auth/cookie" in cookie and "Max-Age=" in cookie
    assert answer.headers["cache-control"] == "no-store"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
    assert me.json()["subject"] == "ann"


async def test_refresh_rotates_the_cookie_and_a_spent_one_ends_the_login(client):
    await login(client)
    first = client.cookies["gt_refresh"]
    renewed = await client.post("/api/v1/auth/cookie/refresh")
    assert renewed.status_code == 200 and renewed.json()["access_token"]
    assert client.cookies["gt_refresh"] != first

    client.cookies.clear()
    client.cookies.set("gt_refresh", first, path="/api/v1/auth/cookie")  # a stolen, already used token
    reused = await client.post("/api/v1/auth/cookie/refresh")
    assert reused.status_code == 401 and "gt_refresh=" in reused.headers["set-cookie"]
    assert "Max-Age=0" in reused.headers["set-cookie"] or "expires=" in reused.headers["set-cookie"].lower()


async def test_without_a_cookie_refresh_says_nobody_is_logged_in(client):
    answer = await client.post("/api/v1/auth/cookie/refresh")
    assert answer.status_code == 204


async def test_logout_ends_the_login_and_removes_the_cookie(client):
    token = (await login(client)).json()["access_token"]
    spent = client.cookies["gt_refresh"]
    out = await client.post("/api/v1/auth/cookie/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204 and "gt_refresh=" in out.headers["set-cookie"]
    client.cookies.clear()
    client.cookies.set("gt_refresh", spent, path="/api/v1/auth/cookie")
    assert (await client.post("/api/v1/auth/cookie/refresh")).status_code == 401


async def test_a_wrong_password_is_refused_without_a_cookie(client):
    answer = await client.post("/api/v1/auth/cookie/login", json={"username": "ann", "password": "nope"})
    assert answer.status_code == 401 and "set-cookie" not in answer.headers


async def test_the_page_asks_for_a_login_when_auth_is_on(client):
    page = await client.get("/dashboard/")
    assert '<meta name="gt-auth" content="on">' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
