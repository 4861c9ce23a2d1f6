"""The UserStore / ApiKeyStore / RefreshTokenStore contract on a real SQLite file and in memory."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from adapters.state.sqlite import SqliteStateStore
from gpt_trader_core.domain.auth import ApiKey, RefreshToken, Role, User, UserExistsError
from gpt_trader_core.errors import ConflictError, NotFoundError

T0 = dt.datetime(2026, 12, 1, 12, 0, 0, 123456)


def user(name: str = "alice", role: Role = Role.TRADER) -> User:
    return User(name, role, "$argon2id$fake", T0, T0)


def key(key_id: str = "0a1b2c3d4e5f", **changes: Any) -> ApiKey:
    fields: dict[str, Any] = {
        "id": key_id,
        "name": "ci",
        "role": Role.VIEWER,
        "secret_hash": "ab" * 32,
        "created_at": T0,
        "created_by": "admin",
        "expires_at": T0 + dt.timedelta(days=90),
    }
    fields.update(changes)
    return ApiKey(**fields)


def token(jti: str, family: str = "fam1", subject: str = "alice") -> RefreshToken:
    return RefreshToken(jti, family, subject, T0, T0 + dt.timedelta(days=30))


async def test_users_round_trip_update_delete(store: Any) -> None:
    await store.add_user(user("bob", Role.VIEWER))
    await store.add_user(user("alice"))
    with pytest.raises(UserExistsError):
        await store.add_user(user("alice", Role.ADMIN))
    assert await store.get_user("alice") == user("alice")
    assert [u.username for u in await store.list_users()] == ["alice", "bob"]
    changed = User("alice", Role.ADMIN, "$argon2id$new", T0, T0 + dt.timedelta(seconds=1))
    await store.update_user(changed)
    assert await store.get_user("alice") == changed
    await store.delete_user("alice")
    with pytest.raises(NotFoundError):
        await store.get_user("alice")
    with pytest.raises(NotFoundError):
        await store.delete_user("alice")
    with pytest.raises(NotFoundError):
        await store.update_user(changed)


async def test_api_keys_revoke_keeps_first_time_and_touch_records_use(store: Any) -> None:
    await store.add_api_key(key())
    with pytest.raises(ConflictError):
        await store.add_api_key(key())
    assert await store.get_api_key("0a1b2c3d4e5f") == key()
    await store.touch_api_key("0a1b2c3d4e5f", T0 + dt.timedelta(minutes=5))
    assert (await store.get_api_key("0a1b2c3d4e5f")).last_used_at == T0 + dt.timedelta(minutes=5)
    first = await store.revoke_api_key("0a1b2c3d4e5f", T0 + dt.timedelta(hours=1))
    again = await store.revoke_api_key("0a1b2c3d4e5f", T0 + dt.timedelta(hours=2))
    assert first.revoked_at == again.revoked_at == T0 + dt.timedelta(hours=1)
    await store.add_api_key(key("ffffffffffff", expires_at=None))
    assert [k.id for k in await store.list_api_keys()] == ["0a1b2c3d4e5f", "ffffffffffff"]
    for call in (store.get_api_key("nope"), store.touch_api_key("nope", T0), store.revoke_api_key("nope", T0)):
        with pytest.raises(NotFoundError):
            await call


async def test_refresh_token_used_once_then_reported_as_reuse(store: Any) -> None:
    await store.add_refresh_token(token("t1"))
    first = await store.use_refresh_token("t1", T0 + dt.timedelta(seconds=1))
    second = await store.use_refresh_token("t1", T0 + dt.timedelta(seconds=2))
    assert first.used_at is None and first.family_revoked_at is None
    assert second.used_at == T0 + dt.timedelta(seconds=1)
    with pytest.raises(NotFoundError):
        await store.use_refresh_token("unknown", T0)
    with pytest.raises(ConflictError):
        await store.add_refresh_token(token("t1"))
    with pytest.raises(ConflictError):
        await store.add_refresh_token(token("t9", family="fam1", subject="mallory"))


async def test_family_revocation_reaches_every_token_of_the_family(store: Any) -> None:
    await store.add_refresh_token(token("t1"))
    await store.add_refresh_token(token("t2"))
    await store.add_refresh_token(token("u1", family="fam2"))
    await store.add_refresh_token(token("b1", family="famb", subject="bob"))
    await store.revoke_family("fam1", T0 + dt.timedelta(minutes=1))
    await store.revoke_family("fam1", T0 + dt.timedelta(minutes=2))  # the first time is kept
    assert (await store.use_refresh_token("t2", T0)).family_revoked_at == T0 + dt.timedelta(minutes=1)
    assert (await store.use_refresh_token("u1", T0)).family_revoked_at is None
    assert await store.revoke_families_of("alice", T0 + dt.timedelta(minutes=3)) == 1  # fam2; fam1 was already
    assert (await store.use_refresh_token("b1", T0)).family_revoked_at is None


async def test_concurrent_uses_of_one_refresh_token_have_one_winner(tmp_path: Path) -> None:
    """Two processes' stores on one file: exactly one sees the token unused."""
    stores = [SqliteStateStore(tmp_path / "state.db") for _ in range(2)]
    for s in stores:
        await s.open()
    try:
        await stores[0].add_refresh_token(token("race"))
        results = await asyncio.gather(*(s.use_refresh_token("race", T0) for s in stores for _ in range(5)))
        assert sum(result.used_at is None for result in results) == 1
    finally:
        for s in stores:
            await s.close()
