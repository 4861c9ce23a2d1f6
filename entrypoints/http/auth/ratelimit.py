"""Per-endpoint-class rate limits with the ``limits`` package (async moving window).

Counted per principal (user or key) when there is one, else per client address. Memory storage by
default; Redis when the cache backend is Redis, so every worker shares the counts. Every limited
response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds), and
a 429 also ``Retry-After``.

Endpoint class: the route's ``ctx_rate`` (``login``, ``read``, ``write``, ``heavy``) if it declares
one, else ``read`` for GET/HEAD, ``heavy`` for the operations that start work (documented as honouring
``Idempotency-Key``: backtests, optimisations, workflows, sessions), ``write`` for the rest.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.problems import problem
from gpt_trader_core.errors import ConfigurationError

KEY_PREFIX = "gpt-trader:ratelimit"


class RateLimits:
    def __init__(self, limits: dict[str, str], *, redis_url: str | None = None, key_prefix: str = KEY_PREFIX) -> None:
        try:
            self._items: dict[str, RateLimitItem] = {name: parse(text) for name, text in limits.items()}
        except ValueError as exc:
            raise ConfigurationError(f"bad rate limit in api.rate_limits: {exc} (write e.g. 10/minute)") from exc
        missing = {"login", "read", "write", "heavy"} - set(self._items)
        if missing:
            raise ConfigurationError(f"api.rate_limits lacks {', '.join(sorted(missing))}")
        self._redis_url = redis_url
        self._key_prefix = key_prefix
        self._limiter: MovingWindowRateLimiter | None = None
        self.storage: Storage | None = None

    def _ensure(self) -> MovingWindowRateLimiter:
        # Built on first use, inside the serving event loop (the Redis client binds to it).
        if self._limiter is None:
            if self._redis_url:
                uri = "async+" + self._redis_url
                self.storage = RedisStorage(uri, implementation="redispy", key_prefix=self._key_prefix)
            else:
                self.storage = MemoryStorage()
            self._limiter = MovingWindowRateLimiter(self.storage)
        return self._limiter

    def endpoint_class(self, request: Request) -> str:
        route = request.route
        declared = getattr(route.ctx, "rate", None) if route is not None else None
        if declared in self._items:
            return str(declared)
        if request.method in ("GET", "HEAD"):
            return "read"
        # POSTs that start work honour Idempotency-Key; the REST API's contract (openapi.doc) says which.
        contract = getattr(route.handler, "__openapi__", None) if route is not None else None
        return "heavy" if getattr(contract, "idempotent", False) else "write"

    async def check(self, request: Request) -> HTTPResponse | None:
        limiter = self._ensure()
        kind = self.endpoint_class(request)
        item = self._items[kind]
        principal = getattr(request.ctx, "principal", None)
        who = f"{principal.kind}:{principal.subject}" if principal is not None else f"ip:{client_address(request)}"
        allowed = await limiter.hit(item, kind, who)
        stats = await limiter.get_window_stats(item, kind, who)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(item.amount),
            "RateLimit-Remaining": str(max(0, stats.remaining)),
            "RateLimit-Reset": str(reset),
        }
        request.ctx.rate_headers = headers
        if allowed:
            return None
        return problem(
            429,
            "Too Many Requests",
            f"rate limit of {item.amount} per {item.get_expiry()} s for {kind} requests exceeded; retry in {reset} s",
            type_="/problems/rate-limited",
            headers={**headers, "Retry-After": str(max(1, reset))},
        )

    async def close(self) -> None:
        """Release the Redis connections (counters stay in Redis; memory counters stay in this object,
        and the next request after a restart of the serving loop reconnects)."""
        storage = self.storage
        if isinstance(storage, RedisStorage):
            self.storage, self._limiter = None, None
            client = getattr(storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()


def client_address(request: Request) -> str:
    """The peer address; behind a proxy, Sanic's ``PROXIES_COUNT``/``REAL_IP_HEADER`` make it the client's."""
    return request.remote_addr or request.ip or "unknown"
