"""The OpenAPI 3.1 document, generated from the routes and the same attrs classes the handlers use.

A handler declares its contract with :func:`doc` (summary, tag, query/body request classes, response
classes, the errors it can answer); its role comes from the route's ``ctx_role``. The JSON Schemas
are derived from the attrs classes here (sanic-ext's attrs support drops ``required`` and mangles
``Literal``, see INTERFACES.md), including the constraints declared with ``requests.field``.
Responses serialise non-finite floats as ``null``, so response numbers are ``number | null``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import attrs
from sanic import Sanic

from entrypoints.http.requests import QUERY_INT_LIMIT

ROLES = ("public", "viewer", "trader", "admin")
#: The pattern of an id or name in a path unless the operation gives another (``path={"x": (text, pattern)}``).
PATH_ID = r"^[A-Za-z0-9_:-]{1,80}$"
PROBLEM = {"$ref": "#/components/schemas/Problem"}
_PATH_PARAM = re.compile(r"<([a-zA-Z_][a-zA-Z0-9_]*)(?::[^>]*)?>")

ERROR_TEXT = {
    400: "Invalid request: `errors[]` names each bad field",
    401: "Missing or invalid credentials",
    403: "The credentials lack the role this operation needs",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Body is not application/json",
    422: "Valid JSON that the domain refuses (e.g. a parameter out of its range)",
}


@attrs.frozen
class Response:
    """One documented response: a JSON body of ``model`` (an attrs class, a list of one, or None) or
    another media type (``media`` → schema)."""

    description: str
    model: Any = None
    media: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Operation:
    summary: str
    tag: str
    description: str = ""
    query: type | None = None
    body: type | None = None
    responses: Mapping[int, Response] = attrs.field(factory=dict)
    errors: tuple[int, ...] = ()
    path_params: Mapping[str, str | tuple[str, str]] = attrs.field(factory=dict)
    idempotent: bool = False
    example: Mapping[str, Any] | None = None


def doc(
    summary: str,
    *,
    tag: str,
    description: str = "",
    query: type | None = None,
    body: type | None = None,
    responses: Mapping[int, Response] | None = None,
    errors: Sequence[int] = (),
    path: Mapping[str, str | tuple[str, str]] | None = None,
    idempotent: bool = False,
    example: Mapping[str, Any] | None = None,
) -> Callable[[Any], Any]:
    """Attach the operation's contract to a handler (put it under the route decorator)."""
    op = Operation(
        summary,
        tag,
        description,
        query,
        body,
        dict(responses or {}),
        tuple(errors),
        dict(path or {}),
        idempotent,
        example,
    )

    def attach(handler: Any) -> Any:
        handler.__openapi__ = op
        return handler

    return attach


