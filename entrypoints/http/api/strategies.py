"""``/api/v1/strategies``: catalogue, backtest, track record, optimisation studies, recommendation, comparison."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import paging, requests
from entrypoints.http.api.params import ID, SYMBOL, Timeframe
from entrypoints.http.caching import cached_read
from entrypoints.http.idempotency import idempotent
from entrypoints.http.openapi import Response, doc
from entrypoints.http.owners import owner_recorder
from entrypoints.http.respond import accepted, ok, ok_json
from entrypoints.presenters import plain
from entrypoints.presenters.backtests import BacktestView, backtest_json, backtest_view
from entrypoints.presenters.jobs import ExecutionPage, ExecutionView, execution_view
from entrypoints.presenters.market import Explained
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.records import Execution
from gpt_trader_core.services.backtest import BacktestRequest
from gpt_trader_core.services.market_reads import check_window
from gpt_trader_core.services.optimization import OptimizeRequest
from gpt_trader_core.services.research import StrategyInfo, StrategyTrackRecord, as_datetime

bp = Blueprint("strategies", url_prefix="/api/v1/strategies")
TAG = "strategies"
LOCATION = "/api/v1/strategies/optimize/{}"
JOB_LOCATION = "/api/v1/backtests/jobs/{}"


@attrs.frozen
class Costs:
    """Trading costs and capital of a simulated account."""

    cash: float = requests.field(10_000.0, gt=0, le=1e12, description="Starting cash")
    commission: float = requests.field(0.0, ge=0, le=0.1, description="Commission per trade, fraction of value")
    slippage: float = requests.field(0.0, ge=0, le=0.1, description="Slippage per fill, fraction of price")
    spread: float = requests.field(0.0, ge=0, le=0.1, description="Bid-ask spread paid on entries, fraction of price")
    mode: Literal["long_short", "long_only"] = "long_short"
    fill: Literal["next_open", "close"] = "next_open"
    close_at_end: bool = False
    stop_loss: float | None = requests.field(None, gt=0, le=10, description="Stop loss, fraction of the entry")
    take_profit: float | None = requests.field(None, gt=0, le=100, description="Take profit, fraction of the entry")
    trailing_stop: float | None = requests.field(None, gt=0, le=10, description="Trailing stop, fraction")

    def config(self) -> BacktestConfig:
        return BacktestConfig(
            cash=self.cash,
            commission=self.commission,
            slippage=self.slippage,
            spread=self.spread,
            mode=self.mode,
            fill=self.fill,
            close_at_end=self.close_at_end,
            stop_loss=self.stop_loss,
            take_profit=self.take_profit,
            trailing_stop=self.trailing_stop,
        )


@attrs.frozen
class BacktestBody:
    """Backtest ``strategy(**params)`` on ``symbol``; small jobs answer at once (200), large ones run
    in the background (202 + ``Location``). The result is saved with an id unless ``save`` is false."""

    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    strategy: str = requests.field(pattern=ID, example="sma_cross")
    params: dict[str, Any] = requests.field(factory=dict, description="Strategy parameters (see /strategies/list)")
    start: dt.date | None = requests.field(None, description="First day (default: the source's first)")
    end: dt.date | None = requests.field(None, description="Last day (default: the source's last)")
    timeframe: Timeframe = "1d"
    costs: Costs = attrs.field(factory=Costs)
    save: bool = True
    equity_points: int = requests.field(200, ge=2, le=5000, description="Points of the downsampled equity curve")
    detail: Literal["summary", "full"] = requests.field(
        "summary",
        description="full: also the whole result in `result` (every bar's equity; what the CLI's --remote reads)",
    )


@attrs.frozen
class OptimizeBody:
    """Search ``strategy``'s parameters on ``symbol`` in the background (a resumable study)."""

    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    strategy: str = requests.field(pattern=ID, example="sma_cross")
    space: dict[str, Any] = requests.field(
        factory=dict,
        description="Parameter → list of candidates (searched) or one value (fixed)",
        example={"fast": [5, 10], "slow": [20, 50]},
    )
    start: dt.date | None = None
    end: dt.date | None = None
    timeframe: Timeframe = "1d"
    objective: str = requests.field("sharpe_ratio", pattern=r"^[a-z_]{1,40}$")
    maximize: bool = True
    method: Literal["grid", "random", "bayes"] = "grid"
    n_trials: int | None = requests.field(None, ge=1, le=10_000)
    seed: int = requests.field(0, ge=0, le=2**31)
    costs: Costs = attrs.field(factory=Costs)


