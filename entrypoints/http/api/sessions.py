"""``/api/v1/sessions``: paper-trading sessions — start, list, show, their equity and orders, stop (``live``
refused with the reason)."""

from __future__ import annotations

from typing import Any, Literal

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import paging, requests
from entrypoints.http.api.params import ID, SYMBOL
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import Response, doc
from entrypoints.http.owners import first_owner_recorder, owner_recorder
from entrypoints.http.respond import ok
from entrypoints.presenters.orders import OrderPage, order_view
from entrypoints.presenters.sessions import (
    SessionDetail,
    SessionEquity,
    SessionPage,
    SessionView,
    session_detail,
    session_equity,
    session_view,
)
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.services.sessions import SessionRequest

bp = Blueprint("sessions", url_prefix="/api/v1/sessions")
TAG = "sessions"


@attrs.frozen
class StartBody:
    """Start ``strategy(**params)`` on ``symbols`` with ``capital``. ``mode: live`` is refused (409) until a
    live broker adapter exists. ``feed``: ``{"kind": "synthetic" | "replay", ...}``."""

    strategy: str = requests.field(pattern=ID, example="sma_cross")
    symbols: tuple[str, ...] = requests.field(min_length=1, max_length=20, item_pattern=SYMBOL, example=["AAPL"])
    params: dict[str, Any] = attrs.field(factory=dict)
    capital: float = requests.field(10_000.0, gt=0, le=1e12)
    mode: Literal["paper", "live"] = "paper"
    feed: dict[str, Any] = attrs.field(factory=lambda: {"kind": "synthetic"})
    risk: dict[str, Any] | None = None
    tier_aware: bool = True


@attrs.frozen
class ResumeBody:
    """Continue a stopped, failed or interrupted session on the data it started on (as ``gpt-trader run
    --resume``): ``speed`` replaces its feed's speed from here on (0: as fast as possible), ``bars`` stops it
    (resumably) after that many more bars."""

    speed: float | None = requests.field(None, ge=0, le=1e6, example=0)
    bars: int | None = requests.field(None, ge=1, le=10_000_000, example=100)


@attrs.frozen
class SessionQuery:
    status: Literal["running", "stopped", "finished", "failed", "interrupted"] | None = None
    limit: int = requests.field(50, ge=1, le=500)
    cursor: str | None = requests.field(None, pattern=paging.CURSOR, description="next_cursor of the previous page")


@attrs.frozen
class EquityQuery:
    after_bar: int = requests.field(-1, ge=-1, description="only bars after this one (what a chart lacks)")
    points: int = requests.field(2000, ge=1, le=100_000, description="at most this many, the newest")


@attrs.frozen
class EquitiesQuery:
    ids: tuple[str, ...] = requests.field(
        min_length=1, max_length=50, item_pattern=ID, description="session ids, comma-separated", example=["ses_1"]
    )
    points: int = requests.field(120, ge=1, le=5000, description="at most this many per session, the newest")


@attrs.frozen
class SessionEquities:
    """The recent equity of several sessions (as ``/{id}/equity``), in the order asked."""

    items: tuple[SessionEquity, ...]


@attrs.frozen
class OrderQuery:
    limit: int = requests.field(50, ge=1, le=500)
    cursor: str | None = requests.field(None, pattern=paging.CURSOR, description="next_cursor of the previous page")


def _sessions(request: Request) -> Any:
    return request.app.ctx.sessions


@bp.post("", ctx_role="trader")
@doc(
    "Start a paper session",
    tag=TAG,
    body=StartBody,
    idempotent=True,
    example={"strategy": "sma_cross", "symbols": ["AAPL"], "capital": 10000},
    responses={201: Response("Started", SessionView, headers={"Location": "The session"})},
    errors=(404, 409, 422),
)
async def start(request: Request) -> HTTPResponse:
    body = requests.body(request, StartBody)
    command = SessionRequest(
        strategy=body.strategy,
        symbols=body.symbols,
        params=body.params,
        capital=body.capital,
        mode=body.mode,
        feed=body.feed,
        risk=body.risk,
        tier_aware=body.tier_aware,
    )

    async def create() -> HTTPResponse:
        record = await _sessions(request).start(command, before_start=owner_recorder(request))
        return ok(session_view(record), 201, {"location": f"/api/v1/sessions/{record.id}"})

    return await idempotent(request, create)


