"""Shared fixtures for adapter tests."""

from __future__ import annotations

import os

import pytest

#: Override to point the Redis tests elsewhere; they only touch keys under their own namespace.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis. Skips when there is none, but fails when ``REQUIRE_REDIS=1`` (CI),
    so a broken Redis service cannot silently turn the Redis tests into skips."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return REDIS_URL
