"""``/api/v1/market``: bars (JSON or CSV, labelled when synthetic), regime (rules or HMM), analysis."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from entrypoints.http import requests
from entrypoints.http.api.params import ID, SYMBOL, Timeframe
from entrypoints.http.caching import cached_read
from entrypoints.http.openapi import Response, doc
from entrypoints.http.respond import ok
from entrypoints.presenters import plain
from entrypoints.presenters.market import AnalysisView, BarsView, RegimeView, bars_csv, bars_view, regime_view
from gpt_trader_core.services.market_reads import check_window
from gpt_trader_core.services.research import as_datetime

bp = Blueprint("market", url_prefix="/api/v1/market")
TAG = "market"


@attrs.frozen
class DataQuery:
    start: dt.date | None = requests.field(None, description="First day (default: the source's first)")
    end: dt.date | None = requests.field(None, description="Last day (default: the source's last)")
    timeframe: Timeframe = "1d"
    format: Literal["json", "csv"] = "json"


@attrs.frozen
class RegimeQuery:
    symbol: str = requests.field(pattern=SYMBOL, example="AAPL")
    method: Literal["rules", "hmm"] = "rules"
    start: dt.date | None = None
    end: dt.date | None = None
    timeframe: Timeframe = "1d"
    transitions: int = requests.field(10, ge=1, le=100_000, description="How many of the latest transitions")


@attrs.frozen
class RegimeAnalysisView:
    """The whole regime analysis: every bar's regime (``series``), the transition matrix, thresholds and
    every change — what ``gpt-trader market regime --remote`` reads to print exactly what it prints here."""

    symbol: str
    synthetic: bool
    analysis: Mapping[str, Any]


@attrs.frozen
class AnalyzeBody:
    """One symbol: indicators, levels, patterns (and a strategy comparison when ``strategies`` is
    given). Several symbols: the portfolio's risk and composition (``weights``: equal by default)."""

    symbols: tuple[str, ...] = requests.field(min_length=1, max_length=50, item_pattern=SYMBOL, example=["AAPL"])
    weights: dict[str, float] | None = requests.field(None, key_pattern=SYMBOL, max_length=50)
    benchmark: str | None = requests.field(None, pattern=SYMBOL)
    strategies: tuple[str, ...] = requests.field((), max_length=20, item_pattern=ID)
    start: dt.date | None = None
    end: dt.date | None = None
    timeframe: Timeframe = "1d"
    series: bool = requests.field(
        False, description="One symbol: add per-bar SMA 20/50, Bollinger 20/2 and RSI 14 (for a price chart)"
    )


def _market(request: Request) -> Any:
    return request.app.ctx.container.services.market()


def _check_symbol(symbol: str) -> None:
    if not re.fullmatch(SYMBOL, symbol):
        raise requests.RequestInvalidError(
            400,
            f"path.symbol {symbol!r} is not a symbol",
            [{"field": "path.symbol", "message": f"must match {SYMBOL}"}],
        )


@bp.get("/data/<symbol:str>", ctx_role="viewer")
@doc(
    "Market data",
    tag=TAG,
    description="OHLCV bars for a range and timeframe, JSON or CSV. Synthetic data says so: `synthetic` in JSON, "
    "`X-Synthetic-Data: true` for CSV. Cached; answers ETag.",
    query=DataQuery,
    path={"symbol": ("Ticker", SYMBOL)},
    responses={
        200: Response(
            "Bars",
            media={"application/json": BarsView, "text/csv": {"schema": {"type": "string"}}},
            headers={"X-Synthetic-Data": "true when the source generated the bars"},
        ),
        304: Response("Not modified (If-None-Match)"),
    },
    errors=(404, 422),
)
async def data(request: Request, symbol: str) -> HTTPResponse:
    async def render() -> HTTPResponse:  # a cache hit was valid when stored: parsed only on a miss
        _check_symbol(symbol)
        q = requests.query(request, DataQuery)
        market = await _market(request)
        bars = await market.bars(symbol, as_datetime(q.start), as_datetime(q.end, end=True), q.timeframe)
        headers = {"x-synthetic-data": "true" if bars.synthetic else "false", "x-data-source": bars.source}
        if q.format == "csv":
            return HTTPResponse(bars_csv(bars), headers=headers, content_type="text/csv; charset=utf-8")
        return ok(bars_view(bars), headers=headers)

    return await cached_read(request, render)


