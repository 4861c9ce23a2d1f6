"""The settings of the application, and where they come from.

``Settings`` is a tree of frozen attrs sections; every field has a default and a validator.
``load_settings`` merges, lowest precedence first:

1. the attrs defaults;
2. one config file (YAML, or JSON when it ends in ``.json``): ``config_path`` if given (it must
   exist), else ``./gpt-trader.yaml``, else ``~/.gpt-trader/config.yaml``;
3. environment variables ``GPT_TRADER__SECTION__KEY=value`` (``__`` separates levels, names are
   case-insensitive);
4. command-line overrides ``section.key=value``.

Environment and command-line values are parsed as YAML scalars (``9000`` is an int, ``true`` a bool,
``[a, b]`` a list), except for text settings, which take the text literally (unless it is quoted),
so a secret like ``abc # 1`` or a host like ``1e3`` survives. Mappings merge key by key (so
``cache.ttl.backtest`` alone keeps the other TTLs); a null section (all its keys commented out)
changes nothing. Types are strict: no ``"abc"`` → int, no ``1.5`` → int, no ``"yes"`` → bool.

Every problem is collected and raised at once as one ``InvalidSettingsError`` (a
``ConfigurationError``), each naming the dotted key and where its value came from. The loader is
pure: it reads the environment, working directory and home only through its arguments when given.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Final, Literal, Union, get_args, get_origin

import attrs
import cattrs
import yaml
from cattrs.errors import AttributeValidationNote, ClassValidationError

from gpt_trader_core.errors import ConfigurationError

__all__ = [
    "COMMAND_LINE",
    "DEFAULT",
    "DEFAULT_CONFIG_RELATIVE",
    "ENV_PREFIX",
    "LOCAL_CONFIG_NAME",
    "ApiSettings",
    "AuthSettings",
    "BacktestSettings",
    "CacheSettings",
    "CliSettings",
    "ExecutorSettings",
    "InvalidSettingsError",
    "LoadedSettings",
    "MarketDataSettings",
    "Secret",
    "Settings",
    "StateSettings",
    "SystemSettings",
    "WebSocketSettings",
    "find_config_file",
    "get_value",
    "load_settings",
    "parse_config_text",
    "parse_value",
    "read_config_file",
    "setting_keys",
    "settings_from_layers",
    "settings_to_dict",
    "user_config_path",
]

ENV_PREFIX: Final = "GPT_TRADER__"
LOCAL_CONFIG_NAME: Final = "gpt-trader.yaml"
DEFAULT_CONFIG_RELATIVE: Final = Path(".gpt-trader/config.yaml")
DEFAULT: Final = "default"
COMMAND_LINE: Final = "command line"

RunMode = Literal["cli", "api", "websocket", "all"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "console"]
OutputFormat = Literal["table", "json", "csv"]
JwtAlgorithm = Literal["HS256", "HS384", "HS512"]  # the secret is a shared key: HMAC only
MarketDataSource = Literal["synthetic", "csv", "parquet"]
CacheBackend = Literal["memory", "redis"]
ExecutorKind = Literal["local", "dask"]


# --------------------------------------------------------------------------- secrets


@attrs.frozen
class Secret:
    """A string that does not show itself: ``str``/``repr`` give ``***`` when it is set.

    Not a ``str`` subclass on purpose: a subclass would leak through ``json.dumps``, ``+`` and
    f-strings. Call ``get_secret_value()`` where the real value is needed.
    """

    _value: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self._value, str):
            raise TypeError("a Secret holds a string")

    def get_secret_value(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return "***" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def _redact_url(url: str) -> str:
    """``scheme://user:***@host/...``: hide the password of a URL, if it holds one."""
    return re.sub(r"://([^/@:]*):[^@/]*@", r"://\1:***@", url, count=1)


# --------------------------------------------------------------------------- validators


