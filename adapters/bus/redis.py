"""An event bus on Redis Streams: every process (server worker, machine) sees every event, in order.

Layout (under ``namespace``, default ``gpt-trader:bus``):

- ``{ns}:seq:{topic}``: the topic's last sequence number (a counter);
- ``{ns}:topic:{topic}``: the topic's stream, entry id ``{seq}-0``, at most ``maxlen`` entries
  (``XADD MAXLEN ~``): resume a topic by sequence with ``replay(topic, after_seq)``;
- ``{ns}:all``: every event of every topic in publish order, at most ``maxlen_all`` entries: what
  each process's one reader follows;
- with a ``router`` (the stream channels an event appears on, ``market:AAPL``, ``trades:live``…):
  ``{ns}:chseq:{channel}`` the channel's last message number and ``{ns}:channel:{channel}`` its
  events, entry id ``{n}-0``, at most ``maxlen_channel``: every server process gives a WebSocket
  client the same ``seq`` and resumes it from Redis (the ``StreamLog`` port); the numbers travel
  with the event (``Event.channels``);
- ``{ns}:lease:{name}`` / ``{ns}:agreed:{name}``: the ``Claims`` port (one process pumps a symbol's
  live feed, every process agrees on the feed's origin).

``publish`` runs one Lua script: INCR the topic's (and channels') counters and XADD to the streams, atomically, so
sequence numbers are consistent across processes and a topic's stream order IS its sequence order,
whoever publishes. With an ``origin=(source, number)`` the script first compares ``number`` with
``{ns}:origin:{source}`` (the highest number published for that source, kept ``origin_ttl`` seconds
after its last publish) and publishes nothing when it is not above it: an outbox relay re-publishing
what a killed worker may already have published gets no second delivery and no second ``seq``.

Each bus instance runs ONE reader task (started by the first ``subscribe``) that
blocks on ``XREAD`` of ``{ns}:all`` and hands events to the local subscriptions whose pattern
matches (``*``, ``prefix*`` or exact, as the memory bus); a slow subscription drops its oldest event
and counts it in ``dropped``, so neither publishers nor the reader ever wait on a consumer.

"Receives events published after it was created": a subscription skips events at or before the
latest ``{ns}:all`` id this process knew when it was created (the reader's position, or its own last
publish). The reader's first read starts from ``start_margin`` seconds before its creation (Redis
stream ids are the server's clock in ms), so no event published after a first ``subscribe`` is
missed while the reader connects.

If Redis goes away, ``publish`` raises ``EventBusUnavailableError`` (one line, with the URL) and the
reader retries every ``retry_interval`` seconds, then continues from the last id it delivered: no
event still in the stream is lost or delivered twice. ``ping()`` (the health probe) raises while it is
down, and ``error`` holds the reason.

Event ``data`` is stored as the state codec's tagged JSON tree, so datetimes, NaN and tuples come back
as they were published (as with the memory bus, which passes the objects themselves).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.bus.subscription import DropOldestSubscription, matches
from adapters.state._codec import decode_tree, dumps, encode_tree, loads
from gpt_trader_core.domain.records import Event
from gpt_trader_core.errors import GptTraderError

__all__ = ["EventBusUnavailableError", "RedisEventBus"]

log = logging.getLogger(__name__)

# KEYS: seq counter, topic stream, all stream, then per stream channel its counter and its stream, then
# (with an origin) the origin's watermark.
# ARGV: maxlen, maxlen_all, topic, type, time, data, number of channels, maxlen per channel, channel names,
# then (with an origin) its number and the watermark's ttl in ms.
_PUBLISH = """
local n = tonumber(ARGV[7])
local origin = KEYS[4 + 2 * n]
if origin then
  local number = tonumber(ARGV[9 + n])
  if number <= tonumber(redis.call('GET', origin) or '0') then return {0, '0-0', '{}'} end
  redis.call('SET', origin, number, 'PX', ARGV[10 + n])
end
local seq = redis.call('INCR', KEYS[1])
local marks = {}
for i = 1, n do
  marks[ARGV[8 + i]] = redis.call('INCR', KEYS[2 + 2 * i])
