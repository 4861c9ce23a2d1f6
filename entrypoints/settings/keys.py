"""Dotted keys (``api.port``): the settable ones, their types, suggestions for typos, and the
parsing of raw environment/command-line text into a value of the key's type.

Text settings take the text literally (unless it is quoted), so a secret like ``abc # 1`` or a host
like ``1e3`` survives; other values are parsed as YAML scalars (``9000`` is an int, ``true`` a bool).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from types import NoneType, UnionType
from typing import Any, Final, Union, get_args, get_origin

import attrs

from entrypoints.settings.converter import is_literal
from entrypoints.settings.schema import SECTIONS, Settings
from entrypoints.settings.secret import Secret
from gpt_trader_core.errors import ConfigurationError


def field_type(parts: Sequence[Any]) -> Any | None:
    """The declared type at a key path (a section class for sections), or None if there is none."""
    type_: Any = Settings
    for part in parts:
        if type_ in SECTIONS:
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
        if field.type in SECTIONS:
            yield from _walk_keys(field.type, f"{key}.")


_ALL_KEYS: Final = tuple(_walk_keys(Settings, ""))


def setting_keys() -> tuple[str, ...]:
    """Every settable dotted key (sections excluded), in declaration order."""
    return tuple(key for key in _ALL_KEYS if field_type(key.split(".")) not in SECTIONS)


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


def unknown_key_hint(key: str) -> str:
    suggestion = _suggest(key)
    return f"; did you mean {suggestion!r}?" if suggestion else ""


def _text_kind(type_: Any) -> tuple[bool, bool]:
    """(is a text setting, accepts null) for the parsing of raw environment/command-line values."""
    args = get_args(type_)
    if get_origin(type_) in (Union, UnionType) and NoneType in args:
        others = [a for a in args if a is not NoneType]
        return (len(others) == 1 and _text_kind(others[0])[0], True)
    if is_literal(type_):
        return (all(isinstance(a, str) for a in args), False)
    return (type_ in (str, Secret), False)


def parse_raw(type_: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    import yaml  # only for values given as text (environment, --set): a plain run never needs it

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
    type_ = field_type(dotted_key.split("."))
    if type_ is None:
        raise ConfigurationError(f"unknown key {dotted_key!r}{unknown_key_hint(dotted_key)}")
    if type_ in SECTIONS:
        first = attrs.fields(type_)[0].name
        raise ConfigurationError(f"{dotted_key!r} is a section; set one of its keys, e.g. '{dotted_key}.{first}'")
    return parse_raw(type_, raw)


def get_value(settings: Settings, dotted_key: str) -> Any:
    """The value at ``api.port``-style key: a section object, a leaf value, or a cache TTL entry."""
    node: Any = settings
    for depth, part in enumerate(dotted_key.split(".")):
        if type(node) in SECTIONS and part in attrs.fields_dict(type(node)):
            node = getattr(node, part)
        elif isinstance(node, Mapping) and depth > 0:
            if part not in node:
                parent = dotted_key.rpartition(".")[0]
                raise ConfigurationError(f"{parent} has no entry {part!r} (entries: {', '.join(sorted(node))})")
            node = node[part]
        else:
            raise ConfigurationError(f"unknown key {dotted_key!r}{unknown_key_hint(dotted_key)}")
    return node
