"""The state-store fixtures shared by the contract suites: both adapters, or the SQLite one alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.state.memory import InMemoryStateStore
from adapters.state.sqlite import SqliteStateStore


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each contract test runs on a real SQLite file and on the in-memory twin."""
    adapter: SqliteStateStore | InMemoryStateStore = (
        SqliteStateStore(tmp_path / "state.db") if request.param == "sqlite" else InMemoryStateStore()
    )
    await adapter.open()
    yield adapter
    await adapter.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStateStore]:
    adapter = SqliteStateStore(tmp_path / "state.db")
    await adapter.open()
    yield adapter
    await adapter.close()
