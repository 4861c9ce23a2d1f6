"""The settings tree: frozen attrs sections, every field with its default and its validator."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import attrs

from entrypoints.settings.secret import Secret, redact_url
from entrypoints.settings.validators import (
    InvalidValueError,
    backend_installed,
    expect_str,
    field_validator,
    int_in,
    is_bool,
    non_empty_text,
    number_in,
    one_of,
    optional_text,
    remote_url,
    valid_origins,
    valid_redis_url,
    valid_secret,
    valid_state_url,
    valid_ttls,
)

RunMode = Literal["cli", "api", "websocket", "all"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "console"]
OutputFormat = Literal["table", "json", "csv"]
JwtAlgorithm = Literal["HS256", "HS384", "HS512"]  # the secret is a shared key: HMAC only
MarketDataSource = Literal["synthetic", "csv", "parquet"]
CacheBackend = Literal["memory", "redis"]
ExecutorKind = Literal["local", "dask"]
BusBackend = Literal["memory", "redis"]
LiveFeed = Literal["synthetic", "off"]
LiveTimeframe = Literal["1m", "5m", "15m", "30m", "1h", "1d"]


@attrs.frozen(kw_only=True)
class SystemSettings:
    """How the process runs: which driver, logging, and where it keeps its files."""

    mode: RunMode = attrs.field(default="cli", validator=one_of(RunMode))
    log_level: LogLevel = attrs.field(default="INFO", validator=one_of(LogLevel))
    log_format: LogFormat = attrs.field(default="console", validator=one_of(LogFormat))
    # "~" is expanded by the users of the setting.
    data_dir: str = attrs.field(default="~/.gpt-trader", validator=field_validator(non_empty_text))


@attrs.frozen(kw_only=True)
class AuthSettings:
    """JWT authentication of the HTTP API. An empty ``jwt_secret`` means: generate one at start."""

    enabled: bool = attrs.field(default=True, validator=field_validator(is_bool))
    jwt_secret: Secret = attrs.field(factory=Secret, validator=field_validator(valid_secret))
    jwt_algorithm: JwtAlgorithm = attrs.field(default="HS256", validator=one_of(JwtAlgorithm))
    access_token_ttl: int = attrs.field(default=900, validator=int_in(1))
    refresh_token_ttl: int = attrs.field(default=2_592_000, validator=int_in(1))
    # auth (issue 13): rotation, lockout, per-process record cache
    previous_jwt_secret: Secret = attrs.field(factory=Secret, validator=field_validator(valid_secret))
    max_failed_logins: int = attrs.field(default=5, validator=int_in(1))
    failed_login_window: float = attrs.field(default=900.0, validator=number_in(0.0, low_open=True))
    lockout_seconds: float = attrs.field(default=900.0, validator=number_in(0.0, low_open=True))
    record_cache_ttl: float = attrs.field(default=1.0, validator=number_in(0.0))


def valid_rate(value: Any) -> None:
    """A ``limits`` rate such as ``10/minute`` or ``600 per hour`` (the defaults need no check: importing
    ``limits`` costs every CLI command ~50 ms)."""
    if value in _DEFAULT_RATES:
        return
    from limits import parse

    try:
        parse(expect_str(value))
    except ValueError:
        raise InvalidValueError(f"expected a rate such as 10/minute or 600/hour, got {value!r}") from None


_DEFAULT_RATES = frozenset({"10/minute", "600/minute", "120/minute", "20/minute"})


@attrs.frozen(kw_only=True)
class RateLimitSettings:
    """Requests allowed per principal (or client address), per endpoint class, in a moving window."""

    enabled: bool = attrs.field(default=True, validator=field_validator(is_bool))
    login: str = attrs.field(default="10/minute", validator=field_validator(valid_rate))
    read: str = attrs.field(default="600/minute", validator=field_validator(valid_rate))
    write: str = attrs.field(default="120/minute", validator=field_validator(valid_rate))
    heavy: str = attrs.field(default="20/minute", validator=field_validator(valid_rate))


@attrs.frozen(kw_only=True)
class TlsSettings:
    """HTTPS for the servers: both files set, or neither (plain HTTP, e.g. behind a TLS proxy)."""

    cert_file: str | None = attrs.field(default=None, validator=field_validator(optional_text))
    key_file: str | None = attrs.field(default=None, validator=field_validator(optional_text))


def _tls_needs_both_files(value: Any) -> None:
    if isinstance(value, TlsSettings) and (value.cert_file is None) != (value.key_file is None):
        missing = "key_file" if value.key_file is None else "cert_file"
        raise InvalidValueError("set both cert_file and key_file, or neither", subkey=missing)


@attrs.frozen(kw_only=True)
class ApiSettings:
    """The HTTP server. ``shutdown_timeout`` is in seconds."""

    host: str = attrs.field(default="127.0.0.1", validator=field_validator(non_empty_text))
    port: int = attrs.field(default=8000, validator=int_in(1, 65_535))
    workers: int = attrs.field(default=1, validator=int_in(1))
    cors_origins: tuple[str, ...] = attrs.field(
        default=("http://localhost:3000",), validator=field_validator(valid_origins)
    )
    shutdown_timeout: float = attrs.field(default=10.0, validator=number_in(0.0))
    auth: AuthSettings = attrs.field(factory=AuthSettings)
    rate_limits: RateLimitSettings = attrs.field(factory=RateLimitSettings)
    tls: TlsSettings = attrs.field(factory=TlsSettings, validator=field_validator(_tls_needs_both_files))


@attrs.frozen(kw_only=True)
class WebSocketSettings:
    """The WebSocket server. ``heartbeat_interval`` is in seconds."""

    port: int = attrs.field(default=8001, validator=int_in(1, 65_535))
    max_connections: int = attrs.field(default=100, validator=int_in(1))
    heartbeat_interval: float = attrs.field(default=30.0, validator=number_in(0.0, low_open=True))
    # streaming (issue 14): authentication deadline, per-connection limits, replay and send buffers
    auth_timeout: float = attrs.field(default=5.0, validator=number_in(0.0, low_open=True))
    max_subscriptions: int = attrs.field(default=50, validator=int_in(1))
    max_message_size: int = attrs.field(default=65_536, validator=int_in(256))
    rate_limit: float = attrs.field(default=20.0, validator=number_in(0.0, low_open=True))
    allowed_origins: tuple[str, ...] = attrs.field(
        default=("http://localhost:3000",), validator=field_validator(valid_origins)
    )
    replay_buffer: int = attrs.field(default=1000, validator=int_in(1))
    send_queue: int = attrs.field(default=1000, validator=int_in(1))
    # market:SYMBOL for symbols no running session feeds: the live feed, its bar timeframe and pace
    live_feed: LiveFeed = attrs.field(default="synthetic", validator=one_of(LiveFeed))
    live_timeframe: LiveTimeframe = attrs.field(default="1m", validator=one_of(LiveTimeframe))
    live_interval: float = attrs.field(default=1.0, validator=number_in(0.0, low_open=True))


@attrs.frozen(kw_only=True)
class CliSettings:
    """The terminal interface."""

    color_output: bool = attrs.field(default=True, validator=field_validator(is_bool))
    progress_bars: bool = attrs.field(default=True, validator=field_validator(is_bool))
    default_format: OutputFormat = attrs.field(default="table", validator=one_of(OutputFormat))
    #: A server every remote-capable command talks to (as ``--remote URL``); empty = run locally.
    remote: str = attrs.field(default="", validator=field_validator(remote_url))


@attrs.frozen(kw_only=True)
class MarketDataSettings:
    """Where bars come from. ``path`` is required for ``csv``/``parquet`` (checked by ``Settings``)."""

    source: MarketDataSource = attrs.field(default="synthetic", validator=one_of(MarketDataSource))
    path: str | None = attrs.field(default=None, validator=field_validator(optional_text))
    seed: int = attrs.field(default=0, validator=int_in(0))


def _default_ttls() -> dict[str, int]:
    return {"market_data": 3600, "backtest": 86_400, "default": 300}


@attrs.frozen(kw_only=True)
class CacheSettings:
    """The cache. ``ttl`` maps a cache kind to seconds (0 = no expiry); ``default`` covers the rest."""

    backend: CacheBackend = attrs.field(
        default="memory", validator=[one_of(CacheBackend), field_validator(backend_installed)]
    )
    redis_url: Secret = attrs.field(
        default=Secret("redis://127.0.0.1:6379/0"), validator=field_validator(valid_redis_url)
    )  # a Secret: the URL may hold a password
    ttl: dict[str, int] = attrs.field(factory=_default_ttls, validator=field_validator(valid_ttls))
    # Memory backend only, per kind (0 = no limit): past a limit the least recently used entries go.
    max_entries: int = attrs.field(default=10_000, validator=int_in(0))
    max_bytes: int = attrs.field(default=32 * 1024 * 1024, validator=int_in(0))


@attrs.frozen(kw_only=True)
class StateSettings:
    """Persistent state (results, executions). ``repr`` hides a password in the URL."""

    url: str = attrs.field(
        default="sqlite:///~/.gpt-trader/state.db",
        validator=field_validator(valid_state_url),
        repr=lambda url: repr(redact_url(url)),
    )


@attrs.frozen(kw_only=True)
class ExecutorSettings:
    """Where heavy work runs. ``workers`` 0 = one per CPU; ``scheduler_address`` is for dask."""

    kind: ExecutorKind = attrs.field(default="local", validator=one_of(ExecutorKind))
    workers: int = attrs.field(default=0, validator=int_in(0))
    scheduler_address: str | None = attrs.field(default=None, validator=field_validator(optional_text))


@attrs.frozen(kw_only=True)
class BacktestSettings:
    """Defaults of a backtest. Rates are fractions (0.002 = 0.2 %), below 0.1 like the core's."""

    cash: float = attrs.field(default=10_000.0, validator=number_in(0.0, low_open=True))
    commission: float = attrs.field(default=0.0, validator=number_in(0.0, 0.1))
    slippage: float = attrs.field(default=0.0, validator=number_in(0.0, 0.1))
    spread: float = attrs.field(default=0.0, validator=number_in(0.0, 0.1))


