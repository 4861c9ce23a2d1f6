"""Failed-login lockouts on the real Redis: two workers (two adapter instances) see one count and one lock."""

from __future__ import annotations

import uuid

import pytest

from adapters.security.redis_lockouts import RedisLoginLockouts
from gpt_trader_core.domain.auth import AuthPolicy, LockedOutError

pytestmark = pytest.mark.redis


async def test_failures_on_two_workers_lock_the_name_on_both(redis_url: str) -> None:
    policy = AuthPolicy(max_failures=4, failure_window=60.0, lockout=30.0)
    namespace = f"gpt-trader:test-logins:{uuid.uuid4().hex}"
    one, two = (
        RedisLoginLockouts(policy, redis_url, namespace=namespace),
        RedisLoginLockouts(policy, redis_url, namespace=namespace),
    )
    keys = ("user:alice", "ip:10.0.0.1")
    assert await one.failed(*keys) == (0.0, False)
    delay, locked = await two.failed(*keys)
    assert delay > 0 and not locked  # the second failure in a row, counted on another worker
    await one.failed(*keys)
    await one.check(*keys)  # three failures: not locked yet
    assert (await two.failed("user:alice"))[1]  # the fourth locks the name
    for worker in (one, two):
        with pytest.raises(LockedOutError) as locked_out:
            await worker.check("user:alice")
        assert 29 < locked_out.value.retry_after <= 30
    await one.check("ip:10.0.0.1")  # the address had three failures only
    await two.succeeded("ip:10.0.0.1")
    assert await one.failed("ip:10.0.0.1") == (0.0, False)  # counting from zero again
