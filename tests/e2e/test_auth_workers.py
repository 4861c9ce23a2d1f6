"""Two server processes share one rate limit through the real Redis (limits' Redis storage)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from adapters.state.sqlite import SqliteStateStore
from gpt_trader_core.services.auth import Authentication
from tests.e2e.conftest import free_port

SERVER = Path(__file__).with_name("_auth_server.py")

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server on {port} exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/probe/read", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"server on {port} did not start")


async def test_two_workers_share_one_limit_through_redis(tmp_path: Path, redis_url: str) -> None:
    state = tmp_path / "state.db"
    store = SqliteStateStore(state)
    await store.open()
    hasher = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
    auth = Authentication(store, store, store, hasher, JwtTokenCodec([SigningKey("k" * 40)]), InMemoryEventBus())
    _, key = await auth.create_key("workers", "viewer")  # a fresh key: its own counters in Redis
    await store.close()

    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen([sys.executable, str(SERVER), str(state), str(port), redis_url, "6/minute"]) for port in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(port, proc)
        statuses, remaining = [], []
        with httpx.Client(headers={"X-API-Key": key}) as client:
            for i in range(8):  # alternate: each worker alone would allow all eight
                response = client.get(f"http://127.0.0.1:{ports[i % 2]}/api/v1/probe/read")
                statuses.append(response.status_code)
                remaining.append(response.headers.get("ratelimit-remaining"))
        assert statuses == [200] * 6 + [429, 429]
        assert remaining == ["5", "4", "3", "2", "1", "0", "0", "0"]
        assert int(response.headers["retry-after"]) >= 1
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
