"""The read-only session reads (``status``, ``monitor``) show what the trading use case shows: the same
records (``interrupted`` alike), and a session's return and P&L equal to its full performance figures."""

from __future__ import annotations

import asyncio

import attrs
import pytest

import gpt_trader_core as gt
from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.domain.specs import FeedSpec
from gpt_trader_core.errors import NotFoundError
from gpt_trader_core.services.leases import LocalLeases
from gpt_trader_core.services.session_reads import ReportedSessionReads, SessionReads
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

BARS = {"AAA": gt.synthetic("AAA", "2018-01-01", "2020-12-31", seed=4)}
DEAD = "nowhere:1"


class Owners(LocalLeases):
    """This machine's owners, where one named owner is known to be dead (a killed process)."""

    def alive(self, owner: str | None) -> bool:
        return owner != DEAD and super().alive(owner)


async def _sessions() -> tuple[TradingSessions, InMemoryStateStore]:
    store = InMemoryStateStore()
    await store.open()
    feeds = FeedFactory(InMemoryMarketData(BARS))
    return TradingSessions(store, InMemoryEventBus(), REGISTRY, feeds, SimulatedBrokerFactory(), Owners()), store


def _request(stop_after: int) -> SessionRequest:
    feed = FeedSpec("replay", stop_after=stop_after)
    return SessionRequest("momentum", ("aaa",), feed=feed, tier_aware=False)


@pytest.mark.parametrize("bars", [1, 300])
async def test_the_overview_equals_the_full_status_figures(bars: int) -> None:
    sessions, store = await _sessions()
    record = await sessions.run(_request(bars), asyncio.Event())
    report = await sessions.status(record.id, recent_fills=3)
    view = await SessionReads(store, Owners()).overview(record.id, recent_fills=3)
    if bars > 1:
        assert len(report.all_fills) > 3, "the session should have traded"
    assert view.session == report.session
    assert view.positions == report.positions
    assert view.fills == report.fills
    # exactly the statistics' figures (the same float operations, without numpy)
    assert view.return_pct == report.performance["return_pct"]
    assert view.realized_pnl == report.performance["realized_pnl"]
    assert view.unrealized_pnl == report.performance["unrealized_pnl"]
    # and what a server's report gives through the same reads
    reported = await ReportedSessionReads(sessions).overview(record.id, recent_fills=3)
    assert reported == view


async def test_the_list_shows_dead_owners_sessions_as_interrupted_like_the_trading_use_case() -> None:
    sessions, store = await _sessions()
    done = await sessions.run(_request(5), asyncio.Event())
    dead = await sessions.run(_request(5), asyncio.Event())
    live = await sessions.run(_request(5), asyncio.Event())
    await store.save_session(attrs.evolve(dead, status=SessionStatus.RUNNING, owner=DEAD))
    await store.save_session(attrs.evolve(live, status=SessionStatus.RUNNING))  # this (live) process
    reads = SessionReads(store, Owners())
    listed = await reads.list()
    assert listed == await sessions.list()
    assert done.status is not SessionStatus.RUNNING
    assert {r.id: r.status for r in listed} == {
        done.id: done.status,
        dead.id: SessionStatus.INTERRUPTED,
        live.id: SessionStatus.RUNNING,
    }
    assert [r.id for r in await reads.list(status=SessionStatus.INTERRUPTED)] == [dead.id]
    assert [r.id for r in await reads.list(status=SessionStatus.RUNNING)] == [live.id]
    assert (await reads.overview(dead.id)).session.status is SessionStatus.INTERRUPTED
    with pytest.raises(NotFoundError):
        await reads.overview("ps_missing")
