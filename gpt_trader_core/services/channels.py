"""The channel registry: the ONE mapping between stream channels and event-bus topics.

=====================  =====================================  ==================================
channel                bus topic (events, see domain.events)  who may subscribe / publish
=====================  =====================================  ==================================
``market:SYMBOL``      ``session:*`` bars of SYMBOL,          viewer (latest wins when behind)
                       ``feed:SYMBOL`` the live feed's bars
``portfolio:updates``  ``session:*`` equity, positions        viewer
``trades:live``        ``session:*`` orders, fills            viewer
``system:events``      ``session:*`` lifecycle, ``alerts``,   viewer (security events: admin)
                       ``system:events`` (security)
``workflow:ID``        ``execution:ID`` workflow events       viewer
``optimize:ID``        ``execution:ID`` job events            viewer
``custom:NAME``        ``custom:NAME`` anything               viewer / publish: trader
=====================  =====================================  ==================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.events import CATALOGUE, ChannelKind, EventSpec
from gpt_trader_core.domain.records import Event
from gpt_trader_core.errors import InvalidParameterError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/^=]{0,63}$")
_FIXED = {"portfolio": "updates", "trades": "live", "system": "events"}
_CUSTOM_TYPE = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


@attrs.frozen
class Channel:
    """A parsed channel name. ``conflate``: when a client falls behind, only the newest message
    counts (market data); otherwise every message is delivered in order or the client is dropped."""

    name: str
    kind: ChannelKind
    key: str
    topic: str
    role: str = "viewer"
    publish_role: str | None = None
    conflate: bool = False


class ChannelRegistry:
    """Parses channel names and routes bus events onto channels, using the event catalogue."""

    def __init__(self, catalogue: tuple[EventSpec, ...] = CATALOGUE) -> None:
        self._specs: dict[tuple[str, str], list[EventSpec]] = {}
        for spec in catalogue:
            self._specs.setdefault((spec.topic, spec.source), []).append(spec)

    def parse(self, name: str) -> Channel:
        """The channel ``name`` denotes; ``InvalidParameterError`` saying what to send instead."""
        if not isinstance(name, str) or ":" not in name:
            raise InvalidParameterError(f"unknown channel {name!r}: {_CHOICES}")
        prefix, _, key = name.partition(":")
        try:
            kind = ChannelKind(prefix)
        except ValueError:
            raise InvalidParameterError(f"unknown channel {name!r}: {_CHOICES}") from None
        if kind.value in _FIXED:
            if key != _FIXED[kind.value]:
                raise InvalidParameterError(f"unknown channel {name!r}: use {kind.value}:{_FIXED[kind.value]}")
            topic = "session:*" if kind is not ChannelKind.SYSTEM else "*"
            return Channel(name, kind, key, topic)
        if not _KEY.match(key):
            raise InvalidParameterError(
                f"bad channel {name!r}: after '{kind.value}:' put 1-64 letters, digits or _ . - / ^ ="
            )
        if kind is ChannelKind.MARKET:
            symbol = key.upper()  # symbols are upper case on the bus: market:aapl is market:AAPL
            return Channel(f"market:{symbol}", kind, symbol, "session:*", conflate=True)
        if kind in (ChannelKind.WORKFLOW, ChannelKind.OPTIMIZE):
            return Channel(name, kind, key, f"execution:{key}")
        return Channel(name, kind, key, f"custom:{key}", publish_role="trader")

    def route(self, event: Event) -> list[tuple[str, str, dict[str, Any], str]]:
        """The ``(channel, type, data, role)`` messages one bus event becomes (none if uncatalogued)."""
        family, _, key = event.topic.partition(":")
        if family == "custom":
            if not key or not _CUSTOM_TYPE.match(event.type):
                return []
            return [(event.topic, event.type, dict(event.data), "viewer")]
        out = []
        specs = [*self._specs.get((family, event.type), ()), *self._specs.get((family, "*"), ())]
        if key:  # specs of one exact topic (system:events)
            specs += [*self._specs.get((event.topic, event.type), ()), *self._specs.get((event.topic, "*"), ())]
        for spec in specs:
            channel = _channel_for(spec.channel, key, event.data)
            if channel is not None:
                out.append((channel, spec.type, spec.project(event.data), spec.role))
        return out

    def channels_of(self, topic: str, type_: str, data: Mapping[str, Any]) -> list[str]:
        """The channels an event published on ``topic`` appears on (what a shared bus numbers)."""
        return [name for name, *_ in self.route(Event(topic=topic, type=type_, data=data))]

    @staticmethod
    def custom_topic(channel: Channel, type_: str) -> str:
        """The bus topic a client's message on a custom channel is published on."""
        if channel.kind is not ChannelKind.CUSTOM:
            raise InvalidParameterError(f"only custom:<name> channels accept messages, not {channel.name!r}")
        if not _CUSTOM_TYPE.match(type_):
            raise InvalidParameterError(
                f"bad message type {type_!r}: 1-64 lower-case letters, digits, '_' or '.', starting with a letter"
            )
        return channel.topic


_CHOICES = (
    "use market:SYMBOL, portfolio:updates, trades:live, system:events, workflow:EXECUTION_ID, "
    "optimize:STUDY_ID or custom:NAME"
)


def _channel_for(kind: ChannelKind, key: str, data: Mapping[str, Any]) -> str | None:
    if kind is ChannelKind.MARKET:
        symbol = data.get("symbol")
        return f"market:{str(symbol).upper()}" if symbol else None
    if kind.value in _FIXED:
        return f"{kind.value}:{_FIXED[kind.value]}"
    return f"{kind.value}:{key}" if key else None
