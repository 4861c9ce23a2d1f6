"""The event catalogue: every message a stream client can receive, and the bus event it comes from.

A channel names what a client follows (``market:AAPL``, ``portfolio:updates``, ``trades:live``,
``system:events``, ``workflow:<execution id>``, ``optimize:<study id>``, ``custom:<name>``). Each
``EventSpec`` says which bus event (topic family + type) becomes which message ``type`` on which
channel kind, and which data fields it carries (``None``: the producer's data as published). Nothing
outside this catalogue is ever sent to a client.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

#: Channel kinds whose messages only admins and the owner of the session/execution see.
OWNED = frozenset({"portfolio", "trades", "workflow", "optimize"})


class ChannelKind(enum.StrEnum):
    MARKET = "market"
    PORTFOLIO = "portfolio"
    TRADES = "trades"
    SYSTEM = "system"
    WORKFLOW = "workflow"
    OPTIMIZE = "optimize"
    CUSTOM = "custom"


@attrs.frozen
class EventSpec:
    """One kind of stream message.

    ``type`` is the message type clients see; ``channel`` the channel kind it is sent on; ``topic``
    the bus topic family it comes from (``session`` for ``session:<id>``, ``execution``, ``alerts``,
    ``feed`` for ``feed:<SYMBOL>``, ``custom``); ``source`` the bus event type (``*`` any); ``fields``
    the data fields sent (``None``: all); ``role`` the weakest role that receives it (``viewer``,
    ``trader`` or ``admin``).
    """

    type: str
    channel: ChannelKind
    topic: str
    source: str
    description: str
    fields: tuple[str, ...] | None = None
    role: str = "viewer"
    #: Fields every message of this kind carries with a fixed value, set after the event's own data:
    #: what the bus event type says but the message type does not (e.g. a session's ``state``).
    constants: tuple[tuple[str, Any], ...] = ()

    def project(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data a client receives: only the catalogued fields, then the constants."""
        out = dict(data) if self.fields is None else {name: data.get(name) for name in self.fields}
        out.update(self.constants)
        return out


_BAR = ("session_id", "symbol", "bar", "time", "open", "high", "low", "close", "volume")
#: A live feed's bar: ``feed`` names the feed, ``synthetic`` says it is generated, not a real market.
_FEED_BAR = ("feed", "synthetic", "symbol", "bar", "time", "open", "high", "low", "close", "volume")
_ORDER = (
    "session_id",
    "client_order_id",
    "symbol",
    "side",
    "quantity",
    "fraction",
    "status",
    "filled_quantity",
    "average_price",
    "reason",
)
_FILL = (
    "session_id",
    "fill_id",
    "client_order_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "commission",
    "bar",
    "time",
    "realized_pnl",
)
_ORDER_STATES = ("new", "accepted", "partially_filled", "filled", "cancelled", "rejected")  # OrderStatus
_SESSION_STATES = ("started", "finished", "stopped", "failed")
_WORKFLOW = (  # the workflow engine's EVENT_TYPES (a test keeps them equal)
    "execution_started",
    "step_started",
    "step_retried",
    "step_finished",
    "step_failed",
    "step_skipped",
    "execution_finished",
    "execution_failed",
    "execution_cancelled",
)
_JOB = ("job_started", "job_progressed", "job_succeeded", "job_failed", "job_cancelled")

CATALOGUE: tuple[EventSpec, ...] = (
    EventSpec("bar", ChannelKind.MARKET, "session", "bar_processed", "a new bar of a running session's feed", _BAR),
    EventSpec(  # published on feed:SYMBOL by the live market (services/live_market.py)
        "bar",
        ChannelKind.MARKET,
        "feed",
        "bar_published",
        "a new bar of the configured live feed, for a symbol no running session feeds",
        _FEED_BAR,
    ),
    EventSpec(
        "equity",
        ChannelKind.PORTFOLIO,
        "session",
        "portfolio_updated",
        "cash and equity after every bar (fills included)",
        ("session_id", "bar", "time", "cash", "equity"),
    ),
    EventSpec(
        "positions",
        ChannelKind.PORTFOLIO,
        "session",
        "position_changed",
        "the positions held after a fill",
        ("session_id", "positions"),
    ),
    *(
        EventSpec("order", ChannelKind.TRADES, "session", f"order_{state}", f"an order became {state}", _ORDER)
        for state in _ORDER_STATES
    ),
    EventSpec("fill", ChannelKind.TRADES, "session", "fill_recorded", "an order (partly) filled", _FILL),
    *(
        EventSpec(
            "session",
            ChannelKind.SYSTEM,
            "session",
            f"session_{state}",
            f"a trading session {state}",
            ("session_id", "resume_at", "symbols", "last_bar", "equity"),
            constants=(("state", state),),
        )
        for state in _SESSION_STATES
    ),
    EventSpec("risk_alert", ChannelKind.SYSTEM, "session", "risk_alert", "a risk limit acted on an order", None),
    EventSpec("alert_raised", ChannelKind.SYSTEM, "alerts", "alert_raised", "a monitoring alert started firing"),
    EventSpec("alert_resolved", ChannelKind.SYSTEM, "alerts", "alert_resolved", "a monitoring alert stopped firing"),
    EventSpec(  # the auth use case publishes its security events on this bus topic
        "security",
        ChannelKind.SYSTEM,
        "system:events",
        "*",
        "a security event (logins, lockouts, refresh-token reuse, users and keys changed)",
        None,
        role="admin",
    ),
    *(
        EventSpec(type_, ChannelKind.WORKFLOW, "execution", type_, "workflow progress (workflow status)")
        for type_ in _WORKFLOW
    ),
    *(EventSpec(type_, ChannelKind.OPTIMIZE, "execution", type_, "optimisation study progress") for type_ in _JOB),
    EventSpec("message", ChannelKind.CUSTOM, "custom", "*", "published by an application on custom:<name>"),
)


@attrs.frozen
class StreamMessage:
    """One message on a channel: ``seq`` counts the channel's messages from 1, without gaps.

    ``owner``: None when every client with ``role`` may see it; otherwise only admins and the subject
    who started the work it is about may (``""``: nobody recorded, admins only) — the portfolio and
    trades of a session, the progress of a workflow execution or an optimisation."""

    channel: str
    type: str
    seq: int
    ts: dt.datetime
    data: Mapping[str, Any]
    role: str = "viewer"
    owner: str | None = None

    def wire(self) -> dict[str, Any]:
        """The plan's data message: ``{"channel", "type", "seq", "ts", "data"}``."""
        return {
            "channel": self.channel,
            "type": self.type,
            "seq": self.seq,
            "ts": _iso_utc(self.ts),
            "data": dict(self.data),
        }


def _iso_utc(when: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (the bus stamps naive UTC times)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.isoformat() + "Z"
