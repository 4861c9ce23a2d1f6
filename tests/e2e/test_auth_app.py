"""The whole HTTP API (``create_app``) with auth ON: every route declares a role, every protected
operation refuses an unauthenticated call with 401, and schemathesis passes when authenticated."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from sanic import Sanic
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from adapters.security import Argon2Hasher
from entrypoints.container import build_container, start_resources, stop_resources
from entrypoints.http.app import create_app
from entrypoints.settings import load_settings
from tests.e2e.http_app import api

EXAMPLES = int(os.environ.get("GPT_TRADER_FUZZ_EXAMPLES", "3"))
CREDENTIAL_CHECKS = ("/api/v1/auth/login", "/api/v1/auth/refresh")


def make_app(tmp_path: Path) -> tuple[Sanic, Any]:
    overrides = [
        f"state.url=sqlite:///{tmp_path}/state.db",
        f"system.data_dir={tmp_path}",
        "api.rate_limits.enabled=false",  # the fuzzer sends hundreds of requests a second
        "backtest.cash=10000",
    ]
    app_settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=overrides).settings
    container = build_container(app_settings, executor="inline")
    container.adapters.password_hasher.override(
        providers.Object(Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1))
    )
    Sanic._app_registry.clear()
    return create_app(container, app_settings), container


async def admin_credentials(container: Any) -> tuple[str, str]:
    """An admin API key and an admin access token, made through the use case on the app's own state
    file, as `keys create` and a login would."""
    await start_resources(container)
    try:
        auth = await container.services.auth()
        _, key = await auth.create_key("fuzz", "admin")
        await auth.add_user("fuzzer", "admin", "fuzzer-password")
        token = (await auth.login("fuzzer", "fuzzer-password")).access_token
    finally:
        await stop_resources(container)
        container.services.auth.reset()
    return key, token


async def test_every_route_declares_a_role(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    undeclared = sorted(
        f"{sorted(route.methods)} /{route.path}"
        for route in app.router.routes
        if getattr(route.ctx, "role", None) not in ("public", "viewer", "trader", "admin")
    )
    assert undeclared == []


async def test_unauthenticated_calls_to_protected_operations_get_401(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with api(app) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
        checked = 0
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete") or not operation.get("security"):
                    continue
                url = re.sub(r"\{[^}]+\}", "x", path)
                response = await client.request(method.upper(), url)
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.headers["content-type"] == "application/problem+json"
                checked += 1
    assert checked >= 30  # the whole API, not a handful of routes


def test_schemathesis_with_auth_on_and_an_admin_key(tmp_path: Path) -> None:
    app, container = make_app(tmp_path)
    key, token = asyncio.run(admin_credentials(container))
    config = SchemathesisConfig.from_dict(
        {
            # Each operation accepts either scheme (HTTP_CONTRACT.md §5): both are given real admin credentials.
            "auth": {"openapi": {"apiKeyAuth": {"api_key": key}, "bearerAuth": {"bearer": token}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "304", "404", "409", "422"]}},
            "generation": {"max-examples": EXAMPLES},
        }
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=config)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                # Generated user names and passwords (and refresh tokens) are wrong by construction: a
                # 401 (or, once the address is locked, 429) is the right answer to valid-looking data.
                exclude = [positive_data_acceptance] if case.path in CREDENTIAL_CHECKS else []
                case.call_and_validate(excluded_checks=exclude)

            try:
                run()
            except Unsatisfiable:
                continue
            except Exception as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert len(operations) >= 30
    assert not failures, "\n\n".join(failures)


@pytest.fixture(autouse=True)
def _fresh_registry() -> None:
    Sanic._app_registry.clear()
