"""The backtest use case shared by the CLI, REST and WebSocket drivers (and ``gt.App``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.runner import run_backtest
from gpt_trader_core.cache_keys import content_key
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.records import BacktestRecord, utcnow
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.ports import BacktestStore, Cache, Executor, MarketData
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry


@attrs.frozen
class BacktestRequest:
    """Backtest ``strategy(**params)`` on ``symbol`` between ``start`` and ``end``."""

    symbol: str
    strategy: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    timeframe: str | None = None  # None: the data's own timeframe (issue 11.18)
    config: BacktestConfig = attrs.field(factory=BacktestConfig)


@attrs.frozen
class BacktestRun:
    """A finished backtest: the result, the id it was saved under (if saved) and whether it came
    from the cache."""

    result: BacktestResult
    record_id: str | None = None
    cached: bool = False

    def _provenance(self) -> str:
        saved = f"saved as {self.record_id}" if self.record_id else "not saved"
        return f"{saved}{', from the cache' if self.cached else ''}"

    def __repr__(self) -> str:
        return f"BacktestRun ({self._provenance()})\n{self.result!r}"

    def _repr_html_(self) -> str:
        """The result's HTML table (see ``BacktestResult``), headed by where the run is stored."""
        import html

        header = f"<p style='margin:0'><b>BacktestRun</b> — {html.escape(self._provenance())}</p>"
        return f"<div>{header}{self.result._repr_html_()}</div>"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def record_from_result(result: BacktestResult, record_id: str) -> BacktestRecord:
    return BacktestRecord(
        id=record_id,
        created_at=utcnow(),
        strategy=result.strategy,
        params=dict(result.params),
        symbol=result.symbol,
        timeframe=result.timeframe,
        source=result.source,
        synthetic=result.synthetic,
        data_fingerprint=result.data_fingerprint,
        start=result.stats["start"],
        end=result.stats["end"],
        config=attrs.asdict(result.config),
        stats=dict(result.stats),
        trades=result.trades,
    )


class MarketHistory:
    """Market-data history through the cache: ``market_data`` port + optional ``Cache``."""

    def __init__(self, market_data: MarketData, cache: Cache | None = None) -> None:
        self._market_data = market_data
        self._cache = cache

    @property
    def source(self) -> str:
        return self._market_data.name

    async def get(
        self, symbol: str, start: dt.datetime | None, end: dt.datetime | None, timeframe: str | None = None
    ) -> Bars:
        key = content_key(
            "market_data",
            source=self._market_data.name,
            symbol=symbol.upper(),
            start=start,
            end=end,
            timeframe=timeframe,
        )
        if self._cache is not None:
            cached = await self._cache.get("market_data", key)
            if isinstance(cached, Bars):
                return cached
        # Sources read files or generate data: keep that off the event loop.
        bars = await asyncio.to_thread(self._market_data.history, symbol, start, end, timeframe)
        if self._cache is not None:
            await self._cache.set("market_data", key, bars)
        return bars


class Backtester:
    """Runs backtests on symbols from the market-data port; caches results by content and saves them."""

    def __init__(
        self,
        history: MarketHistory,
        registry: StrategyRegistry,
        executor: Executor,
        cache: Cache | None = None,
        store: BacktestStore | None = None,
    ) -> None:
        self._history = history
        self._registry = registry
        self._executor = executor
        self._cache = cache
        self._store = store

    async def run(self, request: BacktestRequest, *, save: bool = False) -> BacktestRun:
        """Validate the strategy first (cheap), load the data, run (or reuse a cached run), save."""
        strategy = self._registry.create(request.strategy, **request.params)
        bars = await self._history.get(request.symbol, request.start, request.end, request.timeframe)
        return await self._run(bars, strategy, request.config, save)

    async def run_on(
        self,
        bars: Bars,
        strategy: str,
        params: Mapping[str, Any] | None = None,
        config: BacktestConfig | None = None,
        *,
        save: bool = False,
    ) -> BacktestRun:
        """``run`` on bars already loaded (e.g. by a workflow's data step): same cache, same saving."""
        instance = self._registry.create(strategy, **(params or {}))
        return await self._run(bars, instance, config if config is not None else BacktestConfig(), save)

    async def _run(self, bars: Bars, strategy: Strategy, config: BacktestConfig, save: bool) -> BacktestRun:
        strategy.require_bars(bars)
        key = content_key(
            "backtest",
            strategy=strategy.name,
            params=dict(strategy.values),
            config=config,
            data=bars.fingerprint(),
            source=bars.source,
            symbol=bars.symbol,
            timeframe=bars.timeframe,
        )
        hit = await self._cache.get("backtest", key) if self._cache is not None else None
        cached = isinstance(hit, BacktestResult)
        if isinstance(hit, BacktestResult):
            result = hit
        else:
            result = await self._executor.run(run_backtest, bars, strategy, config)
            if self._cache is not None:
                await self._cache.set("backtest", key, result)
        record_id = None
        if save and self._store is not None:
            record_id = new_id("bt")
            await self._store.save_backtest(record_from_result(result, record_id))
        return BacktestRun(result, record_id, cached)