class _Schemas:
    """JSON Schemas (2020-12, as OpenAPI 3.1 uses) of attrs classes, collected as components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def of(self, tp: Any, *, response: bool) -> dict[str, Any]:
        origin = get_origin(tp)
        if tp is Any or tp is object:
            return {}
        if origin in (Union, types.UnionType):
            args = get_args(tp)
            options = [self.of(a, response=response) for a in args if a is not type(None)]
            schema = options[0] if len(options) == 1 else {"anyOf": options}
            if type(None) in args:
                return {"anyOf": [schema, {"type": "null"}]} if "type" not in schema else _nullable(schema)
            return schema
        if origin is Literal:
            values = list(get_args(tp))
            return {"type": "string", "enum": values} if all(isinstance(v, str) for v in values) else {"enum": values}
        if origin in (list, tuple, Sequence, set, frozenset) or (origin is not None and _is_seq(origin)):
            args = get_args(tp)
            if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
                return {"type": "array", "prefixItems": [self.of(a, response=response) for a in args]}
            return {"type": "array", "items": self.of(args[0], response=response) if args else {}}
        if origin in (dict, Mapping) or (origin is not None and _is_map(origin)):
            args = get_args(tp)
            return {"type": "object", "additionalProperties": self.of(args[1], response=response) if args else {}}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": ["number", "null"]} if response else {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if tp is dt.datetime:  # stored times are naive UTC, sent without an offset (not RFC 3339 date-time)
            return {"type": "string", "description": "ISO 8601 date and time, UTC"}
        if tp is dt.date:
            return {"type": "string", "format": "date"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.value for m in tp]}
        if attrs.has(tp):
            return self.component(tp, response=response)
        if tp in (dict, Mapping):
            return {"type": "object"}
        if tp in (list, tuple):
            return {"type": "array"}
        raise TypeError(f"no JSON Schema for {tp!r}")

    def component(self, cls: type, *, response: bool) -> dict[str, Any]:
        name = cls.__name__
        ref = {"$ref": f"#/components/schemas/{name}"}
        if name in self.components:
            return ref
        self.components[name] = {}  # recursion guard
        attrs.resolve_types(cls)
        properties: dict[str, Any] = {}
        required = []
        for a in attrs.fields(cls):
            schema = dict(self.of(a.type, response=response))
            meta = dict(a.metadata)
            example = meta.pop("example", None)
            if "$ref" in schema and meta:
                schema = {"allOf": [schema]}
            schema.update(_lengths(schema, meta))
            if example is not None:
                schema["examples"] = [example]
            if a.default is attrs.NOTHING or response:
                required.append(a.name)
            elif not _is_factory(a.default) and _jsonable(a.default):
                schema["default"] = a.default.value if isinstance(a.default, enum.Enum) else a.default
            properties[a.name] = schema
        body: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            body["required"] = required
        if cls.__doc__:
            body["description"] = " ".join(cls.__doc__.strip().split())
        self.components[name] = body
        return ref


def _lengths(schema: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """``minLength``/``maxLength`` mean items for arrays and properties for objects."""
    kinds = schema.get("type") or []
    kinds = kinds if isinstance(kinds, list) else [kinds]
    meta = dict(meta)
    item_pattern, key_pattern = meta.pop("itemPattern", None), meta.pop("keyPattern", None)
    if item_pattern is not None and isinstance(schema.get("items"), dict):
        meta["items"] = {**schema["items"], "pattern": item_pattern}
    if key_pattern is not None:
        meta["propertyNames"] = {"pattern": key_pattern}
    names = {"array": ("minItems", "maxItems"), "object": ("minProperties", "maxProperties")}
    for kind, (low, high) in names.items():
        if kind in kinds:
            out = {k: v for k, v in meta.items() if k not in ("minLength", "maxLength")}
            if "minLength" in meta:
                out[low] = meta["minLength"]
            if "maxLength" in meta:
                out[high] = meta["maxLength"]
            return out
    return dict(meta)


def _is_factory(value: Any) -> bool:
    return type(value).__name__ == "Factory"


def _is_seq(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, Sequence) and not issubclass(origin, str)


def _is_map(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
    out["type"] = [*kinds, "null"] if "null" not in kinds else kinds
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | enum.Enum | tuple)


def _query_parameters(cls: type, schemas: _Schemas) -> list[dict[str, Any]]:
    attrs.resolve_types(cls)
    out = []
    for a in attrs.fields(cls):
        schema = dict(schemas.of(a.type, response=False))
        meta = dict(a.metadata)
        description = meta.pop("description", "")
        example = meta.pop("example", None)
        schema.update(_lengths(schema, meta))
        kinds = schema.get("type")
        if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):  # the parser's own bounds
            schema.setdefault("minimum", -QUERY_INT_LIMIT)
            schema.setdefault("maximum", QUERY_INT_LIMIT)
        if a.default is not attrs.NOTHING and not _is_factory(a.default) and a.default is not None:
            schema["default"] = a.default.value if isinstance(a.default, enum.Enum) else a.default
        param: dict[str, Any] = {
            "name": a.name,
            "in": "query",
            "required": a.default is attrs.NOTHING,
            "schema": schema,
        }
        if schema.get("type") == "array" or "array" in (schema.get("type") or []):
            param["style"] = "form"
            param["explode"] = False
        if description:
            param["description"] = description
        if example is not None:
            param["example"] = example
        out.append(param)
    return out


def _content(model: Any, schemas: _Schemas) -> dict[str, Any]:
    return {"application/json": {"schema": schemas.of(model, response=True)}}


def build(app: Sanic[Any, Any], *, title: str, version: str) -> dict[str, Any]:
    """The document for every route of ``app`` that carries a :func:`doc` contract."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    tags: set[str] = set()
    for route in sorted(app.router.routes, key=lambda r: r.path):
        op: Operation | None = getattr(route.handler, "__openapi__", None)
        if op is None:
            continue
        role = getattr(route.ctx, "role", None) or "admin"
        path = "/" + _PATH_PARAM.sub(r"{\1}", route.path)
        for method in sorted(route.methods):
            if method in ("HEAD", "OPTIONS"):
                continue
            operation = _operation(op, role, route, schemas)
            operation["operationId"] = route.name.split(".", 1)[-1].replace(".", "_") + (
                "" if len(route.methods) == 1 else f"_{method.lower()}"
            )
            paths.setdefault(path, {})[method.lower()] = operation
            tags.add(op.tag)
    schemas.components["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details; `errors[]` names each bad field of a refused request.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["field", "message"],
                },
            },
        },
        "required": ["type", "title", "status", "detail"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "The gpt-trader REST API v1. Errors are RFC 9457 problems; every response carries "
            "X-Request-Id; lists paginate with limit/cursor; POSTs that create work honour Idempotency-Key. "
            "Non-finite numbers are sent as null.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t} for t in sorted(tags)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


def _operation(op: Operation, role: str, route: Any, schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "x-required-role": role}
    if op.description:
        out["description"] = op.description
    params: list[dict[str, Any]] = []
    for name in _PATH_PARAM.findall(route.path):
        spec = op.path_params.get(name, "")
        description, pattern = spec if isinstance(spec, tuple) else (spec, PATH_ID)
        params.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": pattern},
                "description": description,
            }
        )
    if op.query is not None:
        params.extend(_query_parameters(op.query, schemas))
    if op.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": "The same key within 24 h returns the first response; no second job is started.",
            }
        )
    if params:
        out["parameters"] = params
    if op.body is not None:
        body: dict[str, Any] = {"schema": schemas.of(op.body, response=False)}
        if op.example is not None:
            body["example"] = dict(op.example)
        out["requestBody"] = {"required": True, "content": {"application/json": body}}
    request_id = {"X-Request-Id": {"schema": {"type": "string"}, "description": "The request's id (also in the logs)"}}
    responses: dict[str, Any] = {}
    for status, response in sorted(op.responses.items()):
        entry: dict[str, Any] = {"description": response.description, "headers": dict(request_id)}
        for header, text in response.headers.items():
            entry["headers"][header] = {"schema": {"type": "string"}, "description": text}
        if response.media is not None:
            entry["content"] = {
                k: {"schema": schemas.of(v, response=True)} if attrs.has(v) else dict(v)
                for k, v in response.media.items()
            }
        elif response.model is not None:
            entry["content"] = _content(response.model, schemas)
        responses[str(status)] = entry
    errors = set(op.errors)
    if op.query is not None or op.body is not None or op.idempotent:
        errors.add(400)
    if op.body is not None:
        errors |= {413, 415}
    if role != "public":
        errors |= {401, 403}
        out["security"] = [{"bearerAuth": []}, {"apiKeyAuth": []}]
    else:
        out["security"] = []
    for status in sorted(errors):
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "Error"),
            "headers": dict(request_id),
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
    out["responses"] = responses
    return out
