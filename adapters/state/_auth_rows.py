"""Rows of the authentication tables (migration 8), shared by the SQLite and in-memory stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gpt_trader_core.domain.auth import ApiKey, RefreshToken, Role, User, UserExistsError
from gpt_trader_core.errors import ConflictError, NotFoundError

USER_COLUMNS = ("username", "role", "password_hash", "created_at", "updated_at")
KEY_COLUMNS = (
    "id",
    "name",
    "role",
    "secret_hash",
    "created_at",
    "created_by",
    "expires_at",
    "revoked_at",
    "last_used_at",
)
TOKEN_COLUMNS = ("jti", "family", "subject", "issued_at", "expires_at", "used_at")


def _text(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _required(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def user_row(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "created_at": _text(user.created_at),
        "updated_at": _text(user.updated_at),
    }


def user_from_row(row: Any) -> User:
    return User(
        row["username"],
        Role(row["role"]),
        row["password_hash"],
        _required(row["created_at"]),
        _required(row["updated_at"]),
    )


def key_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role.value,
        "secret_hash": key.secret_hash,
        "created_at": _text(key.created_at),
        "created_by": key.created_by,
        "expires_at": _text(key.expires_at),
        "revoked_at": _text(key.revoked_at),
        "last_used_at": _text(key.last_used_at),
    }


def key_from_row(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        secret_hash=row["secret_hash"],
        created_at=_required(row["created_at"]),
        created_by=row["created_by"],
        expires_at=_time(row["expires_at"]),
        revoked_at=_time(row["revoked_at"]),
        last_used_at=_time(row["last_used_at"]),
    )


def token_row(token: RefreshToken) -> dict[str, Any]:
    return {
        "jti": token.jti,
        "family": token.family,
        "subject": token.subject,
        "issued_at": _text(token.issued_at),
        "expires_at": _text(token.expires_at),
        "used_at": _text(token.used_at),
    }


def token_from_row(row: Any, family_revoked_at: str | None) -> RefreshToken:
    return RefreshToken(
        jti=row["jti"],
        family=row["family"],
        subject=row["subject"],
        issued_at=_required(row["issued_at"]),
        expires_at=_required(row["expires_at"]),
        used_at=_time(row["used_at"]),
        family_revoked_at=_time(family_revoked_at),
    )


def time_text(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds")


def user_exists(username: str) -> UserExistsError:
    return UserExistsError(f"user {username!r} already exists: pick another name, or change its password with passwd")


def user_not_found(username: str) -> NotFoundError:
    return NotFoundError(f"user {username!r} not found (list them with `gpt-trader users list`)")


def key_exists(key_id: str) -> ConflictError:
    return ConflictError(f"API key id {key_id!r} already exists: create the key again")


def key_not_found(key_id: str) -> NotFoundError:
    return NotFoundError(f"API key {key_id!r} not found (list them with `gpt-trader keys list`)")


def token_exists(jti: str) -> ConflictError:
    return ConflictError(f"refresh token {jti!r} already stored")


def token_not_found(jti: str) -> NotFoundError:
    return NotFoundError(f"refresh token {jti!r} not found")


def family_of_another_subject(family: str) -> ConflictError:
    return ConflictError(f"refresh family {family!r} belongs to another subject")
