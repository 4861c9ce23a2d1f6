"""Issue 11.1/11.2: sessions resume on the data they recorded, recovery never trades other data,
sessions of live processes are left alone, killed ones show as interrupted, and sessions stored
before the typed feed/risk values still load with what they meant."""

from __future__ import annotations

import asyncio

import attrs
import pytest

import gpt_trader_core as gt
from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.memory import InMemoryMarketData
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state import _codec
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.bars import to_datetime
from gpt_trader_core.domain.records import SessionRecord, SessionStatus, utcnow
from gpt_trader_core.domain.specs import DataSource, FeedSpec, RiskSpec
from gpt_trader_core.errors import ConflictError, DataSourceError
from gpt_trader_core.services.sessions import LocalLeases, SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY

BARS = {"AAA": gt.synthetic("AAA", "2018-01-01", "2020-12-31", seed=4)}
DEAD = "nowhere:1"  # an owner on this host whose process is gone, see Owners


class Owners(LocalLeases):
    """The local owners, where one named owner is known to be dead (a killed process)."""

    def alive(self, owner: str | None) -> bool:
        return owner != DEAD and super().alive(owner)


async def sessions_on(data: dict[str, gt.Bars], store: InMemoryStateStore | None = None) -> TradingSessions:
    if store is None:
        store = InMemoryStateStore()
        await store.open()
    feeds = FeedFactory(InMemoryMarketData(data))
    return TradingSessions(store, InMemoryEventBus(), REGISTRY, feeds, SimulatedBrokerFactory(), Owners())


def request(**feed: object) -> SessionRequest:
    return SessionRequest("momentum", ("aaa",), feed=FeedSpec("replay", **feed), tier_aware=False)  # type: ignore[arg-type]


async def test_a_stored_replay_names_its_data_and_their_fingerprint() -> None:
    sessions = await sessions_on(BARS)
    record = await sessions.run(attrs.evolve(request(), feed=FeedSpec("replay", stop_after=5)), asyncio.Event())
    assert record.symbols == ("AAA",)
    assert record.feed.source == DataSource("memory", "memory")
    assert record.feed.fingerprints == {"AAA": BARS["AAA"].fingerprint()}
    stamps = BARS["AAA"].timestamps
    assert (record.feed.start, record.feed.end) == (to_datetime(stamps[0]), to_datetime(stamps[-1]))


async def test_recovery_leaves_sessions_of_live_processes_alone() -> None:
    sessions = await sessions_on(BARS)
    record = await sessions.run(request(stop_after=10), asyncio.Event())
    store = sessions._store
    # stored as running by this (live) process, e.g. a `gpt-trader run` still trading it
    await store.save_session(attrs.evolve(record, status=SessionStatus.RUNNING))  # type: ignore[attr-defined]
    other = await sessions_on(BARS, store)  # type: ignore[arg-type]
    assert await other.recover() == []
    assert (await other.get(record.id)).status is SessionStatus.RUNNING
    with pytest.raises(ConflictError, match="is running in process"):
        await other.resume(record.id)


async def test_a_killed_session_is_interrupted_and_recovered() -> None:
    sessions = await sessions_on(BARS)
    record = await sessions.run(request(stop_after=10), asyncio.Event())
    store = sessions._store
    await store.save_session(attrs.evolve(record, status=SessionStatus.RUNNING, owner=DEAD))  # type: ignore[attr-defined]
    assert (await sessions.get(record.id)).status is SessionStatus.INTERRUPTED
    assert [r.id for r in await sessions.list(status=SessionStatus.INTERRUPTED)] == [record.id]
    assert await sessions.list(status=SessionStatus.RUNNING) == []
    assert await sessions.recover() == [record.id]
    await asyncio.sleep(0.2)
    await sessions.stop_all()
    assert (await sessions.get(record.id)).last_bar > record.last_bar


async def test_recovery_never_trades_a_session_whose_data_cannot_be_loaded() -> None:
    sessions = await sessions_on(BARS)
    record = await sessions.run(request(stop_after=10), asyncio.Event())
    store = sessions._store
    await store.save_session(attrs.evolve(record, status=SessionStatus.RUNNING, owner=DEAD))  # type: ignore[attr-defined]
    changed = {"AAA": gt.synthetic("AAA", "2018-01-01", "2020-12-31", seed=5)}
    restarted = await sessions_on(changed, store)  # type: ignore[arg-type]
    assert await restarted.recover() == []
    failed = await restarted.get(record.id)
    assert failed.status is SessionStatus.FAILED and failed.last_bar == record.last_bar
    assert "not recovered" in (failed.error or "") and "changed since it started" in (failed.error or "")
    assert not restarted.running()