@attrs.frozen
class StudyQuery:
    limit: int = requests.field(20, ge=1, le=500)
    cursor: str | None = requests.field(None, pattern=paging.CURSOR, description="next_cursor of the previous page")


@attrs.frozen
class RecommendQuery:
    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    start: dt.date | None = None
    end: dt.date | None = None
    timeframe: Timeframe = "1d"


@attrs.frozen
class CompareBody:
    """Backtest several strategies (default parameters, or ``[name, params]``) on one symbol and rank them."""

    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    strategies: tuple[str, ...] = requests.field(
        min_length=1, max_length=20, item_pattern=ID, example=["sma_cross", "momentum"]
    )
    rank_by: str = requests.field("sharpe_ratio", pattern=r"^[a-z_]{1,40}$")
    start: dt.date | None = None
    end: dt.date | None = None
    timeframe: Timeframe = "1d"
    costs: Costs = attrs.field(factory=Costs)


@attrs.frozen
class StrategyList:
    items: tuple[StrategyInfo, ...]


def _services(request: Request) -> Any:
    return request.app.ctx.container.services


async def _backtest_jobs(request: Request) -> Any:
    """The backtest use case, built once per server run: the container builds a new one per call
    (~0.2 ms resolving its async dependencies, a tenth of a synchronous backtest's request). Its
    dependencies live until the server stops, when it is dropped (``_forget``)."""
    ctx = request.app.ctx
    jobs = getattr(ctx, "backtest_jobs", None)
    if jobs is None:
        jobs = ctx.backtest_jobs = await _services(request).backtest_jobs()
    return jobs


@bp.after_server_stop
async def _forget(app: Any) -> None:
    app.ctx.backtest_jobs = None  # built from resources released now (a restart builds it again)


@bp.get("/list", ctx_role="viewer")
@doc(
    "List strategies",
    tag=TAG,
    description="Every registered strategy with its parameters as JSON Schema. Cached; answers ETag.",
    responses={200: Response("Strategies", StrategyList), 304: Response("Not modified (If-None-Match)")},
)
async def list_strategies(request: Request) -> HTTPResponse:
    async def render() -> HTTPResponse:
        return ok(StrategyList(await (await _services(request).catalog()).list()))

    return await cached_read(request, render)


