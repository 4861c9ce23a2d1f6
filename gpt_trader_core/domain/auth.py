"""Who may do what: roles, principals, users, API keys and refresh-token records.

Values only; the use case is ``gpt_trader_core.services.auth.Authentication``. Passwords and key
secrets never appear here in clear: a ``User`` holds its password hash, an ``ApiKey`` the SHA-256 of
its secret.
"""

from __future__ import annotations

import datetime as dt
import enum
import re

import attrs

from gpt_trader_core.errors import ConflictError, GptTraderError, InvalidParameterError


class Role(enum.Enum):
    """What a principal may do, weakest first. ``public`` is only ever required by a route (no
    credentials needed); no user or key has it."""

    PUBLIC = "public"
    VIEWER = "viewer"  # reads
    TRADER = "trader"  # backtests, optimisations, sessions, orders, workflows
    ADMIN = "admin"  # users, keys, cache clear, settings

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """True if a principal with this role may use something that needs ``needed``."""
        return _RANK[self] >= _RANK[needed]

    @classmethod
    def parse(cls, text: str, *, assignable: bool = False) -> Role:
        """The role named ``text``; with ``assignable``, only the roles a user or key can hold."""
        choices = [role for role in cls if not (assignable and role is cls.PUBLIC)]
        for role in choices:
            if role.value == str(text).strip().lower():
                return role
        names = ", ".join(role.value for role in choices)
        raise InvalidParameterError(f"unknown role {text!r}: use one of {names}")


_RANK = {Role.PUBLIC: 0, Role.VIEWER: 1, Role.TRADER: 2, Role.ADMIN: 3}


@attrs.frozen
class Principal:
    """The authenticated caller of one request.

    ``subject`` is the user name, the API key's id, or ``local`` when auth is off; ``kind`` is
    ``user``, ``api_key`` or ``local``; ``session`` is the refresh-token family a user's access token
    belongs to (what logout ends), ``None`` for keys.
    """

    subject: str
    role: Role
    kind: str
    session: str | None = None


#: The principal of every request when auth is disabled (loopback binds only).
LOCAL_ADMIN = Principal("local", Role.ADMIN, "local")

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_username(name: str) -> str:
    if not isinstance(name, str) or not _USERNAME.match(name):
        raise InvalidParameterError(
            f"bad user name {name!r}: 1-64 characters, letters, digits and _ . @ -, starting with a letter or digit"
        )
    return name


@attrs.frozen
class User:
    """A person who logs in. ``password_hash`` is the hasher's encoded string (Argon2id)."""

    username: str = attrs.field(validator=lambda _i, _a, v: check_username(v))
    role: Role
    password_hash: str = attrs.field(repr=False)
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen
class ApiKey:
    """A key for programs. The key text is ``gtk_<id>_<secret>``; only ``secret_hash`` (SHA-256 hex of
    the whole key) is stored, and ``id`` is the lookup prefix. ``expires_at``/``revoked_at``/
    ``last_used_at`` are ``None`` when not set / not revoked / never used."""

    id: str
    name: str
    role: Role
    secret_hash: str = attrs.field(repr=False)
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None

    def usable_at(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@attrs.frozen
class RefreshToken:
    """One issued refresh token. Tokens of one login form a ``family``: each refresh uses one and
    issues the next. ``used_at`` is when it was exchanged; ``family_revoked_at`` when its family
    was ended (logout, reuse detected, user removed)."""

    jti: str
    family: str
    subject: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None = None
    family_revoked_at: dt.datetime | None = None


@attrs.frozen
class TokenClaims:
    """What a signed token says. ``type`` is ``access`` or ``refresh``; ``family`` is the refresh
    family (both token types carry it)."""

    subject: str
    type: str
    jti: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    family: str | None = None


@attrs.frozen
class TokenPair:
    """What a login or refresh answers."""

    access_token: str = attrs.field(repr=False)
    refresh_token: str = attrs.field(repr=False)
    expires_in: int
    refresh_expires_in: int
    token_type: str = "bearer"


@attrs.frozen
class AuthPolicy:
    """The tunable parts of authentication, all durations in seconds.

    ``max_failures`` failed logins (per user name, and per client address) within ``failure_window``
    lock that name/address for ``lockout``; before that, every failure beyond the first waits
    ``failure_delay * 2**(n-2)`` seconds (capped at 2 s) before answering. ``record_cache_ttl``: how long
    one process reuses a user or key record it read to authenticate a request (0: read the store on
    every request); a removal, revocation or role change made in another process is seen after at most
    this long, one made through the same process at once.
    """

    access_ttl: int = 900
    refresh_ttl: int = 2_592_000
    max_failures: int = 5
    failure_window: float = 900.0
    lockout: float = 900.0
    failure_delay: float = 0.25
    key_touch_interval: float = 60.0  # last use of a key is written at most this often
    record_cache_ttl: float = 1.0  # see Authentication: user/key records reused this long per process


# -- errors ------------------------------------------------------------------------------------------


class AuthenticationError(GptTraderError):
    """No valid credentials: missing, malformed, expired or revoked (HTTP 401)."""

    code = "unauthenticated"
    http_status = 401
    exit_code = 3


class InvalidCredentialsError(AuthenticationError):
    """Wrong user name or password; one message for both, on purpose."""

    code = "invalid_credentials"


class LockedOutError(AuthenticationError):
    """Too many failed logins for this user or address; ``retry_after`` seconds to wait."""

    code = "locked_out"
    http_status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDeniedError(GptTraderError):
    """Valid credentials, but a role too weak for the operation (HTTP 403)."""

    code = "forbidden"
    http_status = 403
    exit_code = 3


class UserExistsError(ConflictError):
    code = "user_exists"
