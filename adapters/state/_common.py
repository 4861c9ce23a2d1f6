"""What both state adapters must say and check identically (errors, argument checks)."""

from __future__ import annotations

from typing import Any

from gpt_trader_core.domain.records import ExecutionStatus, SessionStatus
from gpt_trader_core.errors import ConflictError, InvalidParameterError, NotFoundError, SessionNotHeldError


def backtest_not_found(record_id: str) -> NotFoundError:
    return NotFoundError(f"backtest {record_id!r} not found: no saved backtest has this id (list them to check)")


def execution_not_found(execution_id: str) -> NotFoundError:
    return NotFoundError(f"execution {execution_id!r} not found: no execution has this id (list them to check)")


def execution_exists(execution_id: str) -> ConflictError:
    return ConflictError(
        f"execution {execution_id!r} already exists: add it under a new id, or update the existing one"
    )


def model_not_found(name: str) -> NotFoundError:
    return NotFoundError(f"model {name!r} not found: no trained model is saved under this name (list them to check)")


def study_not_found(study_id: str) -> NotFoundError:
    return NotFoundError(f"study {study_id!r} not found: no saved study has this id (list them to check)")


def trials_without_study(study_id: str) -> NotFoundError:
    return NotFoundError(
        f"study {study_id!r} not found: cannot store trials of a study that was never saved (call save_study first)"
    )


def session_not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"session {session_id!r} not found: no trading session has this id (list them to check)")


def check_holder(session_id: str, stored_owner: str | None, owner: str | None) -> None:
    """``commit_bar``'s fencing: only the session's stored owner stores its bars."""
    if stored_owner != owner:
        raise SessionNotHeldError(
            f"session {session_id!r} is held by {stored_owner or 'nobody (stopped or released)'}, not by "
            f"{owner}: this bar is not stored"
        )


def same_claim(stored: dict[str, Any] | None, expected_owner: str | None, expected_last_bar: int) -> bool:
    """``swap_session``'s compare: the stored row still has the expected owner and last bar (or none is stored)."""
    return stored is None or (stored["owner"] == expected_owner and int(stored["last_bar"]) == expected_last_bar)


def order_of_another_session(client_order_id: str, owner: str, session_id: str) -> ConflictError:
    return ConflictError(
        f"order {client_order_id!r} belongs to session {owner!r}, not {session_id!r}: "
        "client order ids are unique across sessions (give the order a new id)"
    )


def not_open(store: object) -> RuntimeError:
    return RuntimeError(f"{type(store).__name__} is not open: call `await store.open()` first")


def check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidParameterError(f"limit must be an integer >= 0, got {limit!r}")
    return limit


def check_status(status: Any) -> ExecutionStatus | None:
    if status is None:
        return None
    try:
        return ExecutionStatus(status)
    except ValueError:
        valid = ", ".join(member.value for member in ExecutionStatus)
        raise InvalidParameterError(f"unknown execution status {status!r}: use one of {valid}") from None


def check_session_status(status: Any) -> SessionStatus | None:
    if status is None:
        return None
    try:
        return SessionStatus(status)
    except ValueError:
        valid = ", ".join(member.value for member in SessionStatus)
        raise InvalidParameterError(f"unknown session status {status!r}: use one of {valid}") from None
