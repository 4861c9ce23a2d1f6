"""The trading outbox's rows (migration 10), shared by the three state stores.

A row is one ``OutboxEvent`` of a session: ``seq`` (the session's commit order, given by the store),
``source`` and ``number`` (the event's identity, unique together) and the event itself, its ``data``
as the codec's tagged JSON (datetimes, NaN and tuples come back as they were).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.state._codec import decode_tree, dumps, encode_tree, loads
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ports import OutboxEvent

Row = dict[str, Any]

COLUMNS = ("source", "number", "topic", "type", "data")
#: ``ended_with_pending``: sessions not stored as running whose outbox still holds events ({} is the
#: dialect's parameter marker for the limit: ? or %s). The outbox's primary key (session_id, seq) serves the DISTINCT.
ENDED_WITH_PENDING = (
    "SELECT DISTINCT o.session_id FROM session_outbox o JOIN sessions s ON s.id = o.session_id "
    "WHERE s.status <> 'running' ORDER BY o.session_id LIMIT {}"
)


def rows(events: Sequence[OutboxEvent], *, as_text: bool = True) -> list[Row]:
    """Encode a bar's events up front: an unstorable one fails the bar before any write. ``as_text=False``
    keeps ``data`` as the encoded tree (fresh containers, so still a copy): the memory store has no
    column to fill, and skipping the JSON text is a tenth of a paper session's cost per bar."""
    out = []
    for event in events:
        if not isinstance(event, OutboxEvent):
            raise TypeError(f"cannot store the outbox event: expected an OutboxEvent, got {type(event).__name__}")
        number = event.number
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidParameterError(f"an outbox event's number must be an integer >= 1, got {number!r}")
        tree = encode_tree(dict(event.data), "$.data")
        data = dumps(tree) if as_text else tree
        out.append({"source": event.source, "number": number, "topic": event.topic, "type": event.type, "data": data})
    return out


def from_row(row: Mapping[str, Any]) -> OutboxEvent:
    return OutboxEvent(
        source=row["source"],
        number=int(row["number"]),
        topic=row["topic"],
        type=row["type"],
        data=decode_tree(loads(row["data"]) if isinstance(row["data"], str) else row["data"]),
    )


def check_sent(sent: Mapping[str, int] | None) -> list[tuple[str, int]]:
    """``sent`` (source → highest number published) as (source, number) pairs."""
    if not sent:
        return []
    for source, number in sent.items():
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidParameterError(f"sent[{source!r}] must be an event number, got {number!r}")
    return sorted(sent.items())
