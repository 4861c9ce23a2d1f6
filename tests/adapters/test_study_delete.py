"""``StudyStore.delete_study`` on both state stores: the study and its trials go, others stay."""

from __future__ import annotations

from typing import Any

import pytest

from gpt_trader_core.domain.records import TrialRecord
from gpt_trader_core.errors import NotFoundError
from tests.adapters.test_study_store import make_study


def _trials(n: int) -> list[TrialRecord]:
    return [TrialRecord(i, {"fast": 5 + i}, {"sharpe_ratio": 0.1 * i}, 0.1 * i) for i in range(n)]


async def test_delete_removes_the_study_and_its_trials_only(store: Any) -> None:
    await store.save_study(make_study("gone"))
    await store.save_study(make_study("kept"))
    await store.add_trials("gone", _trials(3))
    await store.add_trials("kept", _trials(2))
    await store.delete_study("gone")
    assert [s.id for s in await store.list_studies()] == ["kept"]
    assert len(await store.list_trials("kept")) == 2
    with pytest.raises(NotFoundError):
        await store.list_trials("gone")
    with pytest.raises(NotFoundError, match="gone"):
        await store.delete_study("gone")
    await store.save_study(make_study("gone"))  # the id can be used again, without old trials
    assert await store.list_trials("gone") == []