@attrs.frozen(kw_only=True)
class OptimizeSettings:
    """Optimisation guard: ``max_trials`` is the largest search the CLI starts without ``--yes``
    (0 = no limit)."""

    max_trials: int = attrs.field(default=100_000, validator=int_in(0))


@attrs.frozen(kw_only=True)
class BusSettings:
    """The event bus (session, execution and system events; WebSocket streams follow it): ``memory``
    is one process's; ``redis`` (Redis Streams at ``redis_url``) is shared by every process and worker.
    ``maxlen``: events kept per topic for resuming by sequence."""

    backend: BusBackend = attrs.field(
        default="memory", validator=[one_of(BusBackend), field_validator(backend_installed)]
    )
    redis_url: Secret = attrs.field(
        default=Secret("redis://127.0.0.1:6379/0"), validator=field_validator(valid_redis_url)
    )  # a Secret: the URL may hold a password
    namespace: str = attrs.field(default="gpt-trader:bus", validator=field_validator(non_empty_text))
    maxlen: int = attrs.field(default=10_000, validator=int_in(1))


def _file_sources_need_a_path(value: Any) -> None:
    if isinstance(value, MarketDataSettings) and value.source in ("csv", "parquet") and value.path is None:
        raise InvalidValueError(
            f"required when market_data.source is {value.source!r} (the file or directory of bars)",
            subkey="path",
            source_key="market_data.source",
        )


