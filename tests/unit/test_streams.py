"""The channel registry and the stream hub on the real in-memory bus."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from adapters.bus.memory import InMemoryEventBus
from gpt_trader_core.domain.events import CATALOGUE, ChannelKind, StreamMessage
from gpt_trader_core.domain.records import Event
from gpt_trader_core.domain.trading import OrderStatus
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.services.channels import ChannelRegistry
from gpt_trader_core.services.streams import StreamHub
from gpt_trader_core.workflows.executions import EVENT_TYPES

registry = ChannelRegistry()


def test_catalogue_covers_what_the_producers_publish() -> None:
    sources = {(s.topic, s.source) for s in CATALOGUE}
    assert {("execution", t) for t in EVENT_TYPES} <= sources
    assert {("session", f"order_{s.value}") for s in OrderStatus} <= sources
    for needed in ("bar_processed", "portfolio_updated", "position_changed", "fill_recorded"):
        assert ("session", needed) in sources


@pytest.mark.parametrize(
    ("name", "kind", "topic"),
    [
        ("market:aapl", ChannelKind.MARKET, "session:*"),
        ("portfolio:updates", ChannelKind.PORTFOLIO, "session:*"),
        ("trades:live", ChannelKind.TRADES, "session:*"),
        ("system:events", ChannelKind.SYSTEM, "*"),
        ("workflow:wf_1", ChannelKind.WORKFLOW, "execution:wf_1"),
        ("optimize:opt_1", ChannelKind.OPTIMIZE, "execution:opt_1"),
        ("custom:signals", ChannelKind.CUSTOM, "custom:signals"),
    ],
)
def test_channels_parse_onto_topics(name: str, kind: ChannelKind, topic: str) -> None:
    channel = registry.parse(name)
    assert (channel.kind, channel.topic) == (kind, topic)


@pytest.mark.parametrize("name", ["nope", "weather:x", "portfolio:all", "custom:", "market:a b", 3])
def test_bad_channels_are_refused_with_the_choices(name: object) -> None:
    with pytest.raises(InvalidParameterError, match="channel"):
        registry.parse(name)  # type: ignore[arg-type]


def test_market_names_are_upper_case() -> None:
    assert registry.parse("market:aapl").name == "market:AAPL"


def test_routing_projects_catalogued_fields_only() -> None:
    event = Event("session:s1", "fill_recorded", {"session_id": "s1", "symbol": "AAPL", "price": 1.0, "secret": 1})
    [(channel, type_, data, role)] = registry.route(event)
    assert (channel, type_, role) == ("trades:live", "fill", "viewer")
    assert "secret" not in data and data["price"] == 1.0
    bar = Event("session:s1", "bar_processed", {"symbol": "msft", "close": 2.0})
    assert [r[0] for r in registry.route(bar)] == ["market:MSFT"]
    assert registry.route(Event("session:s1", "made_up", {})) == []
    [security] = registry.route(Event("system:events", "login_failed", {"user": "x"}))
    assert security[:2] == ("system:events", "security") and security[3] == "admin"
    assert registry.route(Event("system:metrics", "metrics_collected", {})) == []


@pytest.mark.parametrize("state", ["started", "finished", "stopped", "failed"])
def test_a_session_lifecycle_message_names_its_state(state: str) -> None:
    # The message type is "session" for all four: without `state` a client would have to guess the
    # end from which fields are empty. An event that claims another state does not override it.
    event = Event("session:s1", f"session_{state}", {"session_id": "s1", "resume_at": None, "state": "bogus"})
    [(channel, type_, data, _role)] = registry.route(event)
    assert (channel, type_, data["state"], data["session_id"]) == ("system:events", "session", state, "s1")


async def test_hub_numbers_each_channel_from_one_and_replays() -> None:
    bus = InMemoryEventBus()
    hub = StreamHub(bus, replay=5)
    await hub.start()
    channel = registry.parse("custom:c")
    got: list[StreamMessage] = []
    stop = hub.listen(channel, got.append)
    for i in range(8):
        await hub.publish(channel, "tick", {"i": i})
    await bus.publish("custom:other", "tick", {})
    for _ in range(50):
        if len(got) == 8:
            break
        await asyncio.sleep(0.01)
    stop()
    assert [m.seq for m in got] == list(range(1, 9))
    assert [m.seq for m in hub.resume(channel, 5).messages] == [6, 7, 8]
    assert hub.resume(channel, 8).messages == ()
    far = hub.resume(channel, 1)  # 2 and 3 left the buffer: a snapshot instead
    assert far.missed and far.seq == 8
    await hub.stop()


async def test_hub_numbering_survives_a_restart() -> None:
    bus = InMemoryEventBus()
    channel = registry.parse("custom:c")
    first = StreamHub(bus)
    await first.start()
    for i in range(3):
        await first.publish(channel, "tick", {"i": i})
    await asyncio.sleep(0.05)
    await first.stop()
    second = StreamHub(bus)
    second.restore(first.export())
    second.restore(first.export())  # restoring twice (an app restarted in one process) adds nothing twice
    await second.start()
    await second.publish(channel, "tick", {"i": 3})
    await asyncio.sleep(0.05)
    assert [m.seq for m in second.resume(channel, 2).messages] == [3, 4]
    await second.stop()


def test_a_frame_is_serialised_once_per_format_whatever_the_clients() -> None:
    from entrypoints.http.ws.frames import Frame

    message = StreamMessage("market:AAPL", "bar", 1, dt.datetime(2026, 1, 2, 3, 4, 5), {"close": 1.5})
    frame = Frame(message)
    first = frame.encoded("json")
    assert all(frame.encoded("json") is first for _ in range(1000))
    assert frame.encoded("msgpack") is frame.encoded("msgpack") and frame.encoded("msgpack") != first
    assert json.loads(first) == {
        "channel": "market:AAPL",
        "type": "bar",
        "seq": 1,
        "ts": "2026-01-02T03:04:05Z",
        "data": {"close": 1.5},
    }
