"""A server process for the cross-worker rate-limit test: the auth layer (``install_auth``) with Redis
counters over a shared SQLite state file, plus one viewer route.

    python tests/e2e/_auth_server.py STATE_DB PORT REDIS_URL READ_LIMIT
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from adapters.bus.memory import InMemoryEventBus
from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from adapters.state.sqlite import SqliteStateStore
from entrypoints.http.auth import install_auth
from entrypoints.http.auth.config import HttpAuthConfig
from gpt_trader_core.services.auth import Authentication

SECRET = "cross-worker-secret-" + "z" * 40


def main(state: Path, port: int, redis_url: str, read_limit: str) -> None:
    app = Sanic(f"auth_worker_{port}", configure_logging=False)
    app.config.AUTO_EXTEND = False
    bp = Blueprint("probe", url_prefix="/api/v1/probe")

    @bp.get("/read", ctx_role="viewer")
    async def read(request: Request) -> HTTPResponse:
        return json({"port": port})

    limits = {"login": "10/minute", "read": read_limit, "write": "10/minute", "heavy": "10/minute"}
    install_auth(app, None, None, config=HttpAuthConfig(rate_limits=limits, redis_url=redis_url))
    app.blueprint(bp)
    store = SqliteStateStore(state)

    @app.before_server_start
    async def start(app: Sanic) -> None:
        await store.open()
        hasher = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
        codec = JwtTokenCodec([SigningKey(SECRET)])
        app.ctx.auth = Authentication(store, store, store, hasher, codec, InMemoryEventBus())

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await store.close()

    app.run(host="127.0.0.1", port=port, single_process=True, motd=False, access_log=False)


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
