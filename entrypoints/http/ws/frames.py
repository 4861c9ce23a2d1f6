"""Wire formats: JSON text frames (default) or msgpack binary frames (``?format=msgpack``).

A data message is encoded once per format and the bytes are shared by every client of that format
(``Frame``); control messages (hello, pong, errors) are encoded per client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgpack
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode

from gpt_trader_core.domain.events import StreamMessage

FORMATS = ("json", "msgpack")


class ProtocolError(Exception):
    """A client message the server cannot act on; answered with an error message, connection kept."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode(payload: Mapping[str, Any], fmt: str) -> bytes:
    """The frame payload: UTF-8 JSON (sent as a text frame) or msgpack (a binary frame)."""
    if fmt == "msgpack":
        packed: bytes = msgpack.packb(payload, use_bin_type=True)
        return packed
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


class Frame:
    """One channel message, serialised at most once per format (shared by all its clients)."""

    __slots__ = ("_encoded", "_framed", "_wire", "channel", "owner", "role", "seq")

    def __init__(self, message: StreamMessage) -> None:
        self.channel = message.channel
        self.seq = message.seq
        self.role = message.role
        self.owner = message.owner
        self._encoded: dict[str, bytes] = {}
        self._framed: dict[str, bytes] = {}
        self._wire = message.wire()

    def encoded(self, fmt: str) -> bytes:
        data = self._encoded.get(fmt)
        if data is None:
            data = self._encoded[fmt] = encode(self._wire, fmt)
        return data

    def framed(self, fmt: str) -> bytes:
        """The whole WebSocket frame (server frames are unmasked), built once per format and written
        as is to every connection without extensions; compressing connections frame it themselves."""
        data = self._framed.get(fmt)
        if data is None:
            opcode = Opcode.BINARY if fmt == "msgpack" else Opcode.TEXT
            data = self._framed[fmt] = WsFrame(opcode, self.encoded(fmt)).serialize(mask=False)
        return data


def decode(raw: str | bytes) -> dict[str, Any]:
    """A client message: JSON in a text frame, msgpack in a binary one; must be an object."""
    try:
        value = msgpack.unpackb(raw, raw=False) if isinstance(raw, bytes) else json.loads(raw)
    except (ValueError, msgpack.UnpackException) as exc:
        kind = "msgpack" if isinstance(raw, bytes) else "JSON"
        raise ProtocolError("bad_message", f"the message is not valid {kind}: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("bad_message", 'send an object, e.g. {"action": "subscribe", "channels": ["trades:live"]}')
    return value
