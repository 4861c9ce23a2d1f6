"""``/api/v1/workflows``: list, execute (202 + Location), status, cancel, paginated executions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import paging, requests
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import Response, doc
from entrypoints.http.owners import record_owner
from entrypoints.http.respond import accepted, ok
from entrypoints.presenters.jobs import ExecutionPage, ExecutionView, execution_view
from gpt_trader_core.services.research import param_schema

bp = Blueprint("workflows", url_prefix="/api/v1/workflows")
TAG = "workflows"
LOCATION = "/api/v1/workflows/status/{}"


@attrs.frozen
class WorkflowInfo:
    """A workflow: its steps and its inputs as JSON Schema."""

    name: str
    description: str
    steps: tuple[str, ...]
    params_schema: Mapping[str, Any]
    #: Inputs, steps (dependencies, timeouts, retries) and layers: ``gpt-trader workflow list``'s description.
    definition: Mapping[str, Any]


@attrs.frozen
class WorkflowList:
    items: tuple[WorkflowInfo, ...]


@attrs.frozen
class ExecuteBody:
    """Inputs of the workflow (see its ``params_schema``)."""

    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ExecutionQuery:
    status: Literal["pending", "running", "succeeded", "failed", "cancelled"] | None = None
    limit: int = requests.field(50, ge=1, le=500)
    cursor: str | None = requests.field(None, pattern=paging.CURSOR, description="next_cursor of the previous page")


async def _workflows(request: Request) -> Any:
    request.app.ctx.built.add("workflows")
    return await request.app.ctx.container.services.workflows()


@bp.get("/list", ctx_role="viewer")
@doc("List workflows", tag=TAG, responses={200: Response("Workflows", WorkflowList)})
async def list_workflows(request: Request) -> HTTPResponse:
    workflows = await _workflows(request)
    items = tuple(
        WorkflowInfo(d.name, d.description, tuple(s.name for s in d.steps), param_schema(d.params), d.describe())
        for d in workflows.definitions()
    )
    return ok(WorkflowList(items))


@bp.post("/execute/<workflow_id:str>", ctx_role="trader")
@doc(
    "Execute a workflow",
    tag=TAG,
    body=ExecuteBody,
    idempotent=True,
    path={"workflow_id": "Workflow name (see /workflows/list)"},
    example={"params": {"symbol": "AAPL", "strategy": "sma_cross"}},
    responses={202: Response("Started", ExecutionView, headers={"Location": "Status resource"})},
    errors=(404, 422),
)
async def execute(request: Request, workflow_id: str) -> HTTPResponse:
    body = requests.body(request, ExecuteBody)

    async def create() -> HTTPResponse:
        workflows = await _workflows(request)
        execution = await workflows.prepare(workflow_id, body.params)  # stored pending: nothing runs yet
        await record_owner(request, f"execution:{execution.id}")  # so its first event finds its owner
        execution = await workflows.start_prepared(execution.id, workflow_id)
        return accepted(execution_view(execution), LOCATION.format(execution.id))

    return await idempotent(request, create)


@bp.get("/status/<execution_id:str>", ctx_role="viewer")
@doc(
    "Execution status",
    tag=TAG,
    description="Status, progress, the steps' states in `result` while running and the report once done.",
    path={"execution_id": "The id from the 202 answer"},
    responses={200: Response("The execution", ExecutionView)},
    errors=(404,),
)
async def status(request: Request, execution_id: str) -> HTTPResponse:
    return ok(execution_view(await (await _workflows(request)).status(execution_id)))


@bp.delete("/cancel/<execution_id:str>", ctx_role="trader")
@doc(
    "Cancel an execution",
    tag=TAG,
    path={"execution_id": "The id from the 202 answer"},
    responses={200: Response("Cancelled", ExecutionView)},
    errors=(404, 409),
)
async def cancel(request: Request, execution_id: str) -> HTTPResponse:
    return ok(execution_view(await (await _workflows(request)).cancel(execution_id)))


@bp.get("/executions", ctx_role="viewer")
@doc(
    "List executions",
    tag=TAG,
    query=ExecutionQuery,
    responses={200: Response("Newest first", ExecutionPage)},
    errors=(422,),
)
async def executions(request: Request) -> HTTPResponse:
    q = requests.query(request, ExecutionQuery)
    workflows = await _workflows(request)
    items, cursor = await paging.page(lambda n: workflows.list(limit=n, status=q.status), q.limit, q.cursor)
    return ok(ExecutionPage(tuple(execution_view(e) for e in items), cursor))
