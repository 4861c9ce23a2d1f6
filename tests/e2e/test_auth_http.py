"""The HTTP auth layer through a real Sanic app (ASGI client): the JWT attack suite, API keys, roles,
rate limits, CORS, security headers and brute-force lockout.

The app is assembled here from the auth blueprints, ``install_auth`` and a probe blueprint with one
route per role (HTTP_CONTRACT.md); the state store is a real SQLite file.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import types
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from adapters.bus.memory import InMemoryEventBus
from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from adapters.state.sqlite import SqliteStateStore
from entrypoints.http.auth import install_auth
from entrypoints.http.auth.config import HttpAuthConfig
from entrypoints.http.problems import install_problems
from gpt_trader_core.domain.auth import AuthPolicy
from gpt_trader_core.services.auth import SECURITY_TOPIC, Authentication
from tests.e2e.http_app import api

SECRET = "test-secret-" + "x" * 60
KID = SigningKey(SECRET).kid
PASSWORD = "correct horse battery"
ORIGIN = "https://dash.example.com"

Sanic.test_mode = True  # many apps in one process


def probe_blueprint() -> Blueprint:
    bp = Blueprint(f"probe_{uuid.uuid4().hex[:8]}", url_prefix="/api/v1/probe")

    async def answer(request: Request) -> HTTPResponse:
        principal = request.ctx.principal
        return json_response({"subject": principal.subject if principal else None})

    bp.add_route(answer, "/read", methods=["GET"], ctx_role="viewer", name="read")
    bp.add_route(answer, "/work", methods=["POST"], ctx_role="trader", name="work")
    bp.add_route(answer, "/heavy", methods=["POST"], ctx_role="trader", ctx_rate="heavy", name="heavy")
    bp.add_route(answer, "/admin", methods=["GET"], ctx_role="admin", name="admin")

    async def start_work(request: Request) -> HTTPResponse:
        return await answer(request)

    start_work.__openapi__ = types.SimpleNamespace(idempotent=True)  # type: ignore[attr-defined]
    bp.add_route(start_work, "/start", methods=["POST"], ctx_role="trader", name="start")
    bp.add_route(answer, "/open", methods=["GET"], ctx_role="public", name="open")
    bp.add_route(answer, "/undeclared", methods=["GET"], name="undeclared")
    return bp


class Answer:
    """An httpx response read the way these tests read it (``status``, ``json`` as attributes)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.text = response.text
        self.json = response.json() if response.content and "json" in response.headers.get("content-type", "") else None


