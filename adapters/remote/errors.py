"""Why a call to a gpt-trader server did not give an answer: each error is one line that says what to do."""

from __future__ import annotations

from gpt_trader_core.errors import GptTraderError


class RemoteError(GptTraderError):
    """The server could not be reached, or refused the credentials (exit code 3)."""

    exit_code = 3
    http_status = 502


class RemoteUnreachableError(RemoteError):
    """No answer: connection refused, name not resolved, timed out, or not a gpt-trader server."""


class RemoteRefusedError(RemoteError):
    """The server answered 401/403: no credentials, expired or revoked ones, or too small a role."""
