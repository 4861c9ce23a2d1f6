"""The HTTP edge's cattrs converter: JSON bodies and query strings → attrs request values.

Unknown fields are refused (``forbid_extra_keys``); a JSON body's scalars must already have their
type (``"5"`` is not an integer), a query string's are parsed from text. Every problem is reported
as ``{"field": "body.limit", "message": "..."}`` so a client can point at it. Constraints declared
with :func:`field` are checked here AND published in the OpenAPI document from the same metadata.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.preconf.json import make_converter
from cattrs.v import format_exception
from sanic import Request

T = TypeVar("T")

#: Largest JSON body accepted (bytes); Sanic answers 413 above ``REQUEST_MAX_SIZE`` first.
MAX_BODY_BYTES = 1_000_000


class RequestInvalidError(Exception):
    """A request the edge refuses: ``status`` (400/415) and one entry per bad field."""

    def __init__(self, status: int, detail: str, errors: Sequence[Mapping[str, str]] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)


#: Query integers have at most this many digits (the OpenAPI document says so with minimum/maximum).
QUERY_INT_DIGITS = 18
QUERY_INT_LIMIT = 10**QUERY_INT_DIGITS - 1


def field(
    default: Any = attrs.NOTHING,
    *,
    description: str = "",
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    example: Any = None,
    factory: Any = None,
    item_pattern: str | None = None,
    key_pattern: str | None = None,
) -> Any:
    """An attrs field whose constraints are validated on structuring and documented in OpenAPI."""
    meta = {
        k: v
        for k, v in {
            "description": description,
            "minimum": ge,
            "maximum": le,
            "exclusiveMinimum": gt,
            "minLength": min_length,
            "maxLength": max_length,
            "pattern": pattern,
            "example": example,
            "itemPattern": item_pattern,
            "keyPattern": key_pattern,
        }.items()
        if v not in (None, "")
    }

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        name = attribute.name
        if isinstance(value, int | float) and not isinstance(value, bool):
            if ge is not None and value < ge:
                raise FieldInvalidError(name, f"must be ≥ {ge:g}, got {value!r}")
            if le is not None and value > le:
                raise FieldInvalidError(name, f"must be ≤ {le:g}, got {value!r}")
            if gt is not None and value <= gt:
                raise FieldInvalidError(name, f"must be > {gt:g}, got {value!r}")
        if isinstance(value, str | tuple | list | dict):
            if min_length is not None and len(value) < min_length:
                raise FieldInvalidError(name, f"needs at least {min_length} item(s)/character(s)")
            if max_length is not None and len(value) > max_length:
                raise FieldInvalidError(name, f"allows at most {max_length} item(s)/character(s), got {len(value)}")
        if pattern is not None and isinstance(value, str) and not re.fullmatch(pattern, value):
            raise FieldInvalidError(name, f"must match {pattern}, got {value!r}")
        if item_pattern is not None and isinstance(value, tuple | list):
            for i, item in enumerate(value):
                if not re.fullmatch(item_pattern, str(item)):
                    raise FieldInvalidError(f"{name}[{i}]", f"must match {item_pattern}, got {item!r}")
        if key_pattern is not None and isinstance(value, dict):
            for key in value:
                if not re.fullmatch(key_pattern, str(key)):
                    raise FieldInvalidError(name, f"key {key!r} must match {key_pattern}")

    kwargs: dict[str, Any] = {"validator": check, "metadata": meta}
    if factory is not None:
        kwargs["factory"] = factory
    else:
        kwargs["default"] = default
    return attrs.field(**kwargs)


class FieldInvalidError(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name} {message}")
        self.name = name
        self.message = message


def _strict(kind: type, name: str) -> Any:
    def hook(value: Any, _: Any) -> Any:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, float) and value.is_integer():  # JSON Schema: 2.0 is an integer
            return int(value)
        if not ok:
            raise ValueError(f"expected {name}, got {type(value).__name__} {value!r}")
        if kind is float and value != value:
            raise ValueError("expected a finite number")
        return value

    return hook


def _date(value: Any, _: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None


@functools.cache
def converter() -> cattrs.Converter:
    """The edge's converter (built once, on first use)."""
    conv = make_converter(forbid_extra_keys=True, prefer_attrib_converters=False)
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(float, _strict(float, "a number"))
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(dt.date, _date)
    conv.register_structure_hook(Any, lambda v, _: v)

    def is_array(tp: Any) -> bool:
        return get_origin(tp) in (tuple, list) and (get_origin(tp) is list or get_args(tp)[-1:] == (Ellipsis,))

    def array(value: Any, tp: Any) -> Any:
        if not isinstance(value, list):  # a string is not a list of its characters
            raise ValueError(f"expected an array, got {type(value).__name__}")
        item = get_args(tp)[0] if get_args(tp) else Any
        items = [conv.structure(v, item) for v in value]
        return tuple(items) if get_origin(tp) is tuple else items

    conv.register_structure_hook_func(is_array, array)

    def is_object(tp: Any) -> bool:
        return get_origin(tp) in (dict, Mapping)

    def mapping(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"expected an object, got {type(value).__name__}")
        key, val = get_args(tp) or (str, Any)
        return {conv.structure(k, key): conv.structure(v, val) for k, v in value.items()}

    conv.register_structure_hook_func(is_object, mapping)
    return conv


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, FieldInvalidError):  # an attrs validator: name the field it guards
        return f"{exc.name}\x00{exc.message}"
    return format_exception(exc, type_)


