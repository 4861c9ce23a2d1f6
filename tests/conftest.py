"""Shared fixtures: real market data shipped inside the `backtesting` package, and small synthetic bars."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from gpt_trader_core.domain.bars import Bars

# Properties are judged on their answers, never on their speed: on a loaded 2-core CI machine a per-example
# deadline fails correct code (speed goals live in tests/benchmarks/).
settings.register_profile("gpt-trader", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gpt-trader")


def make_bars(close: list[float] | np.ndarray, *, start: str = "2020-01-01", symbol: str = "TEST") -> Bars:
    """Daily bars whose open is the previous close and whose high/low straddle the body by 1 %."""
    close = np.asarray(close, dtype=float)
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    ts = np.datetime64(start, "D") + np.arange(len(close))
    return Bars(ts, open_, high, low, close, np.full(len(close), 1000.0), symbol=symbol, timeframe="1d", source="test")


@pytest.fixture(scope="session")
def goog() -> Bars:
    backtesting_test = pytest.importorskip("backtesting.test")
    import gpt_trader_core as gt

    return gt.as_bars(backtesting_test.GOOG, "GOOG")


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


#: Override to point the PostgreSQL tests elsewhere; each test works in a fresh schema of its own.
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """URL of a reachable PostgreSQL. Skips when there is none, but fails when ``REQUIRE_POSTGRES=1``
    (CI), so a broken PostgreSQL service cannot silently turn the PostgreSQL tests into skips."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A state URL on a fresh, uniquely named schema (dropped afterwards), so tests running at once in
    several worktrees or processes never see each other's rows."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex}"
    yield f"{postgres_server}?schema={schema}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
