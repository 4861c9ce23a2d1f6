"""The plan's protocol on one connection: auth, subscribe (with resume), unsubscribe, publish, ping.

Client → server (JSON text or msgpack binary):
  {"action": "auth", "token": "<jwt>"}  or  {"action": "auth", "api_key": "gtk_…"}
  {"action": "subscribe", "channels": ["market:AAPL"], "auth": "<jwt>", "last_seq": {"market:AAPL": 41}}
  {"action": "unsubscribe", "channels": ["market:AAPL"]}
  {"action": "publish", "channel": "custom:signals", "type": "signal", "data": {...}}
  {"type": "ping", "timestamp": 1234567890}   (answered by {"type": "pong", ...})
Server → client: hello, authenticated, subscribed, unsubscribed, published, snapshot, data messages
{"channel", "type", "seq", "ts", "data"}, {"type": "ping", "timestamp"}, {"type": "error", "code", "message"}.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from entrypoints.http.ws.client import Client, fan_out
from entrypoints.http.ws.frames import Frame, ProtocolError
from entrypoints.http.ws.gate import AuthFailedError, Gate, allows, role_of, sees
from gpt_trader_core.domain.events import ChannelKind, StreamMessage
from gpt_trader_core.errors import GptTraderError, InvalidParameterError
from gpt_trader_core.services.channels import Channel
from gpt_trader_core.services.streams import StreamHub


class _Group:
    """The clients of one channel in one app: one hub listener, one ``Frame`` per message."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.clients: dict[Client, None] = {}
        self.stop: Callable[[], None] = lambda: None

    def __call__(self, message: StreamMessage) -> None:
        frame = Frame(message)
        conflate = self.channel.conflate
        owner = message.owner
        if message.role == "viewer" and owner is None:  # everyone may see it (market data): no check per client
            fan_out(self.clients, frame, conflate)
            return
        for client in self.clients:
            if allows(client.principal, message.role) and (owner is None or sees(client.principal, owner)):
                client.offer(frame, conflate)


class Broadcaster:
    """Channel → clients of one app."""

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub
        self.groups: dict[str, _Group] = {}

    def add(self, channel: Channel, client: Client) -> None:
        group = self.groups.get(channel.name)
        if group is None:
            group = self.groups[channel.name] = _Group(channel)
            group.stop = self.hub.listen(channel, group)
        group.clients[client] = None

    def remove(self, name: str, client: Client) -> None:
        group = self.groups.get(name)
        if group is not None:
            group.clients.pop(client, None)
            if not group.clients:
                group.stop()
                del self.groups[name]