def _messages(exc: Exception, root: str) -> list[dict[str, str]]:
    out = []
    for line in cattrs.transform_error(exc, path=root, format_exception=_format):
        message, _, where = line.rpartition(" @ ")
        name, sep, text = message.partition("\x00")
        if sep:
            where, message = f"{where}.{name}", text
        out.append({"field": where, "message": message})
    return out


def structure(data: Any, cls: type[T], root: str) -> T:
    """``data`` as ``cls``, or ``RequestInvalidError`` (400) naming every bad field under ``root``."""
    if not isinstance(data, Mapping):
        raise RequestInvalidError(
            400, f"the {root} must be a JSON object", [{"field": root, "message": "expected an object"}]
        )
    missing = [
        {"field": f"{root}.{a.name}", "message": "required"}
        for a in attrs.fields(cls)  # type: ignore[arg-type]
        if a.default is attrs.NOTHING and a.name not in data
    ]
    if missing:
        raise RequestInvalidError(400, "required field(s) missing: " + ", ".join(m["field"] for m in missing), missing)
    try:
        return converter().structure(data, cls)
    except cattrs.BaseValidationError as exc:
        errors = _messages(exc, root)
        raise RequestInvalidError(400, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors) from None
    except FieldInvalidError as exc:
        error = {"field": f"{root}.{exc.name}", "message": exc.message}
        raise RequestInvalidError(400, f"{error['field']} {exc.message}", [error]) from None


def body(request: Request, cls: type[T]) -> T:
    """The JSON body as ``cls``: 415 unless ``application/json``, 400 for malformed JSON or bad fields."""
    if len(request.body or b"") > MAX_BODY_BYTES:  # the server refuses it earlier; ASGI hosts may not
        raise RequestInvalidError(413, f"the request body is larger than {MAX_BODY_BYTES:,} bytes")
    ctype = (request.content_type or "").split(";")[0].strip().lower()
    if not request.body and ctype == "":
        data: Any = {}
    elif ctype != "application/json" and not ctype.endswith("+json"):
        raise RequestInvalidError(415, f"send the body as application/json, not {ctype or 'no content type'}")
    else:
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestInvalidError(
                400, f"the body is not valid JSON: {exc}", [{"field": "body", "message": "invalid JSON"}]
            ) from None
    return structure(data, cls, "body")


def query(request: Request, cls: type[T]) -> T:
    """The query string as ``cls``: each value parsed from text by its field's type."""
    attrs.resolve_types(cls)  # type: ignore[type-var]
    fields = {a.name: a for a in attrs.fields(cls)}  # type: ignore[arg-type]
    data: dict[str, Any] = {}
    errors = []
    for name, values in request.get_args(keep_blank_values=True).items():
        attribute = fields.get(name)
        if attribute is None:
            errors.append(
                {"field": f"query.{name}", "message": f"unknown parameter; known: {', '.join(fields) or 'none'}"}
            )
            continue
        try:
            data[name] = _from_text(attribute.type, values)
        except ValueError as exc:
            errors.append({"field": f"query.{name}", "message": str(exc)})
    if errors:
        raise RequestInvalidError(400, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
    return structure(data, cls, "query")


def _from_text(tp: Any, values: Sequence[str]) -> Any:
    tp = _unoptional(tp)
    origin = get_origin(tp)
    if origin in (tuple, list) or (origin is not None and origin is Sequence):
        item = get_args(tp)[0]
        return [_scalar(item, v) for value in values for v in value.split(",") if v != ""]
    if len(values) > 1:
        raise ValueError("given more than once")
    return _scalar(tp, values[0])


def _unoptional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _scalar(tp: Any, text: str) -> Any:
    tp = _unoptional(tp)
    if tp is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if tp is int:
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"expected an integer, got {text!r}")
        if len(text.lstrip("-")) > QUERY_INT_DIGITS:
            raise ValueError(f"expected an integer of at most {QUERY_INT_DIGITS} digits, got {text!r}")
        return int(text)
    if tp is float:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, got {text!r}")
        return number
    if get_origin(tp) is Literal or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return text  # the converter checks the allowed values
    return text
