"""The live market: bars of the configured live feed for symbols no running session feeds.

A client subscribing to ``market:XYZ`` gets XYZ's bars from the sessions trading it; for any other
symbol the stream hub asks this use case to ``want`` it, and a pump task publishes the live feed's
bars on the bus topic ``feed:XYZ`` (event ``bar_published``, catalogued in ``domain.events``), the
same path as every other event, until the hub's last listener of the channel leaves (``unwant``:
reference counted per process). While sessions' bars of the symbol are arriving (``fed``) the pump
publishes nothing, so a channel never mixes a session's bars with the feed's.

Several server processes on one shared bus: each pump claims the lease ``pump:feed:XYZ`` every bar
(``Claims``), so exactly one process publishes a symbol and another takes over within ``lease`` when
it stops; every process builds the feed from the same agreed origin, so the bars continue where the
previous publisher left off. Every message names its feed and says whether it is ``synthetic``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from gpt_trader_core.errors import GptTraderError
from gpt_trader_core.ports import BarEvent, Claims, EventBus, MarketFeed

log = logging.getLogger("gpt_trader.live_market")

#: Builds the live feed whose first bar is due at the given Unix time.
FeedMaker = Callable[[float], MarketFeed]


class LiveMarket:
    """Pumps the live feed of the symbols the stream hub wants; see the module docstring.

    ``feed``: builds the feed from an origin (Unix time); ``interval``: its seconds between bars;
    ``synthetic``: whether its bars are generated (said in every message); ``quiet``: seconds without
    a session's bar of a symbol before the feed speaks for it again; ``lease``: how long a pump's
    claim lasts without renewal; ``origin_ttl``: how long processes keep agreeing on one origin (a
    pump started later skips the bars due before it, so this bounds that work).
    """

    def __init__(
        self,
        bus: EventBus,
        feed: FeedMaker,
        *,
        interval: float,
        synthetic: bool,
        claims: Claims | None = None,
        quiet: float = 5.0,
        lease: float = 3.0,
        origin_ttl: float = 3600.0,
    ) -> None:
        self._bus = bus
        self._feed = feed
        self.interval = interval
        self._origin_ttl = origin_ttl
        self.synthetic = synthetic
        self._claims = claims
        self._quiet = quiet
        self._lease = lease
        self._holder = uuid.uuid4().hex
        self._wanted: dict[str, int] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._fed: dict[str, float] = {}
        self.published = 0

    @property
    def pumping(self) -> tuple[str, ...]:
        """The symbols this process has a pump for (publishing or standing by)."""
        return tuple(sorted(self._pumps))

    def want(self, symbol: str) -> None:
        """One more listener of ``market:symbol`` in this process; the first starts its pump."""
        symbol = symbol.upper()
        self._wanted[symbol] = self._wanted.get(symbol, 0) + 1
        if symbol not in self._pumps:
            self._pumps[symbol] = asyncio.get_running_loop().create_task(self._pump(symbol), name=f"live-{symbol}")

    def unwant(self, symbol: str) -> None:
        """One listener fewer; the last one stops the pump (and gives up its lease)."""
        symbol = symbol.upper()
        left = self._wanted.get(symbol, 0) - 1
        if left > 0:
            self._wanted[symbol] = left
            return
        self._wanted.pop(symbol, None)
        task = self._pumps.pop(symbol, None)
        if task is not None:
            task.cancel()

    def fed(self, symbol: str) -> None:
        """A running session just published a bar of ``symbol``."""
        self._fed[symbol.upper()] = time.monotonic()

    async def close(self) -> None:
        tasks = list(self._pumps.values())
        self._pumps.clear()
        self._wanted.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _pump(self, symbol: str) -> None:
        name = f"pump:feed:{symbol}"
        held = False
        failing = False
        try:
            origin = await self._origin(symbol)
            feed = self._feed(origin)
            await asyncio.to_thread(feed.history, symbol)  # generates/loads the data off the event loop
            start = max(0, int((time.time() - origin) / self.interval)) if self.interval > 0 else 0
            async for bars in feed.stream([symbol], start):
                for bar in bars:
                    if bar.index < start or self._session_feeds(symbol):
                        continue
                    try:
                        if self._claims is not None:
                            held = await self._claims.claim(name, self._holder, self._lease)
                            if not held:
                                continue  # another process publishes it; this one stands by
                        await self._bus.publish(f"feed:{symbol}", "bar_published", self._data(feed, bar))
                    except GptTraderError as exc:  # the bus is down: skip bars until it is back
                        if not failing:
                            log.warning("live market: %s bars not published: %s", symbol, exc)
                        failing = True
                        continue
                    failing = False
                    self.published += 1
        except asyncio.CancelledError:
            raise
        except GptTraderError as exc:
            log.warning("live market: %s stopped: %s", symbol, exc)
        except Exception:
            log.exception("live market: the pump of %s failed", symbol)
        finally:
            if self._pumps.get(symbol) is asyncio.current_task():
                del self._pumps[symbol]  # it ended by itself: the next listener starts another
            if held and self._claims is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._claims.release(name, self._holder))

    async def _origin(self, symbol: str) -> float:
        """When the feed's bar 0 was due: now, or what the processes sharing the bus agreed on."""
        while True:
            origin = time.time()
            if self._claims is None:
                return origin
            try:
                return float(await self._claims.agree(f"origin:feed:{symbol}", repr(origin), self._origin_ttl))
            except GptTraderError as exc:  # the bus is down: the stream starts when it is back
                log.warning("live market: %s waits for the bus: %s", symbol, exc)
                await asyncio.sleep(max(self.interval, 1.0))

    def _session_feeds(self, symbol: str) -> bool:
        at = self._fed.get(symbol)
        return at is not None and time.monotonic() - at < self._quiet

    def _data(self, feed: MarketFeed, bar: BarEvent) -> dict[str, object]:
        return {
            "feed": feed.name,
            "synthetic": self.synthetic,
            "symbol": bar.symbol,
            "bar": bar.index,
            "time": bar.time,
            "open": bar.open,
            "high": bar.high,
            "low": bar.low,
            "close": bar.close,
            "volume": bar.volume,
        }
