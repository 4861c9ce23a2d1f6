"""``/api/v1/backtests``: saved results (list, show) and background backtest jobs."""

from __future__ import annotations

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import paging, requests
from entrypoints.http.api.params import ID, SYMBOL
from entrypoints.http.openapi import Response, doc
from entrypoints.http.respond import ok
from entrypoints.presenters.backtests import BacktestPage, BacktestRecordView, record_view
from entrypoints.presenters.jobs import ExecutionView, execution_view

bp = Blueprint("backtests", url_prefix="/api/v1/backtests")
TAG = "backtests"


@attrs.frozen
class BacktestQuery:
    strategy: str | None = requests.field(None, pattern=ID, description="Only this strategy")
    symbol: str | None = requests.field(None, pattern=SYMBOL, description="Only this symbol")
    limit: int = requests.field(50, ge=1, le=500)
    cursor: str | None = requests.field(None, pattern=paging.CURSOR, description="next_cursor of the previous page")


@bp.get("", ctx_role="viewer")
@doc(
    "List saved backtests",
    tag=TAG,
    query=BacktestQuery,
    responses={200: Response("Newest first", BacktestPage)},
    errors=(422,),
)
async def list_backtests(request: Request) -> HTTPResponse:
    q = requests.query(request, BacktestQuery)
    results = await request.app.ctx.container.services.results()
    symbol = q.symbol.upper() if q.symbol else None
    items, cursor = await paging.page(
        lambda n: results.list(strategy=q.strategy, symbol=symbol, limit=n), q.limit, q.cursor
    )
    return ok(BacktestPage(tuple(record_view(r) for r in items), cursor))


@bp.get("/<backtest_id:str>", ctx_role="viewer")
@doc(
    "Show a saved backtest",
    tag=TAG,
    path={"backtest_id": "The id a backtest was saved under"},
    responses={200: Response("With its trades", BacktestRecordView)},
    errors=(404,),
)
async def show_backtest(request: Request, backtest_id: str) -> HTTPResponse:
    results = await request.app.ctx.container.services.results()
    return ok(record_view(await results.get(backtest_id), trades=True))


@bp.get("/jobs/<execution_id:str>", ctx_role="viewer")
@doc(
    "Status of a background backtest",
    tag=TAG,
    description="`result.record_id` names the saved backtest once it succeeded.",
    path={"execution_id": "The id from the 202 answer"},
    responses={200: Response("The job", ExecutionView)},
    errors=(404,),
)
async def backtest_job(request: Request, execution_id: str) -> HTTPResponse:
    jobs = await request.app.ctx.container.services.jobs()
    return ok(execution_view(await jobs.get(execution_id, "backtest")))