@bp.get("", ctx_role="viewer")
@doc(
    "List sessions", tag=TAG, query=SessionQuery, responses={200: Response("Newest first", SessionPage)}, errors=(422,)
)
async def list_sessions(request: Request) -> HTTPResponse:
    q = requests.query(request, SessionQuery)
    status = SessionStatus(q.status) if q.status else None
    items, cursor = await paging.page(lambda n: _sessions(request).list(status=status, limit=n), q.limit, q.cursor)
    return ok(SessionPage(tuple(session_view(s) for s in items), cursor))


@bp.get("/equity", ctx_role="viewer")
@doc(
    "Several sessions' recent equity",
    tag=TAG,
    description="One request for what a page of sessions draws (the dashboard's sparklines): the newest "
    "`points` bars of each session in `ids`; 404 names a session that does not exist.",
    query=EquitiesQuery,
    responses={200: Response("One equity column set per session, in the order asked", SessionEquities)},
    errors=(404, 422),
)
async def equities(request: Request) -> HTTPResponse:
    q = requests.query(request, EquitiesQuery)
    sessions = _sessions(request)
    wanted = tuple(dict.fromkeys(q.ids))  # each once, in the order asked
    found = [await sessions.equity(session_id, last=q.points) for session_id in wanted]
    return ok(SessionEquities(tuple(session_equity(i, f) for i, f in zip(wanted, found, strict=True))))


@bp.get("/<session_id:str>", ctx_role="viewer")
@doc(
    "Show a session",
    tag=TAG,
    path={"session_id": "Session id"},
    responses={200: Response("The session with positions, fills and performance", SessionDetail)},
    errors=(404,),
)
async def show(request: Request, session_id: str) -> HTTPResponse:
    return ok(session_detail(await _sessions(request).status(session_id)))


@bp.get("/<session_id:str>/equity", ctx_role="viewer")
@doc(
    "A session's equity by bar",
    tag=TAG,
    path={"session_id": "Session id"},
    query=EquityQuery,
    responses={200: Response("Bar, time, cash and equity columns, oldest first", SessionEquity)},
    errors=(404, 422),
)
async def equity(request: Request, session_id: str) -> HTTPResponse:
    q = requests.query(request, EquityQuery)
    snapshots = await _sessions(request).equity(session_id, after_bar=q.after_bar, last=q.points)
    return ok(session_equity(session_id, snapshots))


@bp.get("/<session_id:str>/orders", ctx_role="viewer")
@doc(
    "A session's orders",
    tag=TAG,
    description="Every order the session placed, in its latest state, newest first; the fields of the "
    "WebSocket's `order` messages (trades:live) plus type, prices, commission and times.",
    path={"session_id": "Session id"},
    query=OrderQuery,
    responses={200: Response("Newest first", OrderPage)},
    errors=(404, 422),
)
async def orders(request: Request, session_id: str) -> HTTPResponse:
    q = requests.query(request, OrderQuery)
    # The whole list is asked for once, before paging: an unknown session is a 404 even past the last page.
    placed = await _sessions(request).orders(session_id)

    async def newest(n: int) -> tuple[Any, ...]:
        return placed[:n]

    items, cursor = await paging.page(newest, q.limit, q.cursor)
    return ok(OrderPage(tuple(order_view(o) for o in items), cursor))


@bp.post("/<session_id:str>/stop", ctx_role="trader")
@doc(
    "Stop a session",
    tag=TAG,
    description="Stops after the current bar; its state is already persisted.",
    path={"session_id": "Session id"},
    responses={200: Response("Stopped", SessionView)},
    errors=(404,),
)
async def stop(request: Request, session_id: str) -> HTTPResponse:
    return ok(session_view(await _sessions(request).stop(session_id)))


@bp.post("/<session_id:str>/resume", ctx_role="trader")
@doc(
    "Resume a session",
    tag=TAG,
    body=ResumeBody,
    description="Continues a stopped, failed or interrupted session in the background from its first "
    "uncommitted bar, on exactly the data it started on (a changed data file is refused, 409). A finished "
    "session, or one another process is running, is a 409.",
    path={"session_id": "Session id"},
    example={"speed": 0, "bars": 100},
    responses={200: Response("Running again", SessionView)},
    errors=(404, 409, 422),
)
async def resume(request: Request, session_id: str) -> HTTPResponse:
    body = requests.body(request, ResumeBody)
    record = await _sessions(request).resume_in_background(
        session_id, speed=body.speed, bars=body.bars, before_start=first_owner_recorder(request)
    )
    return ok(session_view(record))
