"""Benchmark: what authentication costs per request, and what a login costs.

Run on demand:  python tests/benchmarks/bench_auth.py [--requests 2000]

1. The same GET to the same Sanic app (real servers on loopback, rate limits off in every variant), with
   auth off, with a bearer token and with an API key, interleaved so drift hits all three alike;
   the overhead is the difference of the medians (goal: < 100 µs).
2. The credential checks alone (``authenticate_token`` / ``authenticate_key`` against a SQLite file),
   with the per-process record cache (default) and without it (a store read per check).
3. Login with the production Argon2id parameters (t=3, m=64 MiB, p=4), and one Argon2 verify.
"""

from __future__ import annotations

import asyncio
import json as json_lib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _options import Opt, parse  # tests/benchmarks/_options.py: the scripts run from this folder
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from adapters.bus.memory import InMemoryEventBus
from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from adapters.state.sqlite import SqliteStateStore
from entrypoints.http.auth import install_auth
from entrypoints.http.auth.config import HttpAuthConfig
from gpt_trader_core.domain.auth import AuthPolicy
from gpt_trader_core.services.auth import Authentication

PASSWORD = "benchmark-password"


def make_app(auth: Authentication, *, enabled: bool) -> Sanic:
    app = Sanic(f"bench_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.config.AUTO_EXTEND = False
    bp = Blueprint(f"probe_{uuid.uuid4().hex[:6]}", url_prefix="/api/v1/probe")

    async def read(request: Request) -> HTTPResponse:
        return json({"ok": True})

    bp.add_route(read, "/read", methods=["GET"], ctx_role="viewer", name="read")
    install_auth(app, None, None, config=HttpAuthConfig(enabled=enabled, rate_limits_enabled=False))
    app.ctx.auth = auth
    app.blueprint(bp)
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e6:8.1f} µs (p90 {statistics.quantiles(samples, n=10)[-1] * 1e6:7.1f})"


async def main(requests: int) -> None:
    Sanic.test_mode = True
    workdir = Path(tempfile.mkdtemp())
    store = SqliteStateStore(workdir / "state.db")
    await store.open()
    hasher = Argon2Hasher()  # the production parameters
    auth = Authentication(store, store, store, hasher, JwtTokenCodec([SigningKey("b" * 64)]), InMemoryEventBus())
    await auth.add_user("bench", "viewer", PASSWORD)
    _, key = await auth.create_key("bench", "viewer")

    started = time.perf_counter()
    pair = await auth.login("bench", PASSWORD)
    first_login = time.perf_counter() - started
    logins = []
    for _ in range(5):
        started = time.perf_counter()
        await auth.login("bench", PASSWORD)
        logins.append(time.perf_counter() - started)
    encoded = (await store.get_user("bench")).password_hash
    verifies = []
    for _ in range(5):
        started = time.perf_counter()
        await hasher.verify(encoded, PASSWORD)
        verifies.append(time.perf_counter() - started)

    uncached = Authentication(
        store,
        store,
        store,
        hasher,
        JwtTokenCodec([SigningKey("b" * 64)]),
        InMemoryEventBus(),
        policy=AuthPolicy(record_cache_ttl=0.0),
    )
    checks: dict[str, list[float]] = {name: [] for name in ("token", "key", "token, no cache", "key, no cache")}
    for _ in range(requests):
        for name, check, credential in (
            ("token", auth.authenticate_token, pair.access_token),
            ("key", auth.authenticate_key, key),
            ("token, no cache", uncached.authenticate_token, pair.access_token),
            ("key, no cache", uncached.authenticate_key, key),
        ):
            started = time.perf_counter()
            await check(credential)
            checks[name].append(time.perf_counter() - started)

    # The servers run in a child process (as in production, where clients are elsewhere): a client in
    # the same process would compete with the server for the GIL and the loop, and distort the figures.
    variants = {
        "auth off": {},
        "bearer token": {"Authorization": f"Bearer {pair.access_token}"},
        "API key": {"X-API-Key": key},
    }
    await store.close()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(workdir)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    ports = json_lib.loads(child.stdout.readline())
    timings: dict[str, list[float]] = {name: [] for name in variants}
    try:
        async with httpx.AsyncClient() as client:  # keep-alive: one connection per server
            for round_ in range(requests + 100):
                for name, headers in variants.items():
                    url = f"http://127.0.0.1:{ports[name]}/api/v1/probe/read"
                    started = time.perf_counter()
                    response = await client.get(url, headers=headers)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, (name, response.status_code, response.text)
                    if round_ >= 100:  # warm-up
                        timings[name].append(elapsed)
    finally:
        child.terminate()
        child.wait(timeout=10)

    print(f"requests per variant: {requests} (real Sanic servers in a child process, one httpx keep-alive client,")
    print("  interleaved; rate limits off, SQLite store)")
    base = statistics.median(timings["auth off"])
    for name, samples in timings.items():
        overhead = (statistics.median(samples) - base) * 1e6
        print(f"  {name:13s} {us(samples)}   overhead vs auth off: {overhead:+7.1f} µs (goal < 100 µs)")
    print("credential check alone (default: records cached 1 s per process; no cache: a store read per check):")
    for name, samples in checks.items():
        print(f"  {name:16s} {us(samples)}")
    print("login with Argon2id t=3, m=64 MiB, p=4:")
    print(f"  first login   {first_login * 1e3:8.1f} ms (cold: first Argon2 run of the process)")
    print(
        f"  login median  {statistics.median(logins) * 1e3:8.1f} ms   argon2 verify median "
        f"{statistics.median(verifies) * 1e3:6.1f} ms"
    )


async def serve(workdir: Path) -> None:
    """The child: three apps (auth off, on, on) over the parent's database, until terminated."""
    Sanic.test_mode = True
    store = SqliteStateStore(workdir / "state.db")
    await store.open()
    auth = Authentication(
        store, store, store, Argon2Hasher(), JwtTokenCodec([SigningKey("b" * 64)]), InMemoryEventBus()
    )
    ports = {}
    for name, enabled in (("auth off", False), ("bearer token", True), ("API key", True)):
        port = free_port()
        server = await make_app(auth, enabled=enabled).create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True
        )
        assert server is not None
        await server.startup()
        ports[name] = port
    print(json_lib.dumps(ports), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    args: Any = parse(
        "bench_auth",
        __doc__.splitlines()[0] if __doc__ else "",
        [
            Opt("requests", int, 2000, "requests per scenario (default 2000)"),
            Opt("serve", str, None, "internal: run the server of the benchmark on this directory"),
        ],
    )
    if args.serve:
        asyncio.run(serve(Path(args.serve)))
    else:
        asyncio.run(main(args.requests))
