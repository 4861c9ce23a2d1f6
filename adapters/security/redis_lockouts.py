"""Failed-login lockouts on Redis (the ``LoginLockouts`` port): every server worker sees the same
failures and locks, so spreading guesses over workers gains an attacker nothing.

Keys (under ``namespace``): ``{ns}:count:{key}`` counts failures and expires ``failure_window`` after
the first; at ``max_failures`` it is dropped and ``{ns}:lock:{key}`` is set for ``lockout`` seconds.
One Lua script per ``failed``/``check``, so concurrent failures on several workers count exactly.
"""

from __future__ import annotations

from typing import Any

from gpt_trader_core.domain.auth import AuthPolicy, LockedOutError
from gpt_trader_core.services.auth import failure_delay

_FAILED = """
local worst, locked = 0, 0
for i = 1, #KEYS do
  local count_key = ARGV[1] .. ':count:' .. KEYS[i]
  local n = redis.call('INCR', count_key)
  if n == 1 then redis.call('PEXPIRE', count_key, ARGV[2]) end
  if n > worst then worst = n end
  if n >= tonumber(ARGV[3]) then
    redis.call('SET', ARGV[1] .. ':lock:' .. KEYS[i], '1', 'PX', ARGV[4])
    redis.call('DEL', count_key)
    locked = 1
  end
end
return {worst, locked}
"""
_CHECK = """
local longest = 0
for i = 1, #KEYS do
  local ttl = redis.call('PTTL', ARGV[1] .. ':lock:' .. KEYS[i])
  if ttl > longest then longest = ttl end
end
return longest
"""


class RedisLoginLockouts:
    """``LoginLockouts`` shared by every process on one Redis (see the module docstring)."""

    def __init__(self, policy: AuthPolicy, url: str, *, namespace: str = "gpt-trader:logins") -> None:
        import redis.asyncio as aioredis

        self._policy = policy
        self._ns = namespace
        # Typed Any: redis-py's stubs type replies as unions of every reply shape. Connects lazily.
        self._redis: Any = aioredis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
        self._failed: Any = self._redis.register_script(_FAILED)
        self._check: Any = self._redis.register_script(_CHECK)
        #: The hash unknown user names are verified against (made once; see ``Authentication.prepare``).
        self.stand_in_hash: str | None = None

    async def check(self, *keys: str) -> None:
        left_ms = int(await self._check(keys=list(keys), args=[self._ns]))
        if left_ms > 0:
            raise LockedOutError("too many failed logins: try again later", retry_after=round(left_ms / 1000, 3))

    async def failed(self, *keys: str) -> tuple[float, bool]:
        policy = self._policy
        worst, locked = await self._failed(
            keys=list(keys),
            args=[self._ns, int(policy.failure_window * 1000), policy.max_failures, int(policy.lockout * 1000)],
        )
        return failure_delay(policy, int(worst)), bool(locked)

    async def succeeded(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(f"{self._ns}:count:{key}" for key in keys))
