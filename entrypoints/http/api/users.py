"""``/api/v1/users`` (admin): list, add, remove users, set a password."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from entrypoints.http.auth import authentication
from entrypoints.http.auth.bodies import NewUserRequest, PasswordRequest, UserPage, UserView, parse, plain, user_view
from entrypoints.http.openapi import Response, doc

bp = Blueprint("users", url_prefix="/api/v1/users")
TAG = "users"


@bp.get("/", ctx_role="admin", strict_slashes=False)
@doc("List users", tag=TAG, responses={200: Response("Every user, by name", UserPage)})
async def list_users(request: Request) -> HTTPResponse:
    auth = await authentication(request.app)
    return json(plain(UserPage(tuple(user_view(user) for user in await auth.list_users()))))


@bp.post("/", ctx_role="admin", strict_slashes=False)
@doc(
    "Add a user", tag=TAG, body=NewUserRequest, responses={201: Response("The user", UserView)}, errors=(400, 409, 422)
)
async def add_user(request: Request) -> HTTPResponse:
    body = parse(request, NewUserRequest)
    auth = await authentication(request.app)
    user = await auth.add_user(body.username, body.role, body.password, by=request.ctx.principal.subject)
    return json(plain(user_view(user)), status=201, headers={"Location": f"/api/v1/users/{user.username}"})


@bp.get("/<username:str>", ctx_role="admin")
@doc(
    "Show a user",
    tag=TAG,
    path={"username": "User name"},
    responses={200: Response("The user", UserView)},
    errors=(404,),
)
async def get_user(request: Request, username: str) -> HTTPResponse:
    auth = await authentication(request.app)
    return json(plain(user_view(await auth.get_user(username))))


@bp.put("/<username:str>/password", ctx_role="admin")
@doc(
    "Set a user's password (its other logins end)",
    tag=TAG,
    path={"username": "User name"},
    body=PasswordRequest,
    responses={204: Response("Changed")},
    errors=(400, 404, 422),
)
async def set_password(request: Request, username: str) -> HTTPResponse:
    body = parse(request, PasswordRequest)
    auth = await authentication(request.app)
    await auth.set_password(username, body.password, by=request.ctx.principal.subject)
    return empty(status=204)


@bp.delete("/<username:str>", ctx_role="admin")
@doc("Remove a user", tag=TAG, path={"username": "User name"}, responses={204: Response("Removed")}, errors=(404,))
async def remove_user(request: Request, username: str) -> HTTPResponse:
    auth = await authentication(request.app)
    await auth.remove_user(username, by=request.ctx.principal.subject)
    return empty(status=204)