@bp.post("/backtest", ctx_role="trader")
@doc(
    "Run a backtest",
    tag=TAG,
    body=BacktestBody,
    idempotent=True,
    example={"symbol": "AAPL", "strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "start": "2020-01-01"},
    responses={
        200: Response("Finished (small job): statistics, trades, downsampled equity", BacktestView),
        202: Response("Started in the background (large job)", ExecutionView, headers={"Location": "Status resource"}),
    },
    errors=(404, 409, 422),
)
async def backtest(request: Request) -> HTTPResponse:
    body = requests.body(request, BacktestBody)
    command = BacktestRequest(
        symbol=body.symbol,
        strategy=body.strategy,
        params=body.params,
        start=as_datetime(body.start),
        end=as_datetime(body.end, end=True),
        timeframe=body.timeframe,
        config=body.costs.config(),
    )

    async def create() -> HTTPResponse:
        outcome = await (await _backtest_jobs(request)).submit(command, save=body.save)
        if isinstance(outcome, Execution):
            return accepted(execution_view(outcome), JOB_LOCATION.format(outcome.id))
        return ok_json(backtest_json(backtest_view(outcome, body.equity_points, full=body.detail == "full")))

    return await idempotent(request, create)


@bp.get("/performance/<strategy:str>", ctx_role="viewer")
@doc(
    "A strategy's track record",
    tag=TAG,
    description="Its saved backtests and paper sessions, summarised.",
    path={"strategy": "Strategy name"},
    responses={200: Response("Track record", StrategyTrackRecord)},
    errors=(404,),
)
async def performance(request: Request, strategy: str) -> HTTPResponse:
    record = await (await _services(request).performance()).track_record(strategy)
    return ok(record)


@bp.post("/optimize", ctx_role="trader")
@doc(
    "Start an optimisation study",
    tag=TAG,
    body=OptimizeBody,
    idempotent=True,
    example={"symbol": "AAPL", "strategy": "sma_cross", "space": {"fast": [5, 10], "slow": [20, 50]}},
    responses={202: Response("Started", ExecutionView, headers={"Location": "Status resource"})},
    errors=(404, 409, 422),
)
async def optimize(request: Request) -> HTTPResponse:
    body = requests.body(request, OptimizeBody)
    command = OptimizeRequest(
        symbol=body.symbol,
        strategy=body.strategy,
        space=body.space,
        start=as_datetime(body.start),
        end=as_datetime(body.end, end=True),
        timeframe=body.timeframe,
        objective=body.objective,
        maximize=body.maximize,
        method=body.method,
        n_trials=body.n_trials,
        seed=body.seed,
        config=body.costs.config(),
    )

    async def create() -> HTTPResponse:
        jobs = await _services(request).optimization_jobs()
        execution = await jobs.start(command, before_start=owner_recorder(request))
        return accepted(execution_view(execution), LOCATION.format(execution.id))

    return await idempotent(request, create)


@bp.get("/optimize", ctx_role="viewer")
@doc(
    "List optimisation studies",
    tag=TAG,
    description="Studies started over the API, newest first (each as its execution: status, progress, result).",
    query=StudyQuery,
    responses={200: Response("Newest first", ExecutionPage)},
    errors=(422,),
)
async def optimize_list(request: Request) -> HTTPResponse:
    q = requests.query(request, StudyQuery)
    jobs = await _services(request).jobs()
    items, cursor = await paging.page(lambda n: jobs.list("optimization", limit=n), q.limit, q.cursor)
    return ok(ExecutionPage(tuple(execution_view(e) for e in items), cursor))


@bp.get("/optimize/<study_id:str>", ctx_role="viewer")
@doc(
    "Optimisation status and result",
    tag=TAG,
    description="Progress (done/total trials, ETA in `result` while running is on the event bus); the ranked "
    "result once it succeeded.",
    path={"study_id": "The id from the 202 answer"},
    responses={200: Response("The study's execution", ExecutionView)},
    errors=(404,),
)
async def optimize_status(request: Request, study_id: str) -> HTTPResponse:
    jobs = await _services(request).jobs()
    return ok(execution_view(await jobs.get(study_id, "optimization")))


@bp.delete("/optimize/<study_id:str>", ctx_role="trader")
@doc(
    "Cancel an optimisation study",
    tag=TAG,
    description="Trials finished so far stay stored: `gpt-trader optimize --resume ID` continues it.",
    path={"study_id": "The id from the 202 answer"},
    responses={200: Response("Cancelled", ExecutionView)},
    errors=(404, 409),
)
async def optimize_cancel(request: Request, study_id: str) -> HTTPResponse:
    jobs = await _services(request).jobs()
    return ok(execution_view(await jobs.cancel(study_id, "optimization")))


@bp.get("/recommend", ctx_role="viewer")
@doc(
    "Recommend a strategy",
    tag=TAG,
    description="The ML strategy selector's ranking for a symbol (the heuristic when no model is trained).",
    query=RecommendQuery,
    responses={200: Response("Ranked strategies and why", Explained)},
    errors=(404, 422),
)
async def recommend(request: Request) -> HTTPResponse:
    q = requests.query(request, RecommendQuery)
    check_window(as_datetime(q.start), as_datetime(q.end, end=True), q.timeframe)
    intelligence = await _services(request).intelligence()
    pick = await intelligence.recommend(q.symbol, as_datetime(q.start), as_datetime(q.end, end=True), q.timeframe)
    return ok(Explained(plain(pick), getattr(pick, "reason", None)))


@bp.post("/compare", ctx_role="viewer")
@doc(
    "Compare strategies",
    tag=TAG,
    body=CompareBody,
    example={"symbol": "AAPL", "strategies": ["sma_cross", "momentum"]},
    responses={200: Response("Ranked comparison", Explained)},
    errors=(404, 422),
)
async def compare(request: Request) -> HTTPResponse:
    body = requests.body(request, CompareBody)
    check_window(as_datetime(body.start), as_datetime(body.end, end=True), body.timeframe)
    intelligence = await _services(request).intelligence()
    config: Mapping[str, Any] = {
        "cash": body.costs.cash,
        "commission": body.costs.commission,
        "slippage": body.costs.slippage,
    }
    table = await intelligence.compare(
        body.symbol,
        list(body.strategies),
        as_datetime(body.start),
        as_datetime(body.end, end=True),
        body.timeframe,
        rank_by=body.rank_by,
        config=config,
    )
    return ok(Explained(plain(table), None))
