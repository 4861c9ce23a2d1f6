"""A server's cache, users and API keys, behind the methods the CLI's ``cache``, ``users`` and ``keys``
commands call locally (the cache adapter's ``stats``/``clear``, ``Authentication``'s user and key methods).

The server never sends a password hash or a key's secret hash: the ``User`` and ``ApiKey`` values built
here carry an empty hash, which nothing on the client reads (they are shown, never verified, here).
The server also records who did each change: the principal of the request, whatever ``by`` says here.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from adapters.remote.client import RemoteClient
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from gpt_trader_core.domain.auth import ApiKey, Role, User
    from gpt_trader_core.ports import CacheStats

#: What the server keeps instead of a hash it does not send (see the module docstring).
NOT_SENT = ""


def _time(value: str | None) -> dt.datetime | None:
    """The auth routes' times (``...Z``, UTC) as the naive UTC datetimes the store keeps."""
    if value is None:
        return None
    return dt.datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=None)


def _stamp(data: Mapping[str, Any], name: str) -> dt.datetime:
    """A time every stored user and key has (the server sends it for each)."""
    value = _time(data.get(name))
    if value is None:
        from adapters.remote.errors import RemoteError

        raise RemoteError(f"the server's answer lacks {name}: is it the same gpt-trader version as this command?")
    return value


def _segment(value: str) -> str:
    return quote(value, safe="")


class RemoteCacheAdmin:
    """The server's cache: its statistics (``GET /api/v1/system/cache/stats``, viewer) and clearing
    (``POST /api/v1/system/cache/clear``, admin) — the two cache operations the API exposes."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    async def stats(self) -> CacheStats:
        data = await self._client.call("GET", "/api/v1/system/cache/stats")
        from gpt_trader_core.ports import CacheStats

        return CacheStats(
            backend=str(data["backend"]),
            hits=int(data["hits"]),
            misses=int(data["misses"]),
            sets=int(data["sets"]),
            entries={str(k): int(v) for k, v in data["entries"].items()},
        )

    async def clear(self, kind: str | None = None) -> int:
        data = await self._client.call("POST", "/api/v1/system/cache/clear", body={"kind": kind} if kind else {})
        return int(data["dropped"])


class RemoteAuth:
    """``Authentication``'s user and key administration on the server (``/api/v1/users``, ``/api/v1/keys``,
    admin role)."""

    def __init__(self, client: RemoteClient) -> None:
        self._client = client

    # -- users --

    async def add_user(self, username: str, role: Role | str, password: str, *, by: str = "cli") -> User:
        body = {"username": username, "role": getattr(role, "value", role), "password": password}
        return _user(await self._client.call("POST", "/api/v1/users", body=body))

    async def set_password(self, username: str, password: str, *, by: str = "cli") -> User:
        await self._client.call("PUT", f"/api/v1/users/{_segment(username)}/password", body={"password": password})
        return await self.get_user(username)

    async def remove_user(self, username: str, *, by: str = "cli") -> None:
        await self._client.call("DELETE", f"/api/v1/users/{_segment(username)}")

    async def list_users(self) -> builtins.list[User]:
        data = await self._client.call("GET", "/api/v1/users")
        return [_user(item) for item in data["items"]]

    async def get_user(self, username: str) -> User:
        return _user(await self._client.call("GET", f"/api/v1/users/{_segment(username)}"))

    # -- API keys --

    async def create_key(
        self, name: str, role: Role | str, *, expires_in: dt.timedelta | None = None, by: str = "cli"
    ) -> tuple[ApiKey, str]:
        body: dict[str, Any] = {"name": name, "role": getattr(role, "value", role)}
        if expires_in is not None:  # the route takes the CLI's own syntax: whole seconds say it exactly
            body["expires"] = f"{max(1, round(expires_in.total_seconds()))}s"
        data = await self._client.call("POST", "/api/v1/keys", body=body)
        return _key(data), str(data["key"])

    async def revoke_key(self, key_id: str, *, by: str = "cli") -> ApiKey:
        """By id, or by the key's text: only its id (the part before the secret) leaves this machine."""
        from gpt_trader_core.services.auth import KEY_PREFIX

        if key_id.startswith(KEY_PREFIX):
            key_id, sep, secret = key_id[len(KEY_PREFIX) :].partition("_")
            if not sep or not key_id or not secret:
                raise InvalidParameterError("malformed API key: expected gtk_<id>_<secret>")
        return _key(await self._client.call("DELETE", f"/api/v1/keys/{_segment(key_id)}"))

    async def list_keys(self) -> builtins.list[ApiKey]:
        data = await self._client.call("GET", "/api/v1/keys")
        return [_key(item) for item in data["items"]]


def _user(data: Mapping[str, Any]) -> User:
    from gpt_trader_core.domain.auth import Role, User

    return User(
        username=str(data["username"]),
        role=Role(data["role"]),
        password_hash=NOT_SENT,
        created_at=_stamp(data, "created_at"),
        updated_at=_stamp(data, "updated_at"),
    )


def _key(data: Mapping[str, Any]) -> ApiKey:
    from gpt_trader_core.domain.auth import ApiKey, Role

    return ApiKey(
        id=str(data["id"]),
        name=str(data["name"]),
        role=Role(data["role"]),
        secret_hash=NOT_SENT,
        created_at=_stamp(data, "created_at"),
        created_by=str(data.get("created_by") or ""),
        expires_at=_time(data.get("expires_at")),
        revoked_at=_time(data.get("revoked_at")),
        last_used_at=_time(data.get("last_used_at")),
    )