async def test_a_session_whose_data_cannot_be_loaded_fails_to_start() -> None:
    sessions = await sessions_on(BARS)
    with pytest.raises(DataSourceError, match="unknown symbol 'ZZZ'"):
        await sessions.start(SessionRequest("momentum", ("ZZZ",), feed=FeedSpec("replay"), tier_aware=False))
    (failed,) = await sessions.list()
    assert failed.status is SessionStatus.FAILED and "failed to start" in (failed.error or "")
    assert await sessions.recover() == []


async def test_resume_speed_and_bars() -> None:
    sessions = await sessions_on(BARS)
    record = await sessions.run(request(stop_after=10, speed=86_400.0 * 1000), asyncio.Event())
    resumed = await sessions.resume(record.id, speed=0.0, bars=5)
    assert resumed.feed.speed == 0.0 and resumed.last_bar == 14
    finished = await sessions.resume(record.id)  # its bars are done: to the end of the feed
    assert finished.status is SessionStatus.FINISHED and finished.last_bar == len(BARS["AAA"]) - 1


# -- sessions stored before the typed values ---------------------------------------------------------


def _old_row(feed: dict[str, object], risk: dict[str, object] | None) -> dict[str, object]:
    record = _codec.session_from_row(
        _codec.session_row(
            SessionRecord("ses_old", utcnow(), "momentum", {}, ("AAA",), "paper", 10_000.0, {}, FeedSpec())
        )
    )
    row = _codec.session_row(record)
    row["feed"] = _codec.dumps(_codec.encode_tree(feed))
    row["risk"] = None if risk is None else _codec.dumps(_codec.encode_tree(risk))
    return row


def test_old_synthetic_feeds_load_as_what_they_meant() -> None:
    old = {"kind": "synthetic", "timeframe": "1m", "interval": 0.05, "started_at": 1_700_000_000.5, "seed": 3}
    spec = _codec.session_from_row(_old_row(old, None)).feed
    assert (spec.kind, spec.timeframe, spec.seed, spec.started_at) == ("synthetic", "1m", 3, 1_700_000_000.5)
    assert spec.interval == pytest.approx(0.05) and spec.history_bars == 300
    assert _codec.session_from_row(_old_row({"kind": "synthetic"}, None)).feed == FeedSpec("synthetic")


def test_old_replays_load_but_refuse_to_resume_saying_why() -> None:
    old = {"kind": "replay", "timeframe": "1d", "speed": 0.0, "start": "2000-01-01T00:00:00", "stop_after": 250}
    record = _codec.session_from_row(_old_row(old, None))
    assert record.feed.source is None and record.feed.stop_after == 250 and record.feed.start is not None
    with pytest.raises(ConflictError, match="does not record which data it replays"):
        FeedFactory(SyntheticMarketData())(record)


def test_old_feeds_that_never_ran_still_load_and_refuse_to_resume() -> None:
    for old in ({"kind": "carrier-pigeon"}, {"kind": "synthetic", "timeframe": "2h"}, {"kind": "replay", "start": "x"}):
        record = _codec.session_from_row(_old_row(old, None))
        with pytest.raises(ConflictError, match="does not record which data it replays"):
            FeedFactory(SyntheticMarketData())(record)


def test_old_risk_limits_keep_the_defaults_of_their_time() -> None:
    record = _codec.session_from_row(_old_row({"kind": "synthetic"}, {"max_drawdown_pct": 5.0}))
    assert record.risk == RiskSpec(
        max_drawdown_pct=5.0,
        max_daily_loss_pct=2.0,
        max_position_pct=20.0,
        min_cash_reserve_pct=10.0,
        max_open_positions=10,
    )


def test_new_values_round_trip() -> None:
    feed = FeedSpec("replay", speed=3.0, source=DataSource("csv", "/data"), fingerprints={"AAA": "ab"}, stop_after=9)
    row = _old_row({}, None)
    record = attrs.evolve(_codec.session_from_row(row), feed=feed, risk=RiskSpec(max_drawdown_pct=7.0), owner="h:1")
    assert _codec.session_from_row(_codec.session_row(record)) == record


def test_an_earlier_process_with_this_pid_is_not_alive() -> None:
    """A restarted container's server gets the pid its killed predecessor had (often 1)."""
    owners = LocalLeases()
    host, pid, _token = owners.me.split(":")
    assert owners.alive(owners.me) and not owners.alive(f"{host}:{pid}:earlier") and not owners.alive(None)
    assert owners.alive(f"{host}:1:any") and owners.alive(f"elsewhere:{pid}:any")  # pid 1 exists here
