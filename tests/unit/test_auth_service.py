"""The authentication use case on the real in-memory store and bus, a fast Argon2 and the pyjwt codec."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adapters.bus.memory import InMemoryEventBus
from adapters.security import Argon2Hasher, JwtTokenCodec, SigningKey
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.auth import (
    AuthenticationError,
    AuthPolicy,
    InvalidCredentialsError,
    LockedOutError,
    Principal,
    Role,
)
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.errors import ConflictError, InvalidParameterError
from gpt_trader_core.services.auth import SECURITY_TOPIC, Authentication, LoginThrottle, parse_duration

SECRET = "s" * 40


class Clocks:
    def __init__(self) -> None:
        self.wall = utcnow()  # pyjwt checks exp/nbf against the real clock
        self.mono = 1000.0
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
async def env() -> Any:
    store, bus, clocks = InMemoryStateStore(), InMemoryEventBus(), Clocks()
    await store.open()
    policy = AuthPolicy(max_failures=3, lockout=60.0, failure_window=600.0, failure_delay=0.1)
    auth = Authentication(
        store,
        store,
        store,
        Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),
        JwtTokenCodec([SigningKey(SECRET)]),
        bus,
        policy=policy,
        now=clocks.now,
        sleep=clocks.sleep,
        throttle=LoginThrottle(policy, clocks.monotonic),
    )
    events = bus.subscribe(SECURITY_TOPIC)
    await auth.add_user("alice", "trader", "correct horse")
    yield auth, clocks, events
    await store.close()


async def drain(events: Any) -> list[str]:
    types = []
    while (event := await events.get(timeout=0.01)) is not None:
        types.append(event.type)
    return types


async def test_login_then_token_gives_the_users_principal(env: Any) -> None:
    auth, _, _ = env
    pair = await auth.login("alice", "correct horse", client="1.2.3.4")
    principal = await auth.authenticate_token(pair.access_token)
    assert principal.subject == "alice" and principal.role is Role.TRADER and principal.kind == "user"
    assert pair.expires_in == 900 and pair.token_type == "bearer"


async def test_unknown_user_and_wrong_password_get_the_same_error(env: Any) -> None:
    auth, _, _ = env
    errors = []
    for name, password in (("nobody", "correct horse"), ("alice", "wrong password")):
        with pytest.raises(InvalidCredentialsError) as info:
            await auth.login(name, password, client=f"ip-{name}")
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


async def test_failures_slow_down_then_lock_even_the_right_password(env: Any) -> None:
    auth, clocks, events = env
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            await auth.login("alice", "wrong password", client="9.9.9.9")
    assert clocks.slept == [0.1, 0.2]
    with pytest.raises(LockedOutError) as info:
        await auth.login("alice", "correct horse", client="8.8.8.8")  # the user is locked from any address
    assert info.value.retry_after == pytest.approx(60.0)
    assert "login_locked" in await drain(events)
    clocks.advance(61)
    assert await auth.login("alice", "correct horse", client="8.8.8.8")


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(env: Any) -> None:
    auth, _, events = env
    first = await auth.login("alice", "correct horse")
    second = await auth.refresh(first.refresh_token)
    with pytest.raises(AuthenticationError, match="already used"):
        await auth.refresh(first.refresh_token)  # the thief replays the old token
    with pytest.raises(AuthenticationError, match="ended"):
        await auth.refresh(second.refresh_token)  # ... and the owner's newer one is dead too
    assert "refresh_reused" in await drain(events)


async def test_token_types_are_never_interchangeable(env: Any) -> None:
    auth, _, _ = env
    pair = await auth.login("alice", "correct horse")
    with pytest.raises(AuthenticationError, match="access token"):
        await auth.authenticate_token(pair.refresh_token)
    with pytest.raises(AuthenticationError, match="refresh token"):
        await auth.refresh(pair.access_token)


async def test_logout_ends_the_login_and_removed_users_lose_their_tokens(env: Any) -> None:
    auth, _, _ = env
    pair = await auth.login("alice", "correct horse")
    await auth.logout(await auth.authenticate_token(pair.access_token))
    with pytest.raises(AuthenticationError):
        await auth.refresh(pair.refresh_token)
    pair = await auth.login("alice", "correct horse")
    await auth.remove_user("alice")
    with pytest.raises(AuthenticationError, match="no longer exists"):
        await auth.authenticate_token(pair.access_token)
    with pytest.raises(AuthenticationError):
        await auth.refresh(pair.refresh_token)
    with pytest.raises(ConflictError):
        await auth.logout(Principal("k", Role.VIEWER, "api_key"))


async def test_api_keys_work_until_revoked_or_expired(env: Any) -> None:
    auth, clocks, events = env
    key, text = await auth.create_key("ci", "viewer", expires_in=parse_duration("1h"))
    assert text.startswith(f"gtk_{key.id}_") and text not in repr(key)
    principal = await auth.authenticate_key(text)
    assert principal == Principal(key.id, Role.VIEWER, "api_key")
    assert (await auth.list_keys())[0].last_used_at == clocks.wall
    with pytest.raises(AuthenticationError):
        await auth.authenticate_key(text[:-1] + ("A" if text[-1] != "A" else "B"))
    clocks.advance(3601)
    with pytest.raises(AuthenticationError, match="expired"):
        await auth.authenticate_key(text)
    _, other = await auth.create_key("bot", "trader")
    await auth.revoke_key(other)
    with pytest.raises(AuthenticationError, match="revoked"):
        await auth.authenticate_key(other)
    assert {"api_key_created", "api_key_revoked"} <= set(await drain(events))


@pytest.mark.parametrize("bad", ["", "abc", "gtk_", "gtk_zz_x", "gtk_abc", "x" * 300])
async def test_malformed_keys_are_refused(env: Any, bad: str) -> None:
    auth, _, _ = env
    with pytest.raises(AuthenticationError):
        await auth.authenticate_key(bad)


async def test_bad_user_input_is_named(env: Any) -> None:
    auth, _, _ = env
    with pytest.raises(InvalidParameterError, match="role"):
        await auth.add_user("bob", "root", "long enough")
    with pytest.raises(InvalidParameterError, match="password"):
        await auth.add_user("bob", "viewer", "short")
    with pytest.raises(InvalidParameterError, match="user name"):
        await auth.add_user("bob smith", "viewer", "long enough")
    with pytest.raises(InvalidParameterError, match="duration"):
        parse_duration("90 days")


def test_roles_compare_by_strength() -> None:
    assert Role.ADMIN.allows(Role.TRADER) and Role.TRADER.allows(Role.VIEWER) and Role.VIEWER.allows(Role.PUBLIC)
    assert not Role.VIEWER.allows(Role.TRADER) and not Role.TRADER.allows(Role.ADMIN)


async def test_another_process_sees_a_revocation_after_the_record_cache_ttl(env: Any) -> None:
    """Two use cases on one store stand for two server workers: the one that revokes sees it at
    once, the other within ``record_cache_ttl``."""
    auth, clocks, _ = env
    other = Authentication(
        auth._users,
        auth._keys,
        auth._refresh,
        auth._hasher,
        auth._codec,
        InMemoryEventBus(),
        policy=AuthPolicy(record_cache_ttl=1.0),
        now=clocks.now,
        monotonic=clocks.monotonic,
    )
    _, text = await auth.create_key("ci", "viewer")
    await other.authenticate_key(text)
    await auth.revoke_key(text)
    with pytest.raises(AuthenticationError):
        await auth.authenticate_key(text)
    await other.authenticate_key(text)  # still within the other's cache
    clocks.advance(1.0)
    with pytest.raises(AuthenticationError, match="revoked"):
        await other.authenticate_key(text)


async def test_security_events_are_log_lines_too(env: Any, caplog: pytest.LogCaptureFixture) -> None:
    auth, _, _ = env
    with caplog.at_level("INFO", logger="gpt_trader.security"), pytest.raises(InvalidCredentialsError):
        await auth.login("alice", "wrong password", client="10.0.0.7")
    line = next(r for r in caplog.records if "security_event=login_failed" in r.getMessage())
    assert line.levelname == "WARNING" and "user=alice client=10.0.0.7" in line.getMessage()
    assert "wrong password" not in caplog.text