class _InvalidValueError(ValueError):
    """A refused value. ``detail`` reads well after the dotted key the loader prints.

    ``subkey`` points below the validated field (``market_data`` → ``path``); ``source_key`` names
    the setting whose origin explains the problem, when it is not the key itself.
    """

    def __init__(self, detail: str, *, key: str = "", subkey: str | None = None, source_key: str | None = None) -> None:
        super().__init__(f"{key}: {detail}" if key else detail)
        self.detail = detail
        self.subkey = subkey
        self.source_key = source_key


_Check = Callable[[Any], object]
_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _validator(check: _Check) -> _Validator:
    """An attrs validator from a check, naming the field when used outside the loader."""

    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        try:
            check(value)
        except _InvalidValueError as exc:
            key = f"{attribute.name}.{exc.subkey}" if exc.subkey else attribute.name
            raise _InvalidValueError(exc.detail, key=key, subkey=exc.subkey, source_key=exc.source_key) from None

    return validate


def _expect_int(value: Any) -> int:
    # bool is an int subclass; a float (even 2.0) is refused rather than truncated.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidValueError(f"expected an int, got {value!r}")
    return value


def _expect_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise _InvalidValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _expect_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _InvalidValueError(f"expected true or false, got {value!r}")
    return value


def _expect_str(value: Any) -> str:
    if not isinstance(value, str):
        hint = " (quote it to make it text)" if isinstance(value, int | float) else ""
        raise _InvalidValueError(f"expected a string, got {value!r}{hint}")
    return value


def _expect_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):  # the value is not shown: it may be the secret itself
        raise _InvalidValueError(f"expected a string, got a value of type {type(value).__name__} (quote it)")
    return Secret(value)


def _int_in(low: int, high: int | None = None) -> _Validator:
    def check(value: Any) -> None:
        _expect_int(value)
        if high is not None and not low <= value <= high:
            raise _InvalidValueError(f"{value} is out of range {low}..{high}")
        if value < low:
            raise _InvalidValueError(f"must be >= {low}, got {value}")

    return _validator(check)


def _number_in(low: float, high: float | None = None, *, low_open: bool = False) -> _Validator:
    """``[low, high)`` (``(low, ...`` when ``low_open``); ``high`` is open to match the core's checks."""

    def check(value: Any) -> None:
        _expect_float(value)
        too_low = value <= low if low_open else value < low
        if too_low or (high is not None and value >= high):
            if high is None:
                raise _InvalidValueError(f"must be {'>' if low_open else '>='} {low:g}, got {value!r}")
            raise _InvalidValueError(f"must be in {'(' if low_open else '['}{low:g}, {high:g}), got {value!r}")

    return _validator(check)


def _one_of(choices: Any) -> _Validator:
    options: tuple[str, ...] = get_args(choices)

    def check(value: Any) -> None:
        if not isinstance(value, str) or value not in options:
            raise _InvalidValueError(f"expected one of {', '.join(map(repr, options))}, got {value!r}")

    return _validator(check)


def _text(value: Any) -> None:
    if not _expect_str(value):
        raise _InvalidValueError("must not be empty")


def _optional_text(value: Any) -> None:
    if value is not None:
        _text(value)


def _is_bool(value: Any) -> None:
    _expect_bool(value)


