"""Use cases the REST API needs over strategies: the catalogue (parameters as JSON Schema, cached),
backtests that run inline when small and in the background when large, optimisation studies in the
background with progress, and a strategy's track record (saved backtests and paper sessions)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from gpt_trader_core.domain.records import Execution
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import OptimizationResult, Progress, make_sampler
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.ports import BacktestStore, TradingStore
from gpt_trader_core.services.backtest import Backtester, BacktestRequest, BacktestRun, MarketHistory

# moved to services.catalog (listing strategies need not import optimisation); these names stay importable
from gpt_trader_core.services.catalog import StrategyCatalog as StrategyCatalog
from gpt_trader_core.services.catalog import StrategyInfo as StrategyInfo
from gpt_trader_core.services.catalog import param_schema as param_schema
from gpt_trader_core.services.jobs import JobProgress, Jobs
from gpt_trader_core.services.market_reads import check_window
from gpt_trader_core.services.optimization import Optimizer, OptimizeRequest
from gpt_trader_core.strategy.registry import StrategyRegistry


class BacktestJobs:
    """A backtest inline when its data has at most ``inline_bars`` bars, else a background job whose
    result (the saved backtest's id and statistics) is on its execution."""

    KIND = "backtest"

    def __init__(
        self,
        backtester: Backtester,
        history: MarketHistory,
        registry: StrategyRegistry,
        jobs: Jobs,
        inline_bars: int = 20_000,
    ) -> None:
        self._backtester = backtester
        self._registry = registry
        self._history = history
        self._jobs = jobs
        self._inline_bars = inline_bars

    async def submit(self, request: BacktestRequest, *, save: bool = True) -> BacktestRun | Execution:
        check_window(request.start, request.end, request.timeframe)
        bars = await self._history.get(request.symbol, request.start, request.end, request.timeframe)  # cached
        if len(bars) <= self._inline_bars:  # on the bars already loaded: the same cache, the same saving
            return await self._backtester.run_on(bars, request.strategy, request.params, request.config, save=save)
        self._registry.create(request.strategy, **request.params)  # refuse bad input before 202

        async def job(progress: JobProgress) -> Mapping[str, Any]:
            progress.report(0.0, f"backtesting {len(bars)} bars")
            run = await self._backtester.run_on(bars, request.strategy, request.params, request.config, save=True)
            return {"record_id": run.record_id, "stats": dict(run.result.stats)}

        params = {"symbol": request.symbol, "strategy": request.strategy, "bars": len(bars)}
        return await self._jobs.start(self.KIND, request.strategy, params, job)


class OptimizationJobs:
    """Optimisation studies in the background: progress (done/total, best so far, ETA) on the execution
    and the bus; ``summarise(result)`` (the drivers' shape) on the execution when it succeeds; the
    study is resumable."""

    KIND = "optimization"
    #: Most trials one study may run (a larger grid is refused before it starts).
    MAX_TRIALS = 20_000

    def __init__(
        self,
        optimizer: Optimizer,
        registry: StrategyRegistry,
        jobs: Jobs,
        summarise: Callable[[OptimizationResult], Mapping[str, Any]],
    ) -> None:
        self._optimizer = optimizer
        self._registry = registry
        self._summarise = summarise
        self._jobs = jobs

    async def start(
        self, request: OptimizeRequest, *, before_start: Callable[[str], Awaitable[None]] | None = None
    ) -> Execution:
        """Start a study in the background (``before_start``: see ``Jobs.start``)."""
        check_window(request.start, request.end, request.timeframe)
        # Refuse bad input before 202: unknown strategy, objective, method or search space.
        strategy = self._registry.get_spec(request.strategy).cls
        Objective.of(request.objective, request.maximize)
        space = SearchSpace.build(strategy, request.space)
        sampler = make_sampler(request.method, space, request.n_trials, request.seed)
        total = int(getattr(sampler, "total", 0)) or space.size()
        if total > self.MAX_TRIALS:
            raise InvalidParameterError(
                f"the search has {total:,} trials, more than {self.MAX_TRIALS:,}; give fewer candidate values in "
                "space, or use method random/bayes with n_trials"
            )

        async def job(progress: JobProgress) -> Mapping[str, Any]:
            def report(p: Progress) -> None:
                progress.report(
                    p.done / p.total if p.total else 0.0,
                    f"{p.done}/{p.total} trials",
                    done=p.done,
                    total=p.total,
                    best_value=p.best_value,
                    best_params=None if p.best_params is None else dict(p.best_params),
                    eta_s=p.eta_s,
                )

            result = await self._optimizer.run(request, progress=report, study_id=progress.execution_id)
            return self._summarise(result)

        params = {
            "symbol": request.symbol,
            "strategy": request.strategy,
            "method": request.method,
            "objective": request.objective,
        }
        return await self._jobs.start(self.KIND, request.strategy, params, job, before_start=before_start)


@attrs.frozen
class StrategyTrackRecord:
    """A strategy's saved backtests and paper sessions, summarised (returns in %)."""

    strategy: str
    backtests: int
    backtest_mean_return_pct: float | None
    backtest_best_sharpe: float | None
    sessions: int
    session_mean_return_pct: float | None
    recent_backtests: tuple[Mapping[str, Any], ...]
    recent_sessions: tuple[Mapping[str, Any], ...]


class StrategyPerformance:
    """What a strategy has done so far, from the state store."""

    def __init__(self, registry: StrategyRegistry, backtests: BacktestStore, trading: TradingStore) -> None:
        self._registry = registry
        self._backtests = backtests
        self._trading = trading

    async def track_record(self, strategy: str, limit: int = 200) -> StrategyTrackRecord:
        name = self._registry.get_spec(strategy).name
        saved = await self._backtests.list_backtests(strategy=name, limit=limit)
        sessions = [s for s in await self._trading.list_sessions(limit=1000) if s.strategy == name][:limit]
        returns = [float(r.stats["return_pct"]) for r in saved if _finite(r.stats.get("return_pct"))]
        sharpes = [float(r.stats["sharpe_ratio"]) for r in saved if _finite(r.stats.get("sharpe_ratio"))]
        session_returns = [(s.equity / s.capital - 1) * 100 for s in sessions if s.capital]
        return StrategyTrackRecord(
            name,
            len(saved),
            statistics.fmean(returns) if returns else None,
            max(sharpes) if sharpes else None,
            len(sessions),
            statistics.fmean(session_returns) if session_returns else None,
            tuple(
                {
                    "id": r.id,
                    "symbol": r.symbol,
                    "created_at": r.created_at,
                    "return_pct": r.stats.get("return_pct"),
                    "sharpe_ratio": r.stats.get("sharpe_ratio"),
                }
                for r in saved[:10]
            ),
            tuple(
                {
                    "id": s.id,
                    "symbols": list(s.symbols),
                    "status": s.status.value,
                    "created_at": s.created_at,
                    "return_pct": (s.equity / s.capital - 1) * 100 if s.capital else None,
                }
                for s in sessions[:10]
            ),
        )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and value == value and abs(value) != float("inf")


def as_datetime(day: dt.date | None, *, end: bool = False) -> dt.datetime | None:
    """A request's calendar day as the naive datetime the market-data port takes (``end``: that day's end)."""
    if day is None:
        return None
    moment = dt.datetime(day.year, day.month, day.day)
    return moment + dt.timedelta(days=1, microseconds=-1) if end else moment
