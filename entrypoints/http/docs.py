"""``/api/v1/openapi.json`` (the generated document) and ``/docs`` (a self-contained HTML page listing
every operation: nothing is fetched from a CDN)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from entrypoints.http import openapi
from entrypoints.http.openapi import Operation, Response, doc

TAG = "system"


def document(app: Sanic[Any, Any]) -> dict[str, Any]:
    """Built once per app (routes are fixed once the app is created)."""
    built: dict[str, Any] | None = getattr(app.ctx, "openapi", None)
    if built is None:
        from gpt_trader_core import __version__

        built = openapi.build(app, title="gpt-trader API", version=__version__)
        app.ctx.openapi = built
    return built


def _page(spec: dict[str, Any]) -> str:
    rows = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            statuses = " ".join(op["responses"])
            rows.append(
                f"<tr><td><code class=m-{method}>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{html.escape(op['tags'][0])}</td>"
                f"<td>{html.escape(op['x-required-role'])}</td><td>{html.escape(params)}</td><td>{statuses}</td></tr>"
            )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>gpt-trader API</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border-bottom:1px solid"
        " #ddd;padding:4px 8px;text-align:left;vertical-align:top}code{font-size:13px}.m-get{color:#06c}"
        ".m-post{color:#080}.m-delete{color:#b00}</style></head><body>"
        f"<h1>gpt-trader API {html.escape(spec['info']['version'])}</h1><p>{html.escape(spec['info']['description'])}"
        "</p><p>Machine-readable: <a href=/api/v1/openapi.json>/api/v1/openapi.json</a> (OpenAPI 3.1).</p>"
        "<table><tr><th>method</th><th>path</th><th>summary</th><th>tag</th><th>role</th><th>parameters</th>"
        f"<th>responses</th></tr>{''.join(rows)}</table></body></html>"
    )


#: Contracts of the routes ``metrics.py`` registers (documented here so the document stays complete).
_EXTERNAL = {
    "metrics": Operation(
        "Prometheus metrics",
        TAG,
        "Every metric of this process in the Prometheus text exposition format.",
        responses={200: Response("Metrics", media={"text/plain": {"schema": {"type": "string"}}})},
    ),
    "api/v1/system/metrics": Operation(
        "Monitoring snapshot",
        TAG,
        "System metrics, loop lag, request statistics, component health, recent executions, firing alerts.",
        responses={200: Response("Snapshot", media={"application/json": {"schema": {"type": "object"}}})},
    ),
}


def document_external_routes(app: Sanic[Any, Any], roles: Mapping[str, str]) -> None:
    """Give routes other modules register without ``ctx_role``/contract their role and contract."""
    for route in app.router.routes:
        if route.path in roles and getattr(route.ctx, "role", None) is None:
            route.ctx.role = roles[route.path]
        if route.path in _EXTERNAL and not hasattr(route.handler, "__openapi__"):
            route.handler.__openapi__ = _EXTERNAL[route.path]


def install_docs(app: Sanic[Any, Any]) -> None:
    @app.get("/api/v1/openapi.json", ctx_role="public")
    @doc(
        "This OpenAPI document",
        tag=TAG,
        responses={200: Response("OpenAPI 3.1", media={"application/json": {"schema": {"type": "object"}}})},
    )
    async def openapi_json(request: Request) -> HTTPResponse:
        return HTTPResponse(json.dumps(document(request.app)), content_type="application/json")

    @app.get("/docs", ctx_role="public")
    @doc(
        "Browsable API documentation",
        tag=TAG,
        responses={200: Response("HTML", media={"text/html": {"schema": {"type": "string"}}})},
    )
    async def docs(request: Request) -> HTTPResponse:
        return HTTPResponse(_page(document(request.app)), content_type="text/html; charset=utf-8")
