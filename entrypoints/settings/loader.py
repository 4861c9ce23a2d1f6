"""``load_settings``: defaults → config file → ``GPT_TRADER__*`` environment → ``key=value`` overrides,
every problem collected into one ``InvalidSettingsError`` naming each key and its origin."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import cattrs
from cattrs.errors import ClassValidationError

from entrypoints.settings.converter import CONVERTER, UnknownKeyError
from entrypoints.settings.keys import field_type, parse_raw, unknown_key_hint
from entrypoints.settings.schema import LoadedSettings, Settings
from entrypoints.settings.sources import (
    COMMAND_LINE,
    ENV_PREFIX,
    Layers,
    describe_source,
    find_config_file,
    read_config_file,
)
from entrypoints.settings.validators import InvalidSettingsError, InvalidValueError
from gpt_trader_core.errors import ConfigurationError

_UNKNOWN: Final = "\x00unknown key"


def _format_exception(exc: BaseException, _type: Any) -> str:
    """For ``cattrs.transform_error``: the message; ``\\x00``-separated key of the origin to show."""
    if isinstance(exc, UnknownKeyError):
        return _UNKNOWN
    if isinstance(exc, InvalidValueError):
        return f"{exc.detail}\x00{exc.source_key}" if exc.source_key else exc.detail
    return str(exc) or type(exc).__name__


def _problems(exc: ClassValidationError, layers: Layers) -> list[str]:
    problems = []
    for line in cattrs.transform_error(exc, path="", format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        key = path.lstrip(".")
        if message == _UNKNOWN:
            problems.append(f"unknown key {key!r}{describe_source(layers.origin(key))}{unknown_key_hint(key)}")
        else:
            detail, _, source_key = message.partition("\x00")
            problems.append(f"{key}: {detail}{describe_source(layers.origin(source_key or key))}")
    return problems


def _build(layers: Layers, problems: list[str]) -> Settings:
    try:
        settings: Settings = CONVERTER.structure(layers.tree, Settings)
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
    merged = Layers()
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
    layers = Layers()

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
        layers.put(parts, parse_raw(field_type(parts), env[name]), name)

    for key, raw in _override_items(overrides, problems):
        parts = tuple(key.split("."))
        if not all(parts):
            problems.append(f"command line: {key!r} is not a dotted key such as api.port")
            continue
        layers.put(parts, parse_raw(field_type(parts), raw), COMMAND_LINE)

    settings = _build(layers, problems)
    return LoadedSettings(settings=settings, sources=dict(layers.sources), config_file=config_file)