def _origins(value: Any) -> None:
    if not isinstance(value, tuple):
        raise _InvalidValueError(f"expected a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise _InvalidValueError(f"expected a list of non-empty strings, got {list(value)!r}")


def _ttls(value: Any) -> None:
    if not isinstance(value, dict):
        raise _InvalidValueError(f"expected a mapping of kind → seconds, got {value!r}")
    for kind, seconds in value.items():
        if not isinstance(kind, str) or not kind or ":" in kind:  # ':' separates parts of cache keys
            raise _InvalidValueError(f"a cache kind must be a non-empty string without ':', got {kind!r}")
        try:
            _expect_int(seconds)
        except _InvalidValueError as exc:
            raise _InvalidValueError(exc.detail, subkey=kind) from None
        if seconds < 0:
            raise _InvalidValueError(f"must be >= 0 seconds (0 = no expiry), got {seconds}", subkey=kind)
    if "default" not in value:
        raise _InvalidValueError("needs a 'default' entry (the TTL of the kinds not listed)")


def _secret(value: Any) -> None:
    if not isinstance(value, Secret):
        raise _InvalidValueError("expected a Secret")


def _redis_url(value: Any) -> None:
    _secret(value)
    if not re.match(r"rediss?://", value.get_secret_value()):
        raise _InvalidValueError("expected a redis:// or rediss:// URL")


def _state_url(value: Any) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:.+", _expect_str(value)):
        raise _InvalidValueError(f"expected a URL such as sqlite:///~/state.db or sqlite::memory:, got {value!r}")


# --------------------------------------------------------------------------- the tree


@attrs.frozen(kw_only=True)
class SystemSettings:
    """How the process runs: which driver, logging, and where it keeps its files."""

    mode: RunMode = attrs.field(default="cli", validator=_one_of(RunMode))
    log_level: LogLevel = attrs.field(default="INFO", validator=_one_of(LogLevel))
    log_format: LogFormat = attrs.field(default="console", validator=_one_of(LogFormat))
    data_dir: str = attrs.field(default="~/.gpt-trader", validator=_validator(_text))  # "~" expanded by users


@attrs.frozen(kw_only=True)
class AuthSettings:
    """JWT authentication of the HTTP API. An empty ``jwt_secret`` means: generate one at start."""

    enabled: bool = attrs.field(default=True, validator=_validator(_is_bool))
    jwt_secret: Secret = attrs.field(factory=Secret, validator=_validator(_secret))
    jwt_algorithm: JwtAlgorithm = attrs.field(default="HS256", validator=_one_of(JwtAlgorithm))
    access_token_ttl: int = attrs.field(default=900, validator=_int_in(1))
    refresh_token_ttl: int = attrs.field(default=604_800, validator=_int_in(1))


@attrs.frozen(kw_only=True)
class ApiSettings:
    """The HTTP server. ``shutdown_timeout`` is in seconds."""

    host: str = attrs.field(default="127.0.0.1", validator=_validator(_text))
    port: int = attrs.field(default=8000, validator=_int_in(1, 65_535))
    workers: int = attrs.field(default=1, validator=_int_in(1))
    cors_origins: tuple[str, ...] = attrs.field(default=("http://localhost:3000",), validator=_validator(_origins))
    shutdown_timeout: float = attrs.field(default=10.0, validator=_number_in(0.0))
    auth: AuthSettings = attrs.field(factory=AuthSettings)


@attrs.frozen(kw_only=True)
class WebSocketSettings:
    """The WebSocket server. ``heartbeat_interval`` is in seconds."""

    port: int = attrs.field(default=8001, validator=_int_in(1, 65_535))
    max_connections: int = attrs.field(default=100, validator=_int_in(1))
    heartbeat_interval: float = attrs.field(default=30.0, validator=_number_in(0.0, low_open=True))


@attrs.frozen(kw_only=True)
class CliSettings:
    """The terminal interface."""

    color_output: bool = attrs.field(default=True, validator=_validator(_is_bool))
    progress_bars: bool = attrs.field(default=True, validator=_validator(_is_bool))
    default_format: OutputFormat = attrs.field(default="table", validator=_one_of(OutputFormat))


@attrs.frozen(kw_only=True)
class MarketDataSettings:
    """Where bars come from. ``path`` is required for ``csv``/``parquet`` (checked by ``Settings``)."""

    source: MarketDataSource = attrs.field(default="synthetic", validator=_one_of(MarketDataSource))
    path: str | None = attrs.field(default=None, validator=_validator(_optional_text))
    seed: int = attrs.field(default=0, validator=_int_in(0))


def _default_ttls() -> dict[str, int]:
    return {"market_data": 3600, "backtest": 86_400, "default": 300}


@attrs.frozen(kw_only=True)
class CacheSettings:
    """The cache. ``ttl`` maps a cache kind to seconds (0 = no expiry); ``default`` covers the rest."""

    backend: CacheBackend = attrs.field(default="memory", validator=_one_of(CacheBackend))
    redis_url: Secret = attrs.field(
        default=Secret("redis://127.0.0.1:6379/0"), validator=_validator(_redis_url)
    )  # a Secret: the URL may hold a password
    ttl: dict[str, int] = attrs.field(factory=_default_ttls, validator=_validator(_ttls))


@attrs.frozen(kw_only=True)
class StateSettings:
    """Persistent state (results, executions). ``repr`` hides a password in the URL."""

    url: str = attrs.field(
        default="sqlite:///~/.gpt-trader/state.db",
        validator=_validator(_state_url),
        repr=lambda url: repr(_redact_url(url)),
    )


@attrs.frozen(kw_only=True)
class ExecutorSettings:
    """Where heavy work runs. ``workers`` 0 = one per CPU; ``scheduler_address`` is for dask."""

    kind: ExecutorKind = attrs.field(default="local", validator=_one_of(ExecutorKind))
    workers: int = attrs.field(default=0, validator=_int_in(0))
    scheduler_address: str | None = attrs.field(default=None, validator=_validator(_optional_text))


@attrs.frozen(kw_only=True)
class BacktestSettings:
    """Defaults of a backtest. Rates are fractions (0.002 = 0.2 %), below 0.1 like the core's."""

    cash: float = attrs.field(default=10_000.0, validator=_number_in(0.0, low_open=True))
    commission: float = attrs.field(default=0.0, validator=_number_in(0.0, 0.1))
    slippage: float = attrs.field(default=0.0, validator=_number_in(0.0, 0.1))


def _file_sources_need_a_path(value: Any) -> None:
    if isinstance(value, MarketDataSettings) and value.source in ("csv", "parquet") and value.path is None:
        raise _InvalidValueError(
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
        factory=MarketDataSettings, validator=_validator(_file_sources_need_a_path)
    )
    cache: CacheSettings = attrs.field(factory=CacheSettings)
    state: StateSettings = attrs.field(factory=StateSettings)
    executor: ExecutorSettings = attrs.field(factory=ExecutorSettings)
    backtest: BacktestSettings = attrs.field(factory=BacktestSettings)


_SECTIONS: Final[tuple[type, ...]] = (
    SystemSettings,
    AuthSettings,
    ApiSettings,
    WebSocketSettings,
    CliSettings,
    MarketDataSettings,
    CacheSettings,
    StateSettings,
    ExecutorSettings,
    BacktestSettings,
    Settings,
)
for _cls in _SECTIONS:
    attrs.resolve_types(_cls)  # field types as objects, for the converter and the key walker


@attrs.frozen(kw_only=True)
class LoadedSettings:
    """The settings, where each leaf key's value came from, and the config file read (if any)."""

    settings: Settings
    sources: dict[str, str]  # "api.port" -> "default" | file path | env var name | "command line"
    config_file: Path | None


class InvalidSettingsError(ConfigurationError):
    """Every problem of a configuration, in one error; ``problems`` lists them one by one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = "invalid configuration" + (f" ({count} problems)" if count > 1 else "")
        super().__init__(f"{head}: {'; '.join(self.problems)}")


# --------------------------------------------------------------------------- the converter


class _UnknownKeyError(KeyError):
    """A key no section has; its dotted path is carried by the cattrs note."""


def _note(exc: Exception, name: str, type_: Any) -> Exception:
    exc.add_note(AttributeValidationNote(f"Structuring {name}", name, type_))
    return exc


def _section_hook(converter: cattrs.Converter, cls: type) -> Callable[[Any, Any], Any]:
    """Structure one section, reporting *every* bad field (type or validator) with its path.

    cattrs' generated hook runs attrs validators inside ``__init__``, so only the first failing
    validator of a class would surface, without its field name; here each field is structured and
    validated on its own, and the errors are grouped the way ``cattrs.transform_error`` reads them.
    """
    fields = {f.name: f for f in attrs.fields(cls)}

    def structure(data: Any, _type: Any) -> Any:
        if not isinstance(data, Mapping):
            raise _InvalidValueError(f"expected a mapping of settings, got {data!r}")
        errors = [_note(_UnknownKeyError(key), str(key), None) for key in data if key not in fields]
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name not in data:
                continue
            try:
                value = converter.structure(data[name], field.type)
                if field.validator is not None:
                    field.validator(None, field, value)
            except _InvalidValueError as exc:
                if exc.subkey is not None:  # the problem is one level down: nest it for the path
                    inner = _note(_InvalidValueError(exc.detail, source_key=exc.source_key), exc.subkey, None)
                    errors.append(_note(ClassValidationError(name, [inner], field.type), name, field.type))
                else:
                    errors.append(_note(exc, name, field.type))
            except Exception as exc:  # anything else (nested sections included), reported not raised
                errors.append(_note(exc, name, field.type))
            else:
                values[name] = value
        if errors:
            raise ClassValidationError(f"While structuring {cls.__name__}", errors, cls)
        return cls(**values)

    return structure


def _structure_origins(value: Any, _type: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):  # a bare string would otherwise become its characters
        raise _InvalidValueError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _structure_ttls(value: Any, _type: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise _InvalidValueError(f"expected a mapping of kind → seconds, got {value!r}")
    return dict(value)


def _is_literal(type_: Any) -> bool:
    origin: Any = get_origin(type_)
    return origin is Literal


def _make_converter() -> cattrs.Converter:
    # The only converter of the settings edge. Strict hooks replace cattrs' coercing defaults
    # (int("9") / bool("false") / list("abc")); section hooks collect every error (see above).
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, lambda value, _: _expect_int(value))
    converter.register_structure_hook(float, lambda value, _: _expect_float(value))
    converter.register_structure_hook(bool, lambda value, _: _expect_bool(value))
    converter.register_structure_hook(str, lambda value, _: _expect_str(value))
    converter.register_structure_hook(Secret, lambda value, _: _expect_secret(value))
    # Literal values are checked by the fields' validators, with the list of choices.
    converter.register_structure_hook_func(_is_literal, lambda value, _: value)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_origins)
    converter.register_structure_hook_func(lambda t: t == dict[str, int], _structure_ttls)
    for cls in _SECTIONS:
        converter.register_structure_hook(cls, _section_hook(converter, cls))
    converter.register_unstructure_hook(Secret, lambda secret: secret)  # redacted (or not) later
    return converter


_CONVERTER: Final = _make_converter()


# --------------------------------------------------------------------------- keys


def _field_type(parts: Sequence[Any]) -> Any | None:
    """The declared type at a key path (a section class for sections), or None if there is none."""
    type_: Any = Settings
    for part in parts:
        if type_ in _SECTIONS:
            field = next((f for f in attrs.fields(type_) if f.name == part), None)
            if field is None:
                return None
            type_ = field.type
        elif get_origin(type_) is dict and isinstance(part, str):
            type_ = get_args(type_)[1]
        else:
            return None
    return type_


def _walk_keys(cls: type, prefix: str) -> Iterator[str]:
    for field in attrs.fields(cls):
        key = f"{prefix}{field.name}"
        yield key
        if field.type in _SECTIONS:
            yield from _walk_keys(field.type, f"{key}.")


_ALL_KEYS: Final = tuple(_walk_keys(Settings, ""))


def setting_keys() -> tuple[str, ...]:
    """Every settable dotted key (sections excluded), in declaration order."""
    return tuple(key for key in _ALL_KEYS if _field_type(key.split(".")) not in _SECTIONS)


def _suggest(key: str) -> str | None:
    """The known key closest to an unknown one: a sibling first, else the same name elsewhere."""
    parent, _, leaf = key.rpartition(".")
    siblings = [k.rpartition(".")[2] for k in _ALL_KEYS if k.rpartition(".")[0] == parent]
    match = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
    if match:
        return f"{parent}.{match[0]}" if parent else match[0]
    elsewhere = {k.rpartition(".")[2]: k for k in reversed(_ALL_KEYS)}
    match = difflib.get_close_matches(leaf, list(elsewhere), n=1, cutoff=0.85)
    return elsewhere[match[0]] if match else None


def _unknown_key(key: str) -> str:
    suggestion = _suggest(key)
    return f"; did you mean {suggestion!r}?" if suggestion else ""


def _text_kind(type_: Any) -> tuple[bool, bool]:
    """(is a text setting, accepts null) for the parsing of raw environment/command-line values."""
    args = get_args(type_)
    if get_origin(type_) in (Union, UnionType) and NoneType in args:
        others = [a for a in args if a is not NoneType]
        return (len(others) == 1 and _text_kind(others[0])[0], True)
    if _is_literal(type_):
        return (all(isinstance(a, str) for a in args), False)
    return (type_ in (str, Secret), False)


def _parse_raw(type_: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    is_text, nullable = _text_kind(type_)
    if is_text:
        if nullable and raw in ("", "~", "null", "Null", "NULL"):
            return None
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            try:
                unquoted = yaml.safe_load(raw)
            except yaml.YAMLError:
                return raw
            return unquoted if isinstance(unquoted, str) else raw
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw  # the type check then reports "expected an int, got '...'"


def parse_value(dotted_key: str, raw: str) -> Any:
    """The value of ``raw`` for ``dotted_key`` as the environment/command line would parse it.

    Raises ``ConfigurationError`` for an unknown key (with a suggestion) or a whole section.
    """
    type_ = _field_type(dotted_key.split("."))
    if type_ is None:
        raise ConfigurationError(f"unknown key {dotted_key!r}{_unknown_key(dotted_key)}")
    if type_ in _SECTIONS:
        first = attrs.fields(type_)[0].name
        raise ConfigurationError(f"{dotted_key!r} is a section; set one of its keys, e.g. '{dotted_key}.{first}'")
    return _parse_raw(type_, raw)


# --------------------------------------------------------------------------- output


def _plain(value: Any, redact: bool) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, redact) for item in value]
    if isinstance(value, Secret):
        return str(value) if redact else value.get_secret_value()
    return value


def settings_to_dict(settings: Settings, *, redact: bool = True) -> dict[str, Any]:
    """Plain nested dict (YAML/JSON-ready). With ``redact``, secrets are ``***`` (empty stays
    empty) and a password in ``state.url`` is hidden."""
    data: dict[str, Any] = _plain(_CONVERTER.unstructure(settings), redact)
    if redact:
        data["state"]["url"] = _redact_url(data["state"]["url"])
    return data


def get_value(settings: Settings, dotted_key: str) -> Any:
    """The value at ``api.port``-style key: a section object, a leaf value, or a cache TTL entry."""
    node: Any = settings
    for depth, part in enumerate(dotted_key.split(".")):
        if type(node) in _SECTIONS and part in attrs.fields_dict(type(node)):
            node = getattr(node, part)
        elif isinstance(node, Mapping) and depth > 0:
            if part not in node:
                parent = dotted_key.rpartition(".")[0]
                raise ConfigurationError(f"{parent} has no entry {part!r} (entries: {', '.join(sorted(node))})")
            node = node[part]
        else:
            raise ConfigurationError(f"unknown key {dotted_key!r}{_unknown_key(dotted_key)}")
    return node


# --------------------------------------------------------------------------- config files


def user_config_path(home: Path | None = None) -> Path:
    """``~/.gpt-trader/config.yaml`` (``home`` defaults to ``Path.home()``)."""
    return (Path.home() if home is None else home) / DEFAULT_CONFIG_RELATIVE


def find_config_file(*, cwd: Path | None = None, home: Path | None = None) -> Path | None:
    """The config file the loader reads when none is given: ``./gpt-trader.yaml``, else the user's."""
    for candidate in ((Path.cwd() if cwd is None else cwd) / LOCAL_CONFIG_NAME, user_config_path(home)):
        if candidate.is_file():
            return candidate
    return None


def parse_config_text(text: str, path: Path) -> dict[str, Any]:
    """Parse a config file's text (JSON if ``path`` ends in ``.json``, else YAML) into a mapping.

    An empty file is ``{}``. Raises ``ConfigurationError`` naming the file and, for syntax
    errors, the line and column.
    """
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigurationError(f"{path}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: expected a mapping of sections (such as 'api:') at the top, got {type(data).__name__}"
        )
    return data


def read_config_file(path: Path) -> dict[str, Any]:
    """Read and parse a config file; ``ConfigurationError`` if it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the config file: {exc}") from None
    return parse_config_text(text, path)


# --------------------------------------------------------------------------- merging


def _dotted(parts: Sequence[Any]) -> str:
    return ".".join(map(str, parts))


class _Layers:
    """The merged raw tree, starting from the defaults, and the origin of every leaf key."""

    def __init__(self) -> None:
        self.tree: dict[Any, Any] = settings_to_dict(Settings(), redact=False)
        self.sources: dict[str, str] = {}
        self._record((), self.tree, DEFAULT)

    def merge(self, data: Mapping[Any, Any], source: str) -> None:
        for key, value in data.items():
            self.put((key,), value, source)

    def put(self, parts: tuple[Any, ...], value: Any, source: str) -> None:
        node = self.tree
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):  # a scalar in the way is replaced by a mapping
                self._forget(parts[: depth + 1])
                node[part] = {}
            node = node[part]
        current = node.get(parts[-1])
        if isinstance(current, dict) and (value is None or isinstance(value, Mapping)):
            # Mappings merge key by key; null (a section whose keys are all commented out) is empty.
            for key, item in (value or {}).items():
                self.put((*parts, key), item, source)
            return
        self._forget(parts)
        node[parts[-1]] = value
        self._record(parts, value, source)

    def _record(self, parts: tuple[Any, ...], value: Any, source: str) -> None:
        if isinstance(value, Mapping) and value:
            for key, item in value.items():
                self._record((*parts, key), item, source)
        elif parts:
            self.sources[_dotted(parts)] = source

    def _forget(self, parts: tuple[Any, ...]) -> None:
        key = _dotted(parts)
        for known in [k for k in self.sources if k == key or k.startswith(f"{key}.")]:
            del self.sources[known]

    def origin(self, key: str) -> str | None:
        """Where a key's value came from: its own source, an ancestor's, or its children's."""
        probe = key
        while probe:
            if probe in self.sources:
                return self.sources[probe]
            probe = probe.rpartition(".")[0]
        below = sorted({s for k, s in self.sources.items() if k.startswith(f"{key}.")})
        return ", ".join(below) or None


def _describe(source: str | None) -> str:
    if source is None:
        return ""
    if source == DEFAULT:
        return " (default)"
    if source.upper().startswith(ENV_PREFIX):
        return f" (from environment variable {source})"
    return f" (from {source})"


_UNKNOWN: Final = "\x00unknown key"


def _format_exception(exc: BaseException, _type: Any) -> str:
    """For ``cattrs.transform_error``: the message; ``\\x00``-separated key of the origin to show."""
    if isinstance(exc, _UnknownKeyError):
        return _UNKNOWN
    if isinstance(exc, _InvalidValueError):
        return f"{exc.detail}\x00{exc.source_key}" if exc.source_key else exc.detail
    return str(exc) or type(exc).__name__


def _problems(exc: ClassValidationError, layers: _Layers) -> list[str]:
    problems = []
    for line in cattrs.transform_error(exc, path="", format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        key = path.lstrip(".")
        if message == _UNKNOWN:
            problems.append(f"unknown key {key!r}{_describe(layers.origin(key))}{_unknown_key(key)}")
        else:
            detail, _, source_key = message.partition("\x00")
            problems.append(f"{key}: {detail}{_describe(layers.origin(source_key or key))}")
    return problems


def _build(layers: _Layers, problems: list[str]) -> Settings:
    try:
        settings: Settings = _CONVERTER.structure(layers.tree, Settings)
    except ClassValidationError as exc:
        raise InvalidSettingsError([*problems, *_problems(exc, layers)]) from None
    if problems:  # file/override syntax problems, even when what could be read is valid
        raise InvalidSettingsError(problems)
    return settings


def settings_from_layers(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> LoadedSettings:
    """Settings from the defaults and nested mappings ``(source, data)``, later ones winning.

    The building block of ``load_settings``, for callers that have their data already (e.g.
    ``config set`` validating a file before writing it).
    """
    merged = _Layers()
    for source, data in layers:
        merged.merge(data, source)
    return LoadedSettings(settings=_build(merged, []), sources=dict(merged.sources), config_file=None)


def _expand(path: Path, cwd: Path, home: Path) -> Path:
    if path.parts and path.parts[0] == "~":
        path = home.joinpath(*path.parts[1:])
    return path if path.is_absolute() else cwd / path


def _override_items(overrides: Mapping[str, Any] | Sequence[str], problems: list[str]) -> Iterator[tuple[str, Any]]:
    if isinstance(overrides, Mapping):
        yield from overrides.items()
        return
    for item in [overrides] if isinstance(overrides, str) else overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"command line: expected KEY=VALUE such as api.port=9000, got {item!r}")
        else:
            yield key.strip(), raw


def load_settings(
    *,
    config_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | Sequence[str] = (),
    cwd: Path | None = None,
    home: Path | None = None,
) -> LoadedSettings:
    """Defaults → config file → ``GPT_TRADER__*`` environment → ``key=value`` overrides.

    Raises ``InvalidSettingsError`` (a ``ConfigurationError``) listing every problem, each with
    its dotted key and origin. ``env``/``cwd``/``home`` default to the process's own.
    """
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    env = os.environ if env is None else env
    problems: list[str] = []
    layers = _Layers()

    config_file: Path | None
    if config_path is not None:
        config_file = _expand(Path(config_path), cwd, home)
        if not config_file.is_file():
            problems.append(f"config file {config_file} does not exist")
            config_file = None
    else:
        config_file = find_config_file(cwd=cwd, home=home)
    if config_file is not None:
        try:
            layers.merge(read_config_file(config_file), str(config_file))
        except ConfigurationError as exc:
            problems.append(str(exc))

    for name in sorted(env):  # sorted: the same environment always gives the same result
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = tuple(name[len(ENV_PREFIX) :].lower().split("__"))
        if not all(parts):
            problems.append(f"environment variable {name}: expected {ENV_PREFIX}SECTION__KEY")
            continue
        layers.put(parts, _parse_raw(_field_type(parts), env[name]), name)

    for key, raw in _override_items(overrides, problems):
        parts = tuple(key.split("."))
        if not all(parts):
            problems.append(f"command line: {key!r} is not a dotted key such as api.port")
            continue
        layers.put(parts, _parse_raw(_field_type(parts), raw), COMMAND_LINE)

    settings = _build(layers, problems)
    return LoadedSettings(settings=settings, sources=dict(layers.sources), config_file=config_file)
