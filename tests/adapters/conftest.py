"""The state-store fixtures shared by the contract suites: every adapter, or the SQLite one alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.state.memory import InMemoryStateStore
from adapters.state.sqlite import SqliteStateStore


@pytest.fixture(params=["sqlite", "memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each contract test runs on a real SQLite file, on the in-memory twin and on a real PostgreSQL
    (in a fresh schema of its own; skipped without a server unless ``REQUIRE_POSTGRES=1``)."""
    adapter: Any
    if request.param == "postgres":
        from adapters.state.postgres import PostgresStateStore

        adapter = PostgresStateStore.from_url(request.getfixturevalue("postgres_url"))
    elif request.param == "sqlite":
        adapter = SqliteStateStore(tmp_path / "state.db")
    else:
        adapter = InMemoryStateStore()
    await adapter.open()
    yield adapter
    await adapter.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStateStore]:
    adapter = SqliteStateStore(tmp_path / "state.db")
    await adapter.open()
    yield adapter
    await adapter.close()