@bp.get("/regime", ctx_role="viewer")
@doc(
    "Current market regime",
    tag=TAG,
    description="Current regime, confidence and recent transitions by the rules or the HMM detector. Cached; ETag.",
    query=RegimeQuery,
    responses={200: Response("Regime", RegimeView), 304: Response("Not modified (If-None-Match)")},
    errors=(404, 422),
)
async def regime(request: Request) -> HTTPResponse:
    async def render() -> HTTPResponse:  # a cache hit was valid when stored: parsed only on a miss
        q = requests.query(request, RegimeQuery)
        market = await _market(request)
        start, end = as_datetime(q.start), as_datetime(q.end, end=True)
        bars = await market.bars(q.symbol, start, end, q.timeframe)
        analysis = await market.regime(q.symbol, start, end, q.timeframe, q.method)
        return ok(regime_view(q.symbol, bars.synthetic, analysis, q.transitions))

    return await cached_read(request, render)


@bp.get("/regime/analysis", ctx_role="viewer")
@doc(
    "Whole regime analysis",
    tag=TAG,
    description="The regime of every bar, the transition matrix, the thresholds and every change (the query of "
    "`/regime`; `transitions` is ignored). Cached; ETag.",
    query=RegimeQuery,
    responses={200: Response("Regime analysis", RegimeAnalysisView), 304: Response("Not modified (If-None-Match)")},
    errors=(404, 422),
)
async def regime_analysis(request: Request) -> HTTPResponse:
    async def render() -> HTTPResponse:  # a cache hit was valid when stored: parsed only on a miss
        q = requests.query(request, RegimeQuery)
        market = await _market(request)
        start, end = as_datetime(q.start), as_datetime(q.end, end=True)
        bars = await market.bars(q.symbol, start, end, q.timeframe)
        analysis = await market.regime(q.symbol, start, end, q.timeframe, q.method)
        return ok(RegimeAnalysisView(q.symbol.upper(), bars.synthetic, plain(analysis)))

    return await cached_read(request, render)


@bp.post("/analyze", ctx_role="viewer")
@doc(
    "Market analysis",
    tag=TAG,
    body=AnalyzeBody,
    example={"symbols": ["AAPL"], "strategies": ["sma_cross", "momentum"]},
    responses={200: Response("Analysis", AnalysisView)},
    errors=(404, 422),
)
async def analyze(request: Request) -> HTTPResponse:
    body = requests.body(request, AnalyzeBody)
    check_window(as_datetime(body.start), as_datetime(body.end, end=True), body.timeframe)
    intelligence = await request.app.ctx.container.services.intelligence()
    start, end = as_datetime(body.start), as_datetime(body.end, end=True)
    symbols = tuple(s.upper() for s in body.symbols)
    market = await _market(request)
    synthetic = (await market.bars(symbols[0], start, end, body.timeframe)).synthetic
    if len(symbols) == 1 and body.weights is None and body.benchmark is None:
        analysis = await intelligence.analyze(symbols[0], start, end, body.timeframe)
        comparison = None
        if body.strategies:
            comparison = plain(
                await intelligence.compare(symbols[0], list(body.strategies), start, end, body.timeframe)
            )
        series = None
        if body.series:
            series = plain(await intelligence.indicators(symbols[0], start, end, body.timeframe))
        return ok(AnalysisView(symbols, synthetic, plain(analysis), comparison, None, series))
    portfolio = await intelligence.portfolio(symbols, body.weights, start, end, body.timeframe, body.benchmark)
    shape = {k: v for k, v in plain(portfolio).items() if k != "returns"}  # the series is for charts, not this answer
    return ok(AnalysisView(symbols, synthetic, None, None, shape))
