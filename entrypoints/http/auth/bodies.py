"""Request and response bodies of the auth, users and keys routes; this edge's cattrs converter."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from sanic import Request
from sanic.response import HTTPResponse

from entrypoints.http.problems import problem
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


# -- responses (also the OpenAPI schemas of these routes) ------------------------------------------------


@attrs.frozen
class TokenResponse:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    refresh_expires_in: int


@attrs.frozen
class PrincipalView:
    subject: str
    role: str
    kind: str


@attrs.frozen
class UserView:
    username: str
    role: str
    created_at: str | None
    updated_at: str | None


@attrs.frozen
class UserPage:
    items: tuple[UserView, ...]


@attrs.frozen
class KeyView:
    id: str
    name: str
    role: str
    created_at: str | None
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


@attrs.frozen
class KeyPage:
    items: tuple[KeyView, ...]


@attrs.frozen
class CreatedKeyView(KeyView):
    key: str = ""  # the key itself: in this answer only


def plain(value: Any) -> Any:
    """A response value as JSON-ready data."""
    return _converter.unstructure(value)


def token_view(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        pair.access_token, pair.refresh_token, pair.token_type, pair.expires_in, pair.refresh_expires_in
    )


def user_view(user: User) -> UserView:
    return UserView(user.username, user.role.value, _time(user.created_at), _time(user.updated_at))


def key_view(key: ApiKey) -> KeyView:
    return KeyView(
        key.id,
        key.name,
        key.role.value,
        _time(key.created_at),
        key.created_by,
        _time(key.expires_at),
        _time(key.revoked_at),
        _time(key.last_used_at),
    )


def created_key_view(key: ApiKey, text: str) -> CreatedKeyView:
    return CreatedKeyView(**attrs.asdict(key_view(key)), key=text)