class Session:
    """The protocol state of one connection."""

    def __init__(self, client: Client, gate: Gate, broadcaster: Broadcaster, *, max_subscriptions: int) -> None:
        self.client = client
        self.gate = gate
        self.broadcaster = broadcaster
        self.hub = broadcaster.hub
        self.max_subscriptions = max_subscriptions
        self.channels: dict[str, Channel] = {}
        self.pending: list[str] = []  # channels of the path, subscribed once authenticated
        self.last_pong = time.time()

    async def handle(self, message: Mapping[str, Any]) -> None:
        action = message.get("action") or message.get("type")
        if action == "ping":
            self.client.control({"type": "pong", "timestamp": message.get("timestamp"), "server_time": time.time()})
        elif action == "pong":
            self.last_pong = time.time()
        elif action == "auth":
            await self.authenticate(_text(message, "token"), _text(message, "api_key"))
        elif action == "subscribe":
            if message.get("auth") is not None and self.client.principal is None:
                await self.authenticate(_text(message, "auth"), None)
            await self.subscribe(_channels(message), _last_seq(message))
        elif action == "unsubscribe":
            self.unsubscribe(_channels(message))
        elif action == "publish":
            await self.publish(message)
        else:
            raise ProtocolError(
                "unknown_action",
                f"unknown action {action!r}: use auth, subscribe, unsubscribe, publish or ping",
            )

    async def authenticate(self, token: str | None, api_key: str | None) -> None:
        """Raises ``AuthFailedError`` (the caller closes with 1008)."""
        principal = await self.gate.check(token=token, api_key=api_key)
        self.client.principal = principal
        self.client.control({"type": "authenticated", "subject": principal.subject, "role": role_of(principal)})
        if self.pending:
            pending, self.pending = self.pending, []
            await self.subscribe(pending, {})

    async def subscribe(self, names: Sequence[str], last_seq: Mapping[str, int]) -> None:
        if self.client.principal is None:
            raise ProtocolError(
                "unauthenticated", 'authenticate first: {"action": "auth", "token": "<jwt>"} or "auth" in subscribe'
            )
        wanted = [self._channel(name) for name in names]
        for channel in wanted:
            if channel.kind in (ChannelKind.WORKFLOW, ChannelKind.OPTIMIZE) and channel.name not in self.channels:
                owner = await self.hub.owner_of(channel.topic, fresh=True)
                if not sees(self.client.principal, owner or None):
                    raise ProtocolError("forbidden", f"{channel.name} was started by another user (admins see all)")
        new = [c for c in {c.name: c for c in wanted}.values() if c.name not in self.channels]
        if len(self.channels) + len(new) > self.max_subscriptions:
            raise ProtocolError(
                "too_many_subscriptions",
                f"at most {self.max_subscriptions} channels per connection (websocket.max_subscriptions); "
                f"{len(self.channels)} followed, {len(new)} more asked: unsubscribe some first",
            )
        # Listen first and hold the live frames back; then ask where the channel stands (an await with
        # a shared log); then the replay; then the held frames after it: no gap, no duplicate.
        for channel in new:
            self.client.hold(channel.name)
            self.broadcaster.add(channel, self.client)
            self.channels[channel.name] = channel
        try:
            resumes = [await self.hub.catch_up(c, last_seq.get(c.name)) for c in new]
        except GptTraderError as exc:
            for channel in new:
                self.client.release(channel.name, None)
                self.channels.pop(channel.name, None)
                self.broadcaster.remove(channel.name, self.client)
            raise ProtocolError("unavailable", f"cannot subscribe now: {exc}; try again shortly") from None
        seqs = {c.name: self.hub.seq(c) for c in wanted}
        seqs.update({c.name: r.seq for c, r in zip(new, resumes, strict=True)})
        self.client.control({"type": "subscribed", "channels": [c.name for c in wanted], "seq": seqs})
        for channel, resume in zip(new, resumes, strict=True):
            principal = self.client.principal
            visible = [
                m
                for m in resume.messages
                if (m.role == "viewer" or allows(principal, m.role)) and sees(principal, m.owner)
            ]
            if resume.missed:
                self.client.control(
                    {
                        "type": "snapshot",
                        "channel": channel.name,
                        "seq": resume.seq,
                        "data": {"from_seq": last_seq[channel.name] + 1, "messages": [m.wire() for m in visible]},
                    }
                )
            elif visible:
                self.client.replay([Frame(m) for m in visible])
            self.client.release(channel.name, resume.seq)

    def unsubscribe(self, names: Sequence[str]) -> None:
        gone = []
        for name in names:
            channel = self._channel(name)
            if self.channels.pop(channel.name, None) is not None:
                self.broadcaster.remove(channel.name, self.client)
                self.client.forget(channel.name)
                gone.append(channel.name)
        self.client.control({"type": "unsubscribed", "channels": gone})

    async def publish(self, message: Mapping[str, Any]) -> None:
        if self.client.principal is None:
            raise ProtocolError("unauthenticated", "authenticate before publishing")
        channel = self._channel(_text(message, "channel") or "")
        if channel.publish_role is None:
            raise ProtocolError("forbidden", f"clients may publish on custom:<name> channels only, not {channel.name}")
        if not allows(self.client.principal, channel.publish_role):
            raise ProtocolError("forbidden", f"publishing on {channel.name} needs the {channel.publish_role} role")
        data = message.get("data", {})
        if not isinstance(data, dict):
            raise ProtocolError("bad_message", '"data" must be an object')
        try:
            await self.hub.publish(channel, _text(message, "type") or "message", data)
        except InvalidParameterError as exc:
            raise ProtocolError("bad_message", str(exc)) from None
        except GptTraderError as exc:  # the bus is unreachable (Redis down): say so, keep the connection
            raise ProtocolError("unavailable", f"not published: {exc}; try again shortly") from None
        self.client.control({"type": "published", "channel": channel.name})

    def close(self) -> None:
        for name in list(self.channels):
            self.broadcaster.remove(name, self.client)
        self.channels.clear()

    def _channel(self, name: str) -> Channel:
        try:
            channel = self.hub.registry.parse(name)
        except InvalidParameterError as exc:
            raise ProtocolError("unknown_channel", str(exc)) from None
        if not allows(self.client.principal, channel.role):
            raise ProtocolError("forbidden", f"{channel.name} needs the {channel.role} role")
        return channel


def _text(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError("bad_message", f'"{key}" must be a string')
    return value


def _channels(message: Mapping[str, Any]) -> list[str]:
    channels = message.get("channels")
    if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
        raise ProtocolError("bad_message", '"channels" must be a non-empty list of names, e.g. ["trades:live"]')
    return channels


def _last_seq(message: Mapping[str, Any]) -> dict[str, int]:
    raw = message.get("last_seq") or {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in raw.items()
    ):
        raise ProtocolError("bad_message", '"last_seq" must map channel names to message numbers >= 0')
    # Resume positions are keyed by the canonical name (market:aapl is market:AAPL).
    return {_canonical(k): v for k, v in raw.items()}


def _canonical(name: str) -> str:
    prefix, _, key = name.partition(":")
    return f"market:{key.upper()}" if prefix == "market" else name


__all__ = ["AuthFailedError", "Broadcaster", "Session"]
