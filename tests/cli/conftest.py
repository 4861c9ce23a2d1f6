"""In-process CLI fixtures (see ``support``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.state.memory import InMemoryStateStore
from tests.cli.support import Cli, make_cli


@pytest.fixture
def store() -> InMemoryStateStore:
    """The state store every command of one test shares (as processes share the SQLite file)."""
    return InMemoryStateStore()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: InMemoryStateStore) -> Cli:
    return make_cli(monkeypatch, tmp_path, store)
