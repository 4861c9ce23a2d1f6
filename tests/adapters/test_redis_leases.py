"""Session leases and one-time claims on the real Redis (``adapters/leases/redis.py``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from adapters.leases.redis import LeaseUnavailableError, RedisClaims, RedisLeases

pytestmark = pytest.mark.redis


@pytest.fixture
async def leases(redis_url: str) -> AsyncIterator[RedisLeases]:
    adapter = RedisLeases(redis_url, namespace=f"gpt-trader:test-lease:{uuid.uuid4().hex}", ttl=0.5, renew_interval=0.1)
    yield adapter
    await adapter.close()


async def test_one_holder_at_a_time_each_claim_with_its_own_fencing_owner(leases: RedisLeases, redis_url: str) -> None:
    other = RedisLeases(redis_url, namespace=leases._ns, ttl=0.5, renew_interval=0.1)
    try:
        first = await leases.acquire("s1")
        assert first is not None and first.startswith(leases.me + ":")
        assert await other.acquire("s1") is None
        assert (
            await other.holds("s1", first)
            and not await other.holds("s1", "someone-else")
            and not await other.holds("s1", None)
        )
        assert await leases.renew("s1", first)
        await leases.release("s1", first)
        second = await other.acquire("s1")
        assert second is not None and second != first  # a new fencing token
        assert not await leases.renew("s1", first)  # lost: another holds it
        await other.release("s1", first)  # not its owner: nothing happens
        assert await leases.holds("s1", second)
    finally:
        await other.close()


async def test_a_lease_nobody_renews_expires_and_can_be_taken(leases: RedisLeases) -> None:
    owner = await leases.acquire("s2")
    assert owner is not None
    await asyncio.sleep(0.7)  # past the 0.5 s ttl
    assert not await leases.holds("s2", owner)
    assert await leases.acquire("s2") not in (None, owner)


async def test_renewing_retakes_a_lease_that_lapsed_while_nobody_else_took_it(leases: RedisLeases) -> None:
    owner = await leases.acquire("s3")
    assert owner is not None
    await asyncio.sleep(0.7)
    assert await leases.renew("s3", owner) and await leases.holds("s3", owner)


async def test_an_unreachable_redis_is_one_clear_error_and_never_a_lost_holder() -> None:
    down = RedisLeases("redis://127.0.0.1:1/0", ttl=1.0, renew_interval=0.5)
    try:
        with pytest.raises(LeaseUnavailableError, match="unreachable"):
            await down.acquire("s")
        assert await down.holds("s", "anyone")  # cannot tell: never recovered twice
    finally:
        await down.close()


async def test_a_claim_is_granted_once_until_released(redis_url: str) -> None:
    claims = RedisClaims(redis_url, namespace=f"gpt-trader:test-claim:{uuid.uuid4().hex}")
    try:
        results = await asyncio.gather(*(claims.claim("k", 5.0) for _ in range(10)))
        assert sorted(results) == [False] * 9 + [True]
        await claims.put("k", {"status": 202, "body": "e30="}, 5.0)
        assert await claims.get("k") == {"status": 202, "body": "e30="}
        await claims.release("k")
        assert await claims.claim("k", 5.0)
    finally:
        await claims.close()


async def test_holding_reads_every_lease_in_one_round_trip(leases: RedisLeases) -> None:
    a, b = await leases.acquire("h1"), await leases.acquire("h2")
    assert a is not None and b is not None
    held = await leases.holding({"h1": a, "h2": "someone-else", "h3": None, "h4": "x:1"})
    assert held == {"h1"}
    assert await leases.holding({}) == set()


async def test_a_command_reaches_the_process_holding_the_session_and_brings_back_its_answer_or_error(
    leases: RedisLeases, redis_url: str
) -> None:
    from gpt_trader_core.errors import ConflictError, InvalidParameterError

    leader = RedisLeases(redis_url, namespace=leases._ns, ttl=0.5, renew_interval=0.1, process="host:1:leader")
    asked: list[tuple[str, str, dict[str, object]]] = []

    async def handler(session_id: str, command: str, args: Mapping[str, Any]) -> Mapping[str, Any]:
        asked.append((session_id, command, dict(args)))
        if command == "boom":
            raise InvalidParameterError("no price yet for XYZ")
        return {"prices": {"AAA": 101.25}, "echo": args}

    server = asyncio.create_task(leader.serve(handler))
    try:
        owner = await leader.acquire("c1")
        assert owner is not None
        answer = await leases.ask(owner, "c1", "prices", {"w": {"AAA": 0.5}}, timeout=5)
        assert answer == {"prices": {"AAA": 101.25}, "echo": {"w": {"AAA": 0.5}}}
        with pytest.raises(InvalidParameterError, match="no price yet for XYZ"):
            await leases.ask(owner, "c1", "boom", {}, timeout=5)
        assert asked == [("c1", "prices", {"w": {"AAA": 0.5}}), ("c1", "boom", {})]
        with pytest.raises(ConflictError, match=r"did not answer 'prices' within 0\.3 s"):
            await leases.ask("host:2:gone:7", "c1", "prices", {}, timeout=0.3)  # nobody serves that process
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
        await leader.close()
