"""The trading outbox (migration 10) on every state store — SQLite on a real file, memory, and a real
PostgreSQL: a bar's events are stored in the bar's transaction and come back pending in commit order
until a later commit (or ``mark_sent``) says they were published."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.state import SqliteStateStore
from adapters.state.migrations import migrate
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.errors import InvalidParameterError, SessionNotHeldError
from gpt_trader_core.ports import OutboxEvent
from tests.adapters.test_trading_store import bar_of, fill, make_session, snapshot

A, B = "session:sess-1:aaaa", "session:sess-1:bbbb"  # two engine runs of one session


def event(source: str, number: int, type_: str = "fill_recorded", **data: Any) -> OutboxEvent:
    return OutboxEvent(source, number, "session:sess-1", type_, {"session_id": "sess-1", "n": number, **data})


def ids(events: list[OutboxEvent]) -> list[tuple[str, int]]:
    return [(e.source, e.number) for e in events]


async def test_a_bars_events_are_pending_in_commit_order_and_round_trip_exactly(store: Any) -> None:
    when = dt.datetime(2024, 6, 3, 13, 30, 0, 123456, tzinfo=dt.UTC)
    rich = event(A, 1, time=when, band=(0.5, 1.5), price=math.inf, nested={"k": [1, None, "x"]})
    await store.commit_bar(*bar_of(0), [rich, event(A, 2, "portfolio_updated")])
    await store.commit_bar(*bar_of(1), [event(A, 3)])
    pending = await store.pending_events("sess-1")
    assert ids(pending) == [(A, 1), (A, 2), (A, 3)]
    assert pending[0] == rich and pending[0].data["time"] == when and pending[0].data["band"] == (0.5, 1.5)
    assert pending[1].type == "portfolio_updated" and pending[1].topic == "session:sess-1"


async def test_a_commit_deletes_the_events_it_says_were_sent_up_to_their_number(store: Any) -> None:
    await store.commit_bar(*bar_of(0), [event(A, 1), event(A, 2), event(A, 3)])
    # A died after publishing 1 and 2; B publishes the rest, then its own, and says so with its commits.
    await store.commit_bar(*bar_of(1), [event(B, 1)], {A: 2})
    assert ids(await store.pending_events("sess-1")) == [(A, 3), (B, 1)]
    await store.commit_bar(*bar_of(2), [event(B, 2)], {A: 3, B: 1})
    assert ids(await store.pending_events("sess-1")) == [(B, 2)]
    await store.mark_sent("sess-1", {B: 2})
    assert await store.pending_events("sess-1") == []
    await store.mark_sent("sess-1", {})  # nothing: no write


async def test_a_refused_bar_stores_none_of_its_events_and_deletes_nothing(store: Any) -> None:
    mine = attrs.evolve(make_session(last_bar=0), owner="w1")
    await store.commit_bar(mine, [], [fill("m-1")], [], snapshot(0), [event(A, 1)])
    await store.save_session(attrs.evolve(mine, owner="w2"))  # taken over
    with pytest.raises(SessionNotHeldError):
        await store.commit_bar(
            attrs.evolve(make_session(last_bar=1), owner="w1"), [], [], [], snapshot(1), [event(A, 2)], {A: 1}
        )
    assert ids(await store.pending_events("sess-1")) == [(A, 1)]


async def test_a_swap_stores_its_events_after_the_pending_ones_and_deletes_the_sent_ones(store: Any) -> None:
    running = make_session(last_bar=0)
    await store.commit_bar(*bar_of(0), [event(A, 1), event(A, 2)])
    # A's holder publishes 1, then stores the session's end: in one transaction with its status.
    ended = attrs.evolve(running, status=SessionStatus.FINISHED)
    assert await store.swap_session(ended, running, [event(A, 3, "session_finished")], {A: 1})
    assert (await store.get_session("sess-1")).status is SessionStatus.FINISHED
    pending = await store.pending_events("sess-1")
    assert ids(pending) == [(A, 2), (A, 3)] and pending[-1].type == "session_finished"
    assert await store.swap_session(ended, ended)  # no events: as before
    assert ids(await store.pending_events("sess-1")) == [(A, 2), (A, 3)]


async def test_a_refused_swap_stores_none_of_its_events_and_deletes_nothing(store: Any) -> None:
    mine = attrs.evolve(make_session(last_bar=0), owner="w1")
    await store.commit_bar(mine, [], [], [], snapshot(0), [event(A, 1)])
    theirs = attrs.evolve(mine, owner="w2")
    await store.save_session(theirs)  # taken over
    stopped = attrs.evolve(mine, status=SessionStatus.STOPPED)
    assert not await store.swap_session(stopped, mine, [event(A, 2, "session_stopped")], {A: 1})
    assert ids(await store.pending_events("sess-1")) == [(A, 1)]
    assert (await store.get_session("sess-1")).owner == "w2"
    with pytest.raises(InvalidParameterError, match="number"):  # an unstorable event: nothing is swapped
        await store.swap_session(stopped, theirs, [event(A, 0)])
    assert (await store.get_session("sess-1")).status is SessionStatus.RUNNING


async def test_ended_sessions_with_pending_events_are_found(store: Any) -> None:
    assert await store.ended_with_pending() == []
    for sid in ("sess-1", "sess-2", "sess-3"):
        await store.commit_bar(
            *bar_of(0, session_id=sid), [OutboxEvent(f"session:{sid}:x", 1, f"session:{sid}", "t", {})]
        )
    assert await store.ended_with_pending() == []  # all running: their holders publish them
    for sid in ("sess-2", "sess-3"):
        running = make_session(sid, last_bar=0)
        assert await store.swap_session(attrs.evolve(running, status=SessionStatus.FINISHED), running)
    assert await store.ended_with_pending() == ["sess-2", "sess-3"]
    assert await store.ended_with_pending(limit=1) == ["sess-2"]
    await store.mark_sent("sess-2", {"session:sess-2:x": 1})
    assert await store.ended_with_pending() == ["sess-3"]


async def test_an_unstorable_event_fails_the_whole_bar(store: Any) -> None:
    with pytest.raises(TypeError, match="object"):
        await store.commit_bar(*bar_of(0), [event(A, 1, bad=object())])
    with pytest.raises(InvalidParameterError, match="number"):
        await store.commit_bar(*bar_of(0), [event(A, 0)])
    with pytest.raises(InvalidParameterError, match="sent"):
        await store.commit_bar(*bar_of(0), [], {A: "2"})
    assert await store.pending_events("sess-1") == []
    assert await store.list_sessions() == []  # nothing of the bar


async def test_recommitting_an_event_keeps_its_first_copy_and_place(store: Any) -> None:
    await store.commit_bar(*bar_of(0), [event(A, 1), event(A, 2)])
    await store.commit_bar(*bar_of(0), [attrs.evolve(event(A, 1), type="changed"), event(A, 3)])
    pending = await store.pending_events("sess-1")
    assert ids(pending) == [(A, 1), (A, 2), (A, 3)] and pending[0].type == "fill_recorded"


async def test_sessions_do_not_see_or_delete_each_others_events(store: Any) -> None:
    other = "session:sess-2:cccc"
    await store.commit_bar(*bar_of(0), [event(A, 1)])
    await store.commit_bar(*bar_of(0, session_id="sess-2"), [OutboxEvent(other, 1, "session:sess-2", "t", {})])
    await store.mark_sent("sess-2", {A: 1})  # another session's source: nothing of sess-1 goes
    assert ids(await store.pending_events("sess-1")) == [(A, 1)]
    assert ids(await store.pending_events("sess-2")) == [(other, 1)]
    assert await store.pending_events("unknown") == []


async def test_pending_events_survive_close_and_reopen(store: Any) -> None:
    await store.commit_bar(*bar_of(0), [event(A, 1), event(A, 2)])
    await store.close()
    await store.open()
    assert ids(await store.pending_events("sess-1")) == [(A, 1), (A, 2)]


async def test_sqlite_migrates_a_v9_database_to_v10_with_an_empty_outbox(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, 9) == 9
    conn.execute(
        "INSERT INTO owners (resource, subject, created_at) VALUES ('session:x', 'ann', '2024-01-01T00:00:00')"
    )
    conn.close()
    store = SqliteStateStore(path)
    await store.open()
    try:
        assert await store.get_owner("session:x") == "ann"
        assert await store.pending_events("sess-1") == []
        await store.commit_bar(*bar_of(0), [event(A, 1)])
        assert ids(await store.pending_events("sess-1")) == [(A, 1)]
    finally:
        await store.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone() == (10,)
