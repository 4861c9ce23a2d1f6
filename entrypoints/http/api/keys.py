"""``/api/v1/keys`` (admin): create (the key is in this one answer only), list, revoke API keys."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from entrypoints.http.auth import authentication
from entrypoints.http.auth.bodies import (
    CreatedKeyView,
    KeyPage,
    KeyView,
    NewKeyRequest,
    created_key_view,
    key_view,
    parse,
    plain,
)
from entrypoints.http.openapi import Response, doc
from gpt_trader_core.services.auth import parse_duration

bp = Blueprint("keys", url_prefix="/api/v1/keys")
TAG = "keys"


@bp.get("/", ctx_role="admin", strict_slashes=False)
@doc("List API keys (never their text)", tag=TAG, responses={200: Response("Every key", KeyPage)})
async def list_keys(request: Request) -> HTTPResponse:
    auth = await authentication(request.app)
    return json(plain(KeyPage(tuple(key_view(key) for key in await auth.list_keys()))))


@bp.post("/", ctx_role="admin", strict_slashes=False)
@doc(
    "Create an API key (the key is in this answer only)",
    tag=TAG,
    body=NewKeyRequest,
    responses={201: Response("The key and its text", CreatedKeyView)},
    errors=(400, 422),
)
async def create_key(request: Request) -> HTTPResponse:
    body = parse(request, NewKeyRequest)
    expires = parse_duration(body.expires) if body.expires else None
    auth = await authentication(request.app)
    key, text = await auth.create_key(body.name, body.role, expires_in=expires, by=request.ctx.principal.subject)
    return json(plain(created_key_view(key, text)), status=201, headers={"Location": f"/api/v1/keys/{key.id}"})


@bp.delete("/<key_id:str>", ctx_role="admin")
@doc(
    "Revoke an API key (refused from the next request on)",
    tag=TAG,
    path={"key_id": "Key id, as keys list shows"},
    responses={200: Response("The revoked key", KeyView)},
    errors=(404,),
)
async def revoke_key(request: Request, key_id: str) -> HTTPResponse:
    auth = await authentication(request.app)
    return json(plain(key_view(await auth.revoke_key(key_id, by=request.ctx.principal.subject))))
