"""The authentication use case: users, logins, rotating refresh tokens, API keys, security events.

Every driver goes through ``Authentication``: the HTTP middleware to turn a bearer token or an API key
into a ``Principal``, the auth routes to log in / refresh / log out, the CLI to manage users and keys.
It takes its ports in the constructor; hashing and token signing are adapters (Argon2id, pyjwt).

Security events (``login_succeeded``, ``login_failed``, ``login_locked``, ``refresh_reused``,
``user_added``/``user_removed``/``password_changed``, ``api_key_created``/``api_key_revoked``) are
published on the bus topic ``system:events`` and written as one ``security_event=...`` log line each.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from gpt_trader_core.domain.auth import (
    ApiKey,
    AuthenticationError,
    AuthPolicy,
    InvalidCredentialsError,
    LockedOutError,
    Principal,
    RefreshToken,
    Role,
    TokenClaims,
    TokenPair,
    User,
    check_username,
)
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError
from gpt_trader_core.ports import (
    ApiKeyStore,
    EventBus,
    LoginLockouts,
    PasswordHasher,
    RefreshTokenStore,
    TokenCodec,
    UserStore,
)

__all__ = ["SECURITY_TOPIC", "Authentication", "LoginThrottle", "parse_duration"]

log = logging.getLogger("gpt_trader.security")

SECURITY_TOPIC = "system:events"
KEY_PREFIX = "gtk_"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # Argon2 hashes anything, but a megabyte "password" is a denial of service


def parse_duration(text: str) -> dt.timedelta:
    """``90d``, ``12h``, ``30m`` or ``45s`` → a timedelta."""
    units = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
    value = str(text).strip().lower()
    if len(value) >= 2 and value[-1] in units and value[:-1].isdigit() and int(value[:-1]) > 0:
        return dt.timedelta(seconds=int(value[:-1]) * units[value[-1]])
    raise InvalidParameterError(f"bad duration {text!r}: use a positive number with d, h, m or s, such as 90d")


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidParameterError(f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def key_digest(key: str) -> str:
    """SHA-256 of an API key. A key carries 256 random bits, so a fast hash is enough (no dictionary
    to attack) and keeps the per-request check in microseconds, where Argon2 would cost milliseconds."""
    return hashlib.sha256(key.encode()).hexdigest()


def failure_delay(policy: AuthPolicy, failures: int) -> float:
    """Seconds to wait before answering the ``failures``-th failed login in a row (0 for the first)."""
    return 0.0 if failures < 2 else min(2.0, policy.failure_delay * 2 ** (failures - 2))


@attrs.define
class _Failures:
    count: int = 0
    first: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """Failed logins per user name and per client address, in this process (the ``LoginLockouts``
    port; several workers share theirs on Redis: ``adapters.security.redis_lockouts``).

    ``check`` raises ``LockedOutError`` while a name or address is locked; ``failed`` counts a failure
    and returns how long to wait before answering (a growing delay), locking at ``max_failures``.
    """

    def __init__(self, policy: AuthPolicy, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._now = monotonic
        self._failures: dict[str, _Failures] = {}
        #: The hash unknown user names are verified against (made once; see ``Authentication.prepare``).
        self.stand_in_hash: str | None = None

    async def check(self, *keys: str) -> None:
        now = self._now()
        for key in keys:
            entry = self._failures.get(key)
            if entry is not None and entry.locked_until > now:
                raise LockedOutError(
                    "too many failed logins: try again later", retry_after=round(entry.locked_until - now, 3)
                )

    async def failed(self, *keys: str) -> tuple[float, bool]:
        """Count one failure on each key; (delay before answering, whether a lock just started)."""
        now, policy = self._now(), self._policy
        worst, locked = 0, False
        for key in keys:
            entry = self._failures.setdefault(key, _Failures(first=now))
            if now - entry.first > policy.failure_window:
                entry.count, entry.first = 0, now
            entry.count += 1
            worst = max(worst, entry.count)
            if entry.count >= policy.max_failures:
                entry.locked_until = now + policy.lockout
                entry.count, entry.first = 0, now
                locked = True
        if len(self._failures) > 100_000:  # bound memory under a spray of addresses
            self._failures = {k: v for k, v in self._failures.items() if v.locked_until > now}
        return failure_delay(policy, worst), locked

    async def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


class Authentication:
    """Logins, token rotation, API keys and user management (see the module docstring)."""

    def __init__(
        self,
        users: UserStore,
        keys: ApiKeyStore,
        refresh_tokens: RefreshTokenStore,
        hasher: PasswordHasher,
        codec: TokenCodec,
        bus: EventBus,
        *,
        policy: AuthPolicy | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        throttle: LoginLockouts | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._keys = keys
        self._refresh = refresh_tokens
        self._hasher = hasher
        self._codec = codec
        self._bus = bus
        self.policy = policy or AuthPolicy()
        self._now = now
        self._sleep = sleep
        self._throttle: LoginLockouts = throttle or LoginThrottle(self.policy)
        # Records read to authenticate requests, reused for policy.record_cache_ttl seconds: the store
        # lookup (a thread hop for SQLite) is most of a request's auth cost on a busy machine.
        self._monotonic = monotonic
        self._records: dict[str, tuple[float, User | ApiKey]] = {}

    # -- logins and tokens -------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Make the stand-in hash unknown users are checked against, so even the first such login
        costs one verification, like a wrong password (call once at server start)."""
        await self._dummy()

    async def login(self, username: str, password: str, *, client: str = "unknown") -> TokenPair:
        """Tokens for a correct user name and password. Unknown user and wrong password get the same
        error after the same work (one Argon2 verification)."""
        username = str(username)[:256]  # bounds what the throttle keeps per attempt (no real name is longer)
        throttle_keys = (f"user:{username}", f"ip:{client}")
        try:
            await self._throttle.check(*throttle_keys)
        except LockedOutError:
            await self._event("login_locked", user=username, client=client)
            raise
        user = await self._find_user(username)
        encoded = user.password_hash if user is not None else await self._dummy()
        ok = await self._hasher.verify(encoded, str(password)[:MAX_PASSWORD]) and user is not None
        if not ok or user is None:
            delay, locked = await self._throttle.failed(*throttle_keys)
            await self._event("login_failed", user=username, client=client, locked=locked)
            if delay:
                await self._sleep(delay)
            raise InvalidCredentialsError("invalid user name or password")
        await self._throttle.succeeded(*throttle_keys)
        pair = await self._issue(user.username, family=secrets.token_urlsafe(12))
        await self._event("login_succeeded", user=user.username, client=client)
        return pair

    async def refresh(self, refresh_token: str, *, client: str = "unknown") -> TokenPair:
        """Exchange a refresh token for a new pair. Each works once: presenting a used one ends its
        whole family (both the thief's and the owner's next refresh fail) and raises ``refresh_reused``."""
        claims = self._codec.decode(refresh_token, "refresh")
        now = self._now()
        try:
            stored = await self._refresh.use_refresh_token(claims.jti, now)
        except NotFoundError:
            raise AuthenticationError("refresh token not recognised: log in again") from None
        if stored.family_revoked_at is not None:
            raise AuthenticationError("this login was ended (logout or token reuse): log in again")
        if stored.used_at is not None:
            await self._refresh.revoke_family(stored.family, now)
            await self._event("refresh_reused", user=stored.subject, client=client, family=stored.family)
            raise AuthenticationError("refresh token already used: every token of this login is now revoked")
        if await self._find_user(stored.subject) is None:
            raise AuthenticationError("the user of this token no longer exists")
        return await self._issue(stored.subject, family=stored.family)

    async def logout(self, principal: Principal) -> None:
        """End the login (refresh family) the principal's access token belongs to."""
        if principal.session is None:
            raise ConflictError("only a login session can log out; API keys are revoked with `keys revoke`")
        await self._refresh.revoke_family(principal.session, self._now())
        await self._event("logout", user=principal.subject)

    async def authenticate_token(self, token: str) -> Principal:
        """The principal of a bearer access token; the user must still exist (its current role counts)."""
        claims = self._codec.decode(token, "access")
        user = await self._cached_user(claims.subject)
        if user is None:
            raise AuthenticationError("the user of this token no longer exists")
        return Principal(user.username, user.role, "user", claims.family)

    async def authenticate_key(self, key: str) -> Principal:
        """The principal of an API key; revoked and expired keys are refused on their next use."""
        key_id = _key_id(key)
        stored = await self._cached_key(key_id)
        if stored is None:
            raise AuthenticationError("API key not recognised")
        if not hmac.compare_digest(stored.secret_hash, key_digest(key)):
            raise AuthenticationError("API key not recognised")
        now = self._now()
        if stored.revoked_at is not None:
            raise AuthenticationError("API key revoked")
        if stored.expires_at is not None and now >= stored.expires_at:
            raise AuthenticationError("API key expired: create a new one")
        last = stored.last_used_at
        if last is None or (now - last).total_seconds() >= self.policy.key_touch_interval:
            await self._keys.touch_api_key(stored.id, now)
            self._remember(f"key:{stored.id}", attrs.evolve(stored, last_used_at=now))
        return Principal(stored.id, stored.role, "api_key")

    # -- users -------------------------------------------------------------------------------------

    async def add_user(self, username: str, role: Role | str, password: str, *, by: str = "cli") -> User:
        role = role if isinstance(role, Role) else Role.parse(role, assignable=True)
        if role is Role.PUBLIC:
            raise InvalidParameterError("a user needs a role: viewer, trader or admin")
        now = self._now()
        user = User(check_username(username), role, await self._hasher.hash(check_password(password)), now, now)
        await self._users.add_user(user)
        await self._event("user_added", user=username, role=role.value, by=by)
        return user

    async def set_password(self, username: str, password: str, *, by: str = "cli") -> User:
        user = await self._users.get_user(username)
        now = self._now()
        user = attrs.evolve(user, password_hash=await self._hasher.hash(check_password(password)), updated_at=now)
        await self._users.update_user(user)
        self._records.pop(f"user:{username}", None)
        await self._refresh.revoke_families_of(username, now)  # other logins end with the old password
        await self._event("password_changed", user=username, by=by)
        return user

    async def remove_user(self, username: str, *, by: str = "cli") -> None:
        await self._users.delete_user(username)
        self._records.pop(f"user:{username}", None)
        await self._refresh.revoke_families_of(username, self._now())
        await self._event("user_removed", user=username, by=by)

    async def list_users(self) -> list[User]:
        return await self._users.list_users()

    async def get_user(self, username: str) -> User:
        return await self._users.get_user(username)

    # -- API keys ----------------------------------------------------------------------------------

    async def create_key(
        self, name: str, role: Role | str, *, expires_in: dt.timedelta | None = None, by: str = "cli"
    ) -> tuple[ApiKey, str]:
        """A new key and its text, which is shown once and never stored."""
        role = role if isinstance(role, Role) else Role.parse(role, assignable=True)
        if not str(name).strip() or len(name) > 100:
            raise InvalidParameterError("an API key needs a name of 1 to 100 characters (what uses it)")
        key_id = secrets.token_hex(6)
        text = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        now = self._now()
        key = ApiKey(
            id=key_id,
            name=name.strip(),
            role=role,
            secret_hash=key_digest(text),
            created_at=now,
            created_by=by,
            expires_at=now + expires_in if expires_in is not None else None,
        )
        await self._keys.add_api_key(key)
        await self._event("api_key_created", key=key_id, name=key.name, role=role.value, by=by)
        return key, text

    async def revoke_key(self, key_id: str, *, by: str = "cli") -> ApiKey:
        key = await self._keys.revoke_api_key(_key_id(key_id) if key_id.startswith(KEY_PREFIX) else key_id, self._now())
        self._records.pop(f"key:{key.id}", None)
        await self._event("api_key_revoked", key=key.id, by=by)
        return key

    async def list_keys(self) -> list[ApiKey]:
        return await self._keys.list_api_keys()

    # -- internals ---------------------------------------------------------------------------------

    async def _issue(self, subject: str, *, family: str) -> TokenPair:
        now, policy = self._now(), self.policy
        refresh = RefreshToken(
            jti=secrets.token_urlsafe(16),
            family=family,
            subject=subject,
            issued_at=now,
            expires_at=now + dt.timedelta(seconds=policy.refresh_ttl),
        )
        await self._refresh.add_refresh_token(refresh)
        access = TokenClaims(
            subject, "access", secrets.token_urlsafe(16), now, now + dt.timedelta(seconds=policy.access_ttl), family
        )
        refresh_claims = TokenClaims(subject, "refresh", refresh.jti, now, refresh.expires_at, family)
        return TokenPair(
            access_token=self._codec.encode(access),
            refresh_token=self._codec.encode(refresh_claims),
            expires_in=policy.access_ttl,
            refresh_expires_in=policy.refresh_ttl,
        )

    async def _cached_user(self, username: str) -> User | None:
        hit = self._recall(f"user:{username}")
        if isinstance(hit, User):
            return hit
        user = await self._find_user(username)
        if user is not None:
            self._remember(f"user:{username}", user)
        return user

    async def _cached_key(self, key_id: str) -> ApiKey | None:
        hit = self._recall(f"key:{key_id}")
        if isinstance(hit, ApiKey):
            return hit
        try:
            key = await self._keys.get_api_key(key_id)
        except NotFoundError:
            return None
        self._remember(f"key:{key_id}", key)
        return key

    def _recall(self, name: str) -> User | ApiKey | None:
        entry = self._records.get(name)
        if entry is None or self._monotonic() - entry[0] >= self.policy.record_cache_ttl:
            return None
        return entry[1]

    def _remember(self, name: str, record: User | ApiKey) -> None:
        if self.policy.record_cache_ttl <= 0:
            return
        if len(self._records) >= 10_000:
            self._records.clear()
        self._records[name] = (self._monotonic(), record)

    async def _find_user(self, username: str) -> User | None:
        try:
            return await self._users.get_user(username)
        except NotFoundError:
            return None

    async def _dummy(self) -> str:
        # Unknown users are verified against this hash: the same work, the same timing as a wrong password.
        if self._throttle.stand_in_hash is None:
            self._throttle.stand_in_hash = await self._hasher.hash(secrets.token_urlsafe(16))
        return self._throttle.stand_in_hash

    async def _event(self, type_: str, **data: Any) -> None:
        fields = " ".join(f"{key}={value}" for key, value in data.items())
        level = logging.WARNING if type_ in ("login_failed", "login_locked", "refresh_reused") else logging.INFO
        log.log(level, "security_event=%s %s", type_, fields)
        await self._bus.publish(SECURITY_TOPIC, type_, data)


def _key_id(key: str) -> str:
    """The lookup prefix of ``gtk_<id>_<secret>``; anything else is refused without a store lookup."""
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX) or len(key) > 200:
        raise AuthenticationError("malformed API key: expected gtk_<id>_<secret>")
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret or not all(c in "0123456789abcdef" for c in key_id):
        raise AuthenticationError("malformed API key: expected gtk_<id>_<secret>")
    return key_id