class Stack:
    def __init__(self, app: Sanic, auth: Authentication, bus: InMemoryEventBus, client: httpx.AsyncClient) -> None:
        self.app, self.auth, self.bus, self.client = app, auth, bus, client

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return Answer(await self.client.request(method.upper(), path, **kwargs))

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.call("post", "/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status == 200, response.text
        return dict(response.json)

    async def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {(await self.login(username))['access_token']}"}


async def make_stack(tmp_path: Path, *, serve_asgi: bool = True, **config: Any) -> AsyncIterator[Stack]:
    store = SqliteStateStore(tmp_path / f"state-{uuid.uuid4().hex[:6]}.db")
    await store.open()
    bus = InMemoryEventBus()
    auth = Authentication(
        store,
        store,
        store,
        Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),
        JwtTokenCodec([SigningKey(SECRET)]),
        bus,
        policy=AuthPolicy(max_failures=3, lockout=60.0, failure_delay=0.0),
    )
    for name in ("viewer", "trader", "admin"):
        await auth.add_user(name, name, PASSWORD)
    app = Sanic(f"auth_test_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.config.AUTO_EXTEND = False
    install_problems(app)
    settings: dict[str, Any] = {"cors_origins": (ORIGIN,), **config}
    install_auth(app, None, None, config=HttpAuthConfig(**settings))
    app.ctx.auth = auth
    app.blueprint(probe_blueprint())
    if serve_asgi:
        async with api(app) as client:  # the app started once, as the REST API's tests run it
            yield Stack(app, auth, bus, client)
    else:  # the caller serves it itself
        async with httpx.AsyncClient() as client:
            yield Stack(app, auth, bus, client)
    if app.ctx.rate_limits is not None:
        await app.ctx.rate_limits.close()
    await store.close()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async for value in make_stack(tmp_path):
        yield value


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json)
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# -- the JWT attack suite ------------------------------------------------------------------------------


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "admin",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": "gpt-trader",
        "aud": "gpt-trader-api",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def forge(payload: dict[str, Any], *, secret: str = SECRET, alg: str = "HS256", kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(payload, secret, algorithm=alg, headers=headers)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def alg_none() -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{b64(claims())}."


def hs_rs_confusion() -> str:
    """A token that claims RS256 but is HMAC-signed with our secret: a verifier that trusted the header
    would treat the secret as a public key."""
    import hashlib
    import hmac

    signing_input = f"{b64({'alg': 'RS256', 'typ': 'JWT', 'kid': KID})}.{b64(claims())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def tampered_payload() -> str:
    header, _, signature = forge(claims(sub="viewer")).split(".")
    return f"{header}.{b64(claims(sub='admin'))}.{signature}"


def tampered_signature() -> str:
    token = forge(claims())
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


ATTACKS: dict[str, Any] = {
    "alg none": alg_none,
    "HS/RS confusion": hs_rs_confusion,
    "alg HS512 when HS256 is configured": lambda: forge(claims(), alg="HS512"),
    "wrong secret": lambda: forge(claims(), secret="another-secret-" + "y" * 40),
    "tampered payload": tampered_payload,
    "tampered signature": tampered_signature,
    "expired": lambda: forge(
        claims(iat=int(time.time()) - 7200, nbf=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    ),
    "nbf in the future": lambda: forge(claims(nbf=int(time.time()) + 3600)),
    "missing exp": lambda: forge(claims(exp=None)),
    "missing typ": lambda: forge(claims(typ=None)),
    "missing jti": lambda: forge(claims(jti=None)),
    "wrong aud": lambda: forge(claims(aud="someone-else")),
    "wrong iss": lambda: forge(claims(iss="evil-issuer")),
    "kid injection (path)": lambda: forge(claims(), kid="../../../../dev/null"),
    "kid injection (sql)": lambda: forge(claims(), kid="' OR '1'='1"),
    "no kid": lambda: forge(claims(), kid=None),
    "oversized token": lambda: forge(claims(padding="A" * 10_000)),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_forged_and_broken_tokens_get_401(stack: Stack, attack: str) -> None:
    token = ATTACKS[attack]()
    response = await stack.call("get", "/api/v1/probe/read", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["cache-control"] == "no-store"


async def test_a_genuine_forged_claims_token_is_accepted(stack: Stack) -> None:
    """The control of the suite: the same forging code with nothing wrong gets through."""
    response = await stack.call("get", "/api/v1/probe/read", headers={"Authorization": f"Bearer {forge(claims())}"})
    assert response.status == 200 and response.json == {"subject": "admin"}


async def test_refresh_token_is_not_an_access_token(stack: Stack) -> None:
    tokens = await stack.login("viewer")
    response = await stack.call(
        "get", "/api/v1/probe/read", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert_problem(response, 401)


async def test_access_token_cannot_refresh(stack: Stack) -> None:
    tokens = await stack.login("viewer")
    response = await stack.call("post", "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert_problem(response, 401)


async def test_reused_refresh_token_revokes_the_family_and_raises_an_event(stack: Stack) -> None:
    events = stack.bus.subscribe(SECURITY_TOPIC)
    first = await stack.login("trader")
    rotated = await stack.call("post", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status == 200 and rotated.json["refresh_token"] != first["refresh_token"]
    reused = await stack.call("post", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401)
    newest = await stack.call("post", "/api/v1/auth/refresh", json={"refresh_token": rotated.json["refresh_token"]})
    assert_problem(newest, 401)  # the family is revoked: the legitimate holder must log in again
    seen = []
    while (event := await events.get(timeout=0.05)) is not None:
        seen.append(event.type)
    assert "refresh_reused" in seen


async def test_token_of_a_deleted_user_is_refused(stack: Stack) -> None:
    headers = await stack.bearer("viewer")
    assert (await stack.call("get", "/api/v1/probe/read", headers=headers)).status == 200
    await stack.auth.remove_user("viewer")
    assert_problem(await stack.call("get", "/api/v1/probe/read", headers=headers), 401)


async def test_logout_ends_the_refresh_family(stack: Stack) -> None:
    tokens = await stack.login("viewer")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await stack.call("post", "/api/v1/auth/logout", headers=bearer)).status == 204
    response = await stack.call("post", "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(response, 401)


async def test_me_and_the_login_answer(stack: Stack) -> None:
    tokens = await stack.login("trader")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    response = await stack.call("get", "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.json == {"subject": "trader", "role": "trader", "kind": "user"}
    assert response.headers["cache-control"] == "no-store"


# -- logins --------------------------------------------------------------------------------------------


async def test_unknown_user_and_wrong_password_get_the_same_answer(stack: Stack) -> None:
    unknown = await stack.call("post", "/api/v1/auth/login", json={"username": "ghost", "password": PASSWORD})
    wrong = await stack.call("post", "/api/v1/auth/login", json={"username": "viewer", "password": "nope-nope"})
    assert assert_problem(unknown, 401) == assert_problem(wrong, 401)


async def test_brute_force_locks_the_user_even_for_the_right_password(stack: Stack) -> None:
    for _ in range(3):
        response = await stack.call("post", "/api/v1/auth/login", json={"username": "admin", "password": "guess-123"})
        assert_problem(response, 401)
    locked = await stack.call("post", "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert_problem(locked, 429)
    assert 1 <= int(locked.headers["retry-after"]) <= 60


async def test_bad_login_bodies_name_the_field(stack: Stack) -> None:
    response = await stack.call("post", "/api/v1/auth/login", json={"username": "admin"})
    body = assert_problem(response, 400)
    assert "password" in body["detail"]
    response = await stack.call("post", "/api/v1/auth/login", json={"username": "a", "password": "b", "extra": 1})
    assert "extra" in assert_problem(response, 400)["detail"]


# -- roles and API keys --------------------------------------------------------------------------------


async def test_no_credentials_401_weak_role_403_undeclared_route_refused(stack: Stack) -> None:
    assert_problem(await stack.call("get", "/api/v1/probe/read"), 401)
    assert (await stack.call("get", "/api/v1/probe/open")).status == 200
    trader = await stack.bearer("trader")
    assert_problem(await stack.call("get", "/api/v1/probe/admin", headers=trader), 403)
    assert_problem(await stack.call("get", "/api/v1/probe/undeclared", headers=await stack.bearer("admin")), 403)
    assert_problem(await stack.call("get", "/api/v1/probe/read", headers={"Authorization": "Basic YTpi"}), 401)


async def test_api_keys_roles_revocation_and_expiry(stack: Stack) -> None:
    admin = await stack.bearer("admin")
    created = await stack.call("post", "/api/v1/keys", headers=admin, json={"name": "dash", "role": "viewer"})
    assert created.status == 201
    viewer_key = {"X-API-Key": created.json["key"]}
    assert (await stack.call("get", "/api/v1/probe/read", headers=viewer_key)).json == {"subject": created.json["id"]}
    assert_problem(await stack.call("post", "/api/v1/probe/work", headers=viewer_key), 403)  # a viewer cannot POST
    listed = await stack.call("get", "/api/v1/keys", headers=admin)
    assert "key" not in listed.json["items"][0] and listed.json["items"][0]["last_used_at"] is not None
    assert (await stack.call("delete", f"/api/v1/keys/{created.json['id']}", headers=admin)).status == 200
    assert_problem(await stack.call("get", "/api/v1/probe/read", headers=viewer_key), 401)  # the next request

    _, text = await stack.auth.create_key("short", "trader", expires_in=dt.timedelta(seconds=1))
    assert (await stack.call("post", "/api/v1/probe/work", headers={"X-API-Key": text})).status == 200
    await stack.auth.create_key("unused", "trader")
    time.sleep(1.1)
    assert_problem(await stack.call("post", "/api/v1/probe/work", headers={"X-API-Key": text}), 401)
    assert_problem(await stack.call("get", "/api/v1/keys", headers={"X-API-Key": text}), 401)


async def test_admin_manages_users_over_http(stack: Stack) -> None:
    admin = await stack.bearer("admin")
    body = {"username": "carol", "role": "trader", "password": "carol-password"}
    assert (await stack.call("post", "/api/v1/users", headers=admin, json=body)).status == 201
    assert_problem(await stack.call("get", "/api/v1/users", headers=await stack.bearer("trader")), 403)
    names = [u["username"] for u in (await stack.call("get", "/api/v1/users", headers=admin)).json["items"]]
    assert names == ["admin", "carol", "trader", "viewer"]
    await stack.login("carol", "carol-password")
    assert (await stack.call("delete", "/api/v1/users/carol", headers=admin)).status == 204


# -- rate limits, CORS, headers ------------------------------------------------------------------------


async def test_rate_limit_429_carries_retry_after_and_the_headers(tmp_path: Path) -> None:
    limits = {"login": "10/minute", "read": "3/minute", "write": "100/minute", "heavy": "2/minute"}
    async for stack in make_stack(tmp_path, rate_limits=limits):
        headers = await stack.bearer("trader")
        answers = [await stack.call("get", "/api/v1/probe/read", headers=headers) for _ in range(4)]
        assert [r.status for r in answers] == [200, 200, 200, 429]
        assert [r.headers["ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
        assert all(r.headers["ratelimit-limit"] == "3" for r in answers)
        assert_problem(answers[-1], 429)
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
        assert 0 <= int(answers[-1].headers["ratelimit-reset"]) <= 60
        # heavy POSTs have their own, tighter budget; another principal has its own counts
        heavy = [await stack.call("post", "/api/v1/probe/heavy", headers=headers) for _ in range(3)]
        assert [r.status for r in heavy] == [200, 200, 429]
        # an operation documented as starting work shares the heavy budget; a plain POST does not
        assert (await stack.call("post", "/api/v1/probe/start", headers=headers)).status == 429
        assert (await stack.call("post", "/api/v1/probe/work", headers=headers)).status == 200
        assert (await stack.call("get", "/api/v1/probe/read", headers=await stack.bearer("viewer"))).status == 200


async def test_cors_allowed_unknown_and_preflight(stack: Stack) -> None:
    allowed = await stack.call("get", "/api/v1/probe/open", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "RateLimit-Remaining" in allowed.headers["access-control-expose-headers"]
    unknown = await stack.call("get", "/api/v1/probe/open", headers={"Origin": "https://evil.example"})
    assert unknown.status == 200 and "access-control-allow-origin" not in unknown.headers
    preflight_headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    preflight = await stack.call("options", "/api/v1/probe/work", headers=preflight_headers)
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    refused = await stack.call(
        "options", "/api/v1/probe/work", headers={**preflight_headers, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_sanic_ext_preflight_routes_are_public_and_only_answer_preflights(stack: Stack) -> None:
    # The app has started: sanic-ext's automatic OPTIONS routes exist now and must declare a role too.
    routes = list(stack.app.router.routes)
    options = [route for route in routes if route.methods == {"OPTIONS"}]
    assert len(options) == len({route.path for route in routes}) and {r.ctx.role for r in options} == {"public"}
    assert not any("HEAD" in route.methods or "TRACE" in route.methods for route in routes)
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    admin_only = await stack.call("options", "/api/v1/probe/admin", headers=preflight)
    assert admin_only.status == 204 and admin_only.headers["access-control-allow-origin"] == ORIGIN
    assert admin_only.headers["access-control-max-age"] == "600"
    assert admin_only.headers["vary"].lower() == "origin"
    plain = await stack.call("options", "/api/v1/probe/admin", headers={"Origin": ORIGIN})
    assert plain.status == 405 and plain.headers["allow"] == "GET"
    unknown = await stack.call("get", "/api/v1/probe/open", headers={"Origin": "https://evil.example"})
    assert unknown.headers["vary"] == "Origin"


async def test_security_headers_on_every_answer(stack: Stack) -> None:
    for response in (
        await stack.call("get", "/api/v1/probe/open"),
        await stack.call("get", "/api/v1/probe/read"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_auth_off_gives_every_request_the_local_admin(tmp_path: Path) -> None:
    async for stack in make_stack(tmp_path, enabled=False):
        response = await stack.call("get", "/api/v1/probe/admin")
        assert response.status == 200 and response.json == {"subject": "local"}


async def test_websocket_handshake_takes_the_token_from_the_query(tmp_path: Path) -> None:
    """Browsers cannot send headers on a WebSocket handshake: a real server, a real websockets client."""
    import websockets
    from websockets.exceptions import InvalidStatus

    from tests.e2e.conftest import free_port

    async for stack in make_stack(tmp_path, serve_asgi=False):
        bp = Blueprint("ws_probe", url_prefix="/api/v1/wsprobe")

        async def feed(request: Request, ws: Any) -> None:
            await ws.send(request.ctx.principal.subject)

        bp.add_websocket_route(feed, "/feed", ctx_role="viewer", name="feed")
        stack.app.blueprint(bp)
        token = (await stack.auth.login("viewer", PASSWORD)).access_token
        port = free_port()
        server = await stack.app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        assert server is not None
        await server.startup()
        try:
            url = f"ws://127.0.0.1:{port}/api/v1/wsprobe/feed"
            async with websockets.connect(f"{url}?access_token={token}") as ws:
                assert await ws.recv() == "viewer"
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(url):
                    pass
            assert refused.value.response.status_code == 401
        finally:
            server.close()
            await server.wait_closed()
