"""``/api/v1/studies``: the stored optimisation studies (every one, however started: the CLI, the API,
a workflow) with their trials — list, show, delete. What ``gpt-trader studies … --remote`` reads."""

from __future__ import annotations

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty

from entrypoints.http import requests
from entrypoints.http.openapi import Response, doc
from entrypoints.http.respond import ok
from gpt_trader_core.domain.records import StudyRecord, TrialRecord

bp = Blueprint("studies", url_prefix="/api/v1/studies")
TAG = "studies"


@attrs.frozen
class StudyQuery:
    limit: int = requests.field(50, ge=1, le=500, description="How many, newest first")


@attrs.frozen
class StudyList:
    items: tuple[StudyRecord, ...]


@attrs.frozen
class StudyDetail:
    """A study (what it searches, how, its status and best trial so far) and its finished trials, in
    search order."""

    study: StudyRecord
    trials: tuple[TrialRecord, ...]


@bp.get("", ctx_role="viewer")
@doc(
    "List optimisation studies",
    tag=TAG,
    description="Stored studies, newest first: status, trials, best value.",
    query=StudyQuery,
    responses={200: Response("Newest first", StudyList)},
    errors=(422,),
)
async def list_studies(request: Request) -> HTTPResponse:
    q = requests.query(request, StudyQuery)
    optimizer = await request.app.ctx.container.services.optimizer()
    return ok(StudyList(tuple(await optimizer.list_studies(limit=q.limit))))


@bp.get("/<study_id:str>", ctx_role="viewer")
@doc(
    "Show an optimisation study",
    tag=TAG,
    path={"study_id": "Study id"},
    responses={200: Response("The study and its finished trials", StudyDetail)},
    errors=(404,),
)
async def show_study(request: Request, study_id: str) -> HTTPResponse:
    optimizer = await request.app.ctx.container.services.optimizer()
    study, trials = await optimizer.get_study(study_id)
    return ok(StudyDetail(study, tuple(trials)))


@bp.delete("/<study_id:str>", ctx_role="trader")
@doc(
    "Delete an optimisation study",
    tag=TAG,
    description="The study and all its trials (it can no longer be resumed).",
    path={"study_id": "Study id"},
    responses={204: Response("Deleted")},
    errors=(404,),
)
async def delete_study(request: Request, study_id: str) -> HTTPResponse:
    optimizer = await request.app.ctx.container.services.optimizer()
    await optimizer.delete_study(study_id)
    return empty(status=204)