end
local ch = '{}'
if n > 0 then ch = cjson.encode(marks) end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-0',
           'topic', ARGV[3], 'type', ARGV[4], 'time', ARGV[5], 'data', ARGV[6], 'seq', seq, 'ch', ch)
for i = 1, n do
  redis.call('XADD', KEYS[3 + 2 * i], 'MAXLEN', '~', ARGV[8], marks[ARGV[8 + i]] .. '-0',
             'topic', ARGV[3], 'type', ARGV[4], 'time', ARGV[5], 'data', ARGV[6], 'seq', seq, 'ch', ch)
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',
           'topic', ARGV[3], 'type', ARGV[4], 'time', ARGV[5], 'data', ARGV[6], 'seq', seq, 'ch', ch)
return {seq, id, ch}
"""

# KEYS: the lease. ARGV: holder, ttl in ms. Take it when free, renew it when ours.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""

#: Routes an event (topic, type, data) to the stream channels it appears on.
Router = Callable[[str, str, Mapping[str, Any]], Sequence[str]]


class EventBusUnavailableError(GptTraderError):
    """The bus's Redis cannot be reached (or refused the command)."""


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, n = entry_id.partition("-")
    return int(ms), int(n or 0)


def _decode(fields: Mapping[str, str]) -> Event:
    return Event(
        topic=fields["topic"],
        type=fields["type"],
        data=decode_tree(loads(fields["data"])),
        time=dt.datetime.fromisoformat(fields["time"]),
        seq=int(fields["seq"]),
        channels=_marks(fields.get("ch")),
    )


def _marks(raw: str | None) -> dict[str, int]:
    if not raw or raw == "{}":
        return {}
    return {str(name): int(seq) for name, seq in json.loads(raw).items()}


class _Subscription(DropOldestSubscription):
    """A local subscription fed by the bus's reader, from the stream position it was made at."""

    def __init__(
        self,
        pattern: str,
        max_queue: int,
        remove: Callable[[DropOldestSubscription], None],
        after: tuple[int, int] | None,
    ) -> None:
        super().__init__(pattern, max_queue, remove)
        self.after = after  # the last ``{ns}:all`` id it must NOT receive (None: receives from the reader's start)