@attrs.frozen(kw_only=True)
class Settings:
    """All the settings of the application."""

    system: SystemSettings = attrs.field(factory=SystemSettings)
    api: ApiSettings = attrs.field(factory=ApiSettings)
    websocket: WebSocketSettings = attrs.field(factory=WebSocketSettings)
    cli: CliSettings = attrs.field(factory=CliSettings)
    market_data: MarketDataSettings = attrs.field(
        factory=MarketDataSettings, validator=field_validator(_file_sources_need_a_path)
    )
    cache: CacheSettings = attrs.field(factory=CacheSettings)
    state: StateSettings = attrs.field(factory=StateSettings)
    executor: ExecutorSettings = attrs.field(factory=ExecutorSettings)
    backtest: BacktestSettings = attrs.field(factory=BacktestSettings)
    optimize: OptimizeSettings = attrs.field(factory=OptimizeSettings)
    bus: BusSettings = attrs.field(factory=BusSettings)


SECTIONS: Final[tuple[type, ...]] = (
    SystemSettings,
    AuthSettings,
    RateLimitSettings,
    TlsSettings,
    ApiSettings,
    WebSocketSettings,
    CliSettings,
    MarketDataSettings,
    CacheSettings,
    StateSettings,
    ExecutorSettings,
    BacktestSettings,
    OptimizeSettings,
    BusSettings,
    Settings,
)
for _cls in SECTIONS:
    attrs.resolve_types(_cls)  # field types as objects, for the converter and the key walker


@attrs.frozen(kw_only=True)
class LoadedSettings:
    """The settings, where each leaf key's value came from, and the config file read (if any)."""

    settings: Settings
    sources: dict[str, str]  # "api.port" -> "default" | file path | env var name | "command line"
    config_file: Path | None
