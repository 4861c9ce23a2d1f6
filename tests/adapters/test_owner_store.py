"""The ``OwnerStore`` contract (who started a session, execution or study) on SQLite, memory and
PostgreSQL; ownership survives reopening the SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.state import SqliteStateStore


async def test_the_first_owner_is_kept_and_unknown_resources_have_none(store: Any) -> None:
    assert await store.get_owner("session:s1") is None
    await store.set_owner("session:s1", "alice")
    await store.set_owner("session:s1", "bob")  # a second claim does not take it over
    await store.set_owner("execution:e1", "bob")
    assert await store.get_owner("session:s1") == "alice"
    assert await store.get_owner("execution:e1") == "bob"
    assert await store.get_owner("session:s2") is None


async def test_owners_survive_a_reopen(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    await store.set_owner("session:s1", "alice")
    await store.close()
    again = SqliteStateStore(tmp_path / "state.db")
    await again.open()
    try:
        assert await again.get_owner("session:s1") == "alice"
    finally:
        await again.close()
