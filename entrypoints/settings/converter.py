"""The one cattrs converter of the settings edge: strict structuring, every error collected.

``settings_to_dict`` is its way back: plain nested data, secrets redacted unless asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, get_origin

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError

from entrypoints.settings.schema import SECTIONS, Settings
from entrypoints.settings.secret import Secret, redact_url
from entrypoints.settings.validators import (
    InvalidValueError,
    expect_bool,
    expect_float,
    expect_int,
    expect_secret,
    expect_str,
)


class UnknownKeyError(KeyError):
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
            raise InvalidValueError(f"expected a mapping of settings, got {data!r}")
        errors = [_note(UnknownKeyError(key), str(key), None) for key in data if key not in fields]
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name not in data:
                continue
            try:
                value = converter.structure(data[name], field.type)
                if field.validator is not None:
                    field.validator(None, field, value)
            except InvalidValueError as exc:
                if exc.subkey is not None:  # the problem is one level down: nest it for the path
                    inner = _note(InvalidValueError(exc.detail, source_key=exc.source_key), exc.subkey, None)
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
        raise InvalidValueError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _structure_ttls(value: Any, _type: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"expected a mapping of kind → seconds, got {value!r}")
    return dict(value)


def is_literal(type_: Any) -> bool:
    origin: Any = get_origin(type_)
    return origin is Literal


def _make_converter() -> cattrs.Converter:
    # The only converter of the settings edge. Strict hooks replace cattrs' coercing defaults
    # (int("9") / bool("false") / list("abc")); section hooks collect every error (see above).
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(int, lambda value, _: expect_int(value))
    converter.register_structure_hook(float, lambda value, _: expect_float(value))
    converter.register_structure_hook(bool, lambda value, _: expect_bool(value))
    converter.register_structure_hook(str, lambda value, _: expect_str(value))
    converter.register_structure_hook(Secret, lambda value, _: expect_secret(value))
    # Literal values are checked by the fields' validators, with the list of choices.
    converter.register_structure_hook_func(is_literal, lambda value, _: value)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _structure_origins)
    converter.register_structure_hook_func(lambda t: t == dict[str, int], _structure_ttls)
    for cls in SECTIONS:
        converter.register_structure_hook(cls, _section_hook(converter, cls))
    converter.register_unstructure_hook(Secret, lambda secret: secret)  # redacted (or not) later
    return converter


CONVERTER: Final = _make_converter()


def _plain(value: Any, redact: bool) -> Any:
    # Sections walked directly rather than by ``CONVERTER.unstructure``: the same data, without cattrs
    # generating (compiling) an unstructure function for each section at every start of the CLI.
    if attrs.has(type(value)) and not isinstance(value, Secret):
        return {field.name: _plain(getattr(value, field.name), redact) for field in attrs.fields(type(value))}
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
    data: dict[str, Any] = _plain(settings, redact)
    if redact:
        data["state"]["url"] = redact_url(data["state"]["url"])
    return data
