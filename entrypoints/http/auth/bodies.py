"""Request and response bodies of the auth, users and keys routes; this edge's cattrs converter."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.auth.problems import problem
from gpt_trader_core.domain.auth import ApiKey, TokenPair, User

T = TypeVar("T")

_converter = make_converter(forbid_extra_keys=True)


@attrs.frozen
class LoginRequest:
    username: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class RefreshRequest:
    refresh_token: str = attrs.field(repr=False)


@attrs.frozen
class NewUserRequest:
    username: str
    role: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class PasswordRequest:
    password: str = attrs.field(repr=False)


@attrs.frozen
class NewKeyRequest:
    name: str
    role: str
    expires: str | None = None  # 90d, 12h ... or none for a key that does not expire


class BadBodyError(Exception):
    def __init__(self, response: HTTPResponse) -> None:
        self.response = response


def parse(request: Request, cls: type[T]) -> T:
    """The JSON body as ``cls``; raises ``BadBodyError`` holding a 400 problem naming each bad field."""
    try:
        data: Any = request.json
    except Exception:  # Sanic raises its own error for broken JSON
        data = None
    if not isinstance(data, dict):
        raise BadBodyError(problem(400, "Bad Request", "the body must be a JSON object", type_="/problems/bad-request"))
    try:
        return _converter.structure(data, cls)
    except cattrs.ClassValidationError as error:
        messages = cattrs.transform_error(error, path="body")
        errors = [{"field": message.partition(" @ ")[2] or "body", "message": message} for message in messages]
        raise BadBodyError(
            problem(400, "Bad Request", "; ".join(messages), type_="/problems/bad-request", errors=errors)
        ) from None


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def token_body(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
    }


def user_body(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role.value,
        "created_at": _time(user.created_at),
        "updated_at": _time(user.updated_at),
    }


def key_body(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role.value,
        "created_at": _time(key.created_at),
        "created_by": key.created_by,
        "expires_at": _time(key.expires_at),
        "revoked_at": _time(key.revoked_at),
        "last_used_at": _time(key.last_used_at),
    }
