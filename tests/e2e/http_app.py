"""The HTTP API in-process over ASGI (httpx), on a SQLite file and the inline executor, auth off.

``api(app)`` starts the app's lifecycle ONCE around a block of requests (``app.asgi_client`` starts
and stops it around every request, which would cancel background jobs between two calls).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sanic import Sanic

from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.settings import load_settings


def http_settings(tmp_path: Path, *extra: str) -> Any:
    overrides = [
        f"state.url=sqlite:///{tmp_path}/state.db",
        f"system.data_dir={tmp_path}",
        "api.auth.enabled=false",
        "api.rate_limits.enabled=false",  # auth (issue 13): these tests send bursts; limits are tested there
        *extra,
    ]
    return load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=overrides).settings


def in_process_sanic() -> None:
    """Test mode for Sanic apps started inside this process (schemathesis, ``api()``), before any starts.

    At every start Sanic's TouchUp recompiles methods of the Sanic *class* (``handle_request``,
    ``_run_request_middleware``, ...) from their source, trimmed to the signals the app uses. Only in
    test mode does it keep the pristine methods to start from next time; otherwise the next start reads
    the "source" of an already recompiled method, which ``inspect`` resolves to the top of
    ``sanic/app.py``, and fails with ``KeyError: 'handle_request'``. schemathesis starts an app over
    ASGI without test mode, so a later ``api()`` (which sets it, too late) failed after it."""
    Sanic.test_mode = True


def make_app(tmp_path: Path, *extra: str, executor: str = "inline") -> Sanic:
    in_process_sanic()
    settings = http_settings(tmp_path, *extra)
    Sanic._app_registry.clear()  # each test builds its own app under the same name
    return create_app(build_container(settings, executor=executor), settings)


@asynccontextmanager
async def api(app: Sanic) -> AsyncIterator[httpx.AsyncClient]:
    Sanic.test_mode = True  # as sanic-testing does: the app reaches its loop outside app.run
    app.asgi = True
    app.router.reset()
    app.signal_router.reset()
    await app._startup()
    await app._server_event("init", "before")
    await app._server_event("init", "after")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client
    finally:
        await app._server_event("shutdown", "before")
        await app._server_event("shutdown", "after")
