"""``/api/v1/portfolio``: positions, performance, rebalance (plan, or ``execute`` through the session's
order path), risk, position sizing — over the paper sessions."""

from __future__ import annotations

from typing import Any, Literal

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import requests
from entrypoints.http.api.params import ID, SYMBOL
from entrypoints.http.openapi import Response, doc
from entrypoints.http.respond import ok
from entrypoints.presenters import plain
from entrypoints.presenters.market import Explained
from entrypoints.presenters.portfolio import PositionList, RebalanceView, positions_view, rebalance_view
from gpt_trader_core.services.portfolio_values import PortfolioPerformance, PortfolioRisk

bp = Blueprint("portfolio", url_prefix="/api/v1/portfolio")
TAG = "portfolio"


@attrs.frozen
class PositionsQuery:
    session_id: str | None = requests.field(None, pattern=ID, description="One session (default: every running one)")


@attrs.frozen
class SessionQuery:
    session_id: str = requests.field(pattern=ID, description="The paper session")


@attrs.frozen
class RebalanceBody:
    """Move a running session to ``target_weights`` (fractions of equity) within its capital tier;
    ``execute: true`` sends the plan's orders through the session (filled at its next bar)."""

    session_id: str = requests.field(pattern=ID)
    target_weights: dict[str, float] = requests.field(
        min_length=1, max_length=50, key_pattern=SYMBOL, example={"AAPL": 0.5}
    )
    execute: bool = False


@attrs.frozen
class SizeBody:
    """Size a position in ``symbol`` (its latest close is the price) with ``method``; see the sizing slice."""

    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    capital: float = requests.field(gt=0, le=1e12, example=10_000)
    method: Literal["fixed", "fixed_fractional", "kelly", "fractional_kelly", "volatility_target"] = "fixed_fractional"
    side: Literal["buy", "sell"] = "buy"
    stop: float | None = requests.field(None, gt=0)
    units: float | None = requests.field(None, gt=0)
    amount: float | None = requests.field(None, gt=0)
    risk_fraction: float | None = requests.field(None, gt=0, le=1)
    win_rate: float | None = requests.field(None, ge=0, le=1)
    payoff_ratio: float | None = requests.field(None, gt=0)
    target_vol: float | None = requests.field(None, gt=0, le=10)
    confidence: float = requests.field(1.0, ge=0, le=1)
    regime: str | None = requests.field(None, pattern=r"^[a-z_]{1,30}$")


async def _portfolio(request: Request) -> Any:
    return await request.app.ctx.container.services.portfolio()


@bp.get("/positions", ctx_role="viewer")
@doc(
    "Current positions",
    tag=TAG,
    query=PositionsQuery,
    responses={200: Response("Positions", PositionList)},
    errors=(404,),
)
async def positions(request: Request) -> HTTPResponse:
    q = requests.query(request, PositionsQuery)
    return ok(positions_view(await (await _portfolio(request)).positions(q.session_id)))


@bp.get("/performance", ctx_role="viewer")
@doc(
    "Portfolio performance",
    tag=TAG,
    query=SessionQuery,
    responses={200: Response("Performance", PortfolioPerformance)},
    errors=(404,),
)
async def performance(request: Request) -> HTTPResponse:
    q = requests.query(request, SessionQuery)
    return ok(await (await _portfolio(request)).performance(q.session_id))


@bp.get("/risk", ctx_role="viewer")
@doc("Portfolio risk", tag=TAG, query=SessionQuery, responses={200: Response("Risk", PortfolioRisk)}, errors=(404,))
async def risk(request: Request) -> HTTPResponse:
    q = requests.query(request, SessionQuery)
    return ok(await (await _portfolio(request)).risk(q.session_id))


@bp.post("/rebalance", ctx_role="trader")
@doc(
    "Rebalance a session",
    tag=TAG,
    body=RebalanceBody,
    example={"session_id": "ses_0123456789abcdef", "target_weights": {"AAPL": 0.5}, "execute": False},
    responses={200: Response("The capital tier's plan (and whether its orders were sent)", RebalanceView)},
    errors=(404, 409, 422),
)
async def rebalance(request: Request) -> HTTPResponse:
    body = requests.body(request, RebalanceBody)
    outcome = await (await _portfolio(request)).rebalance(body.session_id, body.target_weights, execute=body.execute)
    return ok(rebalance_view(outcome))


@bp.post("/size", ctx_role="viewer")
@doc(
    "Size a position",
    tag=TAG,
    body=SizeBody,
    example={"symbol": "AAPL", "capital": 10000, "method": "fixed_fractional", "stop": 95},
    responses={200: Response("Units and every step of the decision", Explained)},
    errors=(404, 422),
)
async def size(request: Request) -> HTTPResponse:
    body = requests.body(request, SizeBody)
    options = {k: v for k, v in attrs.asdict(body).items() if v is not None and k != "symbol"}
    intelligence = await request.app.ctx.container.services.intelligence()
    decision = await intelligence.size(body.symbol, **options)
    return ok(Explained(plain(decision), decision.explain()))