class RedisEventBus:
    """``EventBus`` on Redis Streams, shared by every process using the same Redis and namespace."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "gpt-trader:bus",
        maxlen: int = 10_000,
        maxlen_all: int = 100_000,
        block_ms: int = 1000,
        retry_interval: float = 1.0,
        start_margin: float = 1.0,
        router: Router | None = None,
        maxlen_channel: int = 10_000,
        origin_ttl: float = 7 * 86_400.0,
    ) -> None:
        import redis.asyncio as aioredis

        self._url = url
        self._ns = namespace
        self._maxlen, self._maxlen_all = maxlen, maxlen_all
        self._block_ms, self._retry_interval, self._start_margin = block_ms, retry_interval, start_margin
        opts: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 2.0}
        # Typed Any: redis-py's stubs type replies as unions of every reply shape.
        self._redis: Any = aioredis.Redis.from_url(url, **opts)  # publishing; connects lazily
        # The reader blocks in XREAD: its own connection, with a read timeout above the block time.
        self._reader_redis: Any = aioredis.Redis.from_url(url, socket_timeout=block_ms / 1000 + 5.0, **opts)
        self._script: Any = self._redis.register_script(_PUBLISH)
        self._claim: Any = self._redis.register_script(_CLAIM)
        self._release: Any = self._redis.register_script(_RELEASE)
        self._router = router
        self._maxlen_channel = maxlen_channel
        self._origin_ttl_ms = max(1, int(origin_ttl * 1000))
        self._subscriptions: list[_Subscription] = []
        self._position: tuple[int, int] | None = None  # the latest {ns}:all id this process knows
        self._reader: asyncio.Task[None] | None = None
        self._stopping = False
        self._delivered: tuple[int, int] = (0, 0)  # the last id the reader handed out
        self._progress = asyncio.Event()
        self.published = 0
        self.error: str | None = None  # why the bus is degraded (None: healthy)
        self.instance = uuid.uuid4().hex[:8]

    def __repr__(self) -> str:
        return f"RedisEventBus({_redacted(self._url)!r}, namespace={self._ns!r})"

    def _key(self, kind: str, topic: str = "") -> str:
        return f"{self._ns}:{kind}:{topic}" if topic else f"{self._ns}:{kind}"

    # -- the port ----------------------------------------------------------------------------------

    async def publish(
        self, topic: str, type: str, data: Mapping[str, Any], *, origin: tuple[str, int] | None = None
    ) -> Event:
        import redis

        event = Event(topic=topic, type=type, data=dict(data))
        channels = list(dict.fromkeys(self._router(topic, type, event.data))) if self._router else []
        args = [self._maxlen, self._maxlen_all, topic, type, event.time.isoformat(), dumps(encode_tree(event.data))]
        args += [len(channels), self._maxlen_channel, *channels]
        keys = [self._key("seq", topic), self._key("topic", topic), self._key("all")]
        for channel in channels:
            keys += [self._key("chseq", channel), self._key("channel", channel)]
        if origin is not None:
            keys.append(self._key("origin", origin[0]))
            args += [int(origin[1]), self._origin_ttl_ms]
        try:
            seq, entry_id, marks = await self._script(keys=keys, args=args)
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"cannot publish {type!r} on {topic!r}: {self.error}") from exc
        if not int(seq):  # published already (see ``origin``)
            return Event(topic=topic, type=type, data=event.data, time=event.time, seq=0)
        position = _id(entry_id)
        if self._position is None or position > self._position:
            self._position = position
        self.published += 1
        return Event(topic=topic, type=type, data=event.data, time=event.time, seq=int(seq), channels=_marks(marks))

    def subscribe(self, pattern: str = "*", *, max_queue: int = 1000) -> _Subscription:
        subscription = _Subscription(pattern, max_queue, self._remove, self._position)
        self._subscriptions.append(subscription)
        if self._reader is None:
            start = self._position or (int((time.time() - self._start_margin) * 1000), 0)
            self._delivered = start
            self._stopping = False
            name = f"redis-bus-reader-{self.instance}"
            self._reader = asyncio.get_running_loop().create_task(self._read(), name=name)
        return subscription

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            # The flag as well as cancel(): a cancellation landing inside redis-py's read can be
            # absorbed by its reconnect logic, so the loop also stops at its next turn (<= block_ms).
            self._stopping = True
            reader.cancel()
            await asyncio.wait([reader], timeout=self._block_ms / 1000 + 2.0)
            if reader.done() and not reader.cancelled() and reader.exception() is not None:
                log.warning("event bus reader failed: %r", reader.exception())
        await self._redis.aclose()
        await self._reader_redis.aclose()

    # -- beyond the port ---------------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscriptions)

    async def replay(self, topic: str, after_seq: int = 0, *, limit: int = 10_000) -> list[Event]:
        """The topic's events with a sequence number above ``after_seq`` still in its stream (at most
        ``maxlen``; compare the first one's ``seq`` with ``after_seq + 1`` to detect a gap)."""
        import redis

        try:
            entries = await self._redis.xrange(self._key("topic", topic), f"{after_seq + 1}-0", "+", count=limit)
        except (redis.RedisError, OSError) as exc:
            raise EventBusUnavailableError(f"cannot replay {topic!r}: {_reason(self._url, exc)}") from exc
        return [_decode(fields) for _, fields in entries]

    async def last_seq(self, topic: str) -> int:
        """The topic's latest sequence number (0 before its first event)."""
        return int(await self._redis.get(self._key("seq", topic)) or 0)

    # -- the StreamLog port: stream channels numbered at publish (needs a ``router``) ---------------

    async def channel_history(self, channel: str, after_seq: int, limit: int) -> list[Event]:
        """The events numbered above ``after_seq`` on ``channel`` still in its stream (at most
        ``maxlen_channel`` are kept), oldest first, at most ``limit``."""
        import redis

        try:
            entries = await self._redis.xrange(self._key("channel", channel), f"{after_seq + 1}-0", "+", count=limit)
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"cannot replay {channel}: {self.error}") from exc
        return [_decode(fields) for _, fields in entries]

    async def channel_seq(self, channel: str) -> int:
        """The number of ``channel``'s newest message (0 before its first)."""
        import redis

        try:
            return int(await self._redis.get(self._key("chseq", channel)) or 0)
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"cannot read the numbering of {channel}: {self.error}") from exc

    # -- the Claims port ---------------------------------------------------------------------------

    async def claim(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder`` (``ttl`` seconds); True if held."""
        import redis

        try:
            return bool(await self._claim(keys=[self._key("lease", name)], args=[holder, max(1, int(ttl * 1000))]))
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"cannot claim {name}: {self.error}") from exc

    async def release(self, name: str, holder: str) -> None:
        import redis

        try:
            await self._release(keys=[self._key("lease", name)], args=[holder])
        except (redis.RedisError, OSError) as exc:  # it expires by itself
            log.info("event bus: could not release %s (%s); it expires after its ttl", name, exc)

    async def agree(self, name: str, value: str, ttl: float) -> str:
        """``value`` stored under ``name`` unless one is stored already; the stored one."""
        import redis

        key = self._key("agreed", name)
        try:
            await self._redis.set(key, value, nx=True, px=max(1, int(ttl * 1000)))
            stored = await self._redis.get(key)
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"cannot agree on {name}: {self.error}") from exc
        return str(stored if stored is not None else value)

    async def ping(self) -> None:
        """Raise ``EventBusUnavailableError`` unless Redis answers; clears ``error`` when it does."""
        import redis

        try:
            await self._redis.ping()
        except (redis.RedisError, OSError) as exc:
            self.error = _reason(self._url, exc)
            raise EventBusUnavailableError(f"the event bus is unavailable: {self.error}") from exc
        self.error = None

    async def delivered(self, timeout: float = 5.0) -> None:
        """Wait until the reader has handed out everything this process has published (for tests and
        orderly shutdowns: delivery is asynchronous)."""
        async with asyncio.timeout(timeout):
            while self._reader is not None and self._position is not None and self._delivered < self._position:
                self._progress.clear()
                await self._progress.wait()

    # -- the reader --------------------------------------------------------------------------------

    def _remove(self, subscription: DropOldestSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    async def _read(self) -> None:
        import redis

        key = self._key("all")
        while not self._stopping:
            last = "{}-{}".format(*self._delivered)
            try:
                reply = await self._reader_redis.xread({key: last}, count=500, block=self._block_ms)
                if self.error is not None:
                    log.info("event bus: Redis at %s is back", _redacted(self._url))
                self.error = None
            except (redis.RedisError, OSError) as exc:
                if self.error is None:
                    log.warning("event bus: %s; retrying every %.1f s", _reason(self._url, exc), self._retry_interval)
                self.error = _reason(self._url, exc)
                await asyncio.sleep(self._retry_interval)
                continue
            for _, entries in reply or ():
                for entry_id, fields in entries:
                    self._dispatch(_id(entry_id), fields)
            self._progress.set()

    def _dispatch(self, entry_id: tuple[int, int], fields: Mapping[str, str]) -> None:
        self._delivered = entry_id
        if self._position is None or entry_id > self._position:
            self._position = entry_id
        targets = [
            s
            for s in self._subscriptions
            if (s.after is None or entry_id > s.after) and matches(s.pattern, fields["topic"])
        ]
        if not targets:
            return
        try:
            event = _decode(fields)
        except (KeyError, ValueError, TypeError) as exc:  # not ours (another writer on the namespace)
            log.warning("event bus: skipping an unreadable entry %s: %s", entry_id, exc)
            return
        for subscription in targets:
            subscription.offer(event)


def _redacted(url: str) -> str:
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def _reason(url: str, exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Redis at {_redacted(url)} unreachable ({type(exc).__name__}: {text})"
