"""One error hierarchy for everything the core refuses.

Every message is a single line that names what was wrong and how to fix it; drivers map the
classes to HTTP statuses and exit codes once (``exit_code`` / ``http_status``).
"""

from __future__ import annotations


class GptTraderError(Exception):
    """Base of every error gpt-trader raises on purpose."""

    exit_code = 1
    http_status = 400
    code = "error"


class InvalidDataError(GptTraderError):
    """Market data that cannot be traded on (empty, unsorted, NaN prices, broken OHLC ...)."""

    code = "invalid_data"


class DataSourceError(GptTraderError):
    """A market-data source cannot deliver: missing file, unknown symbol, unreadable format."""

    code = "data_source"
    http_status = 404


class UnknownStrategyError(GptTraderError):
    """A strategy name that is not registered."""

    code = "unknown_strategy"
    http_status = 404


class InvalidParameterError(GptTraderError):
    """A parameter that is unknown, of the wrong type or out of its valid range."""

    code = "invalid_parameter"
    http_status = 422


class ConfigurationError(GptTraderError):
    """Settings that cannot be used: unknown keys, wrong types, bad values."""

    code = "configuration"
    exit_code = 2


class NotFoundError(GptTraderError):
    """A stored record (result, execution, session ...) that does not exist."""

    code = "not_found"
    http_status = 404


class ConflictError(GptTraderError):
    """An operation that conflicts with the current state (e.g. cancelling a finished execution)."""

    code = "conflict"
    http_status = 409


class SessionNotHeldError(ConflictError):
    """A trading session another process has taken over (or stopped) since this one claimed it: its
    bar is not stored and this process stops running it (the fencing of session leases)."""

    code = "session_not_held"


class CancelledError(GptTraderError):
    """Work stopped because somebody cancelled it."""

    code = "cancelled"
    http_status = 409


class InvalidSymbolError(InvalidParameterError, DataSourceError):
    """A symbol that breaks the one symbol rule (``gpt_trader_core.domain.symbols``): a bad parameter,
    and a request no data source can serve."""

    code = "invalid_symbol"
    http_status = 422
