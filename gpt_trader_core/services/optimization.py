"""The optimisation use case: searches on market data through the Executor port, with every finished
trial persisted so that an interrupted study resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from gpt_trader_core.backtesting.batch_run import chunk_rows
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.records import ExecutionStatus, StudyRecord, TrialRecord, utcnow
from gpt_trader_core.errors import CancelledError, InvalidParameterError
from gpt_trader_core.optimization.evaluate import evaluate_batch
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import (
    KEEP_TRIALS,
    CancelToken,
    EvaluateBatch,
    OptimizationResult,
    Progress,
    Trial,
    make_sampler,
    sampler_notes,
    search_ranked,
)
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.optimization.walk_forward import (
    Traded,
    WalkForwardResult,
    evaluate_for_window,
    trade_test_window,
    walk_forward_async,
)
from gpt_trader_core.ports import Executor, StudyStore
from gpt_trader_core.services.backtest import MarketHistory, new_id
from gpt_trader_core.strategy.base import Strategy
from gpt_trader_core.strategy.registry import StrategyRegistry

#: Parameter sets per executor call at most.
SERVICE_CHUNK = 512
#: Parameter sets per executor call of a walk-forward window's search at most: larger than SERVICE_CHUNK
#: (nothing is persisted per chunk, and each chunk computes its indicators again), still a fraction of a
#: second, so a cancellation frees the workers about as soon.
WALK_FORWARD_CHUNK = 4096

#: TPE asks this many proposals at a time whatever the number of workers (reproducible results).
ADAPTIVE_ASK = 8


@attrs.frozen
class OptimizeRequest:
    """Search ``strategy`` on ``symbol``: ``space`` maps parameters to candidate lists (searched) or
    single values (fixed); unnamed parameters use the strategy's declared range."""

    symbol: str
    strategy: str
    space: Mapping[str, Any] = attrs.field(factory=dict)
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    timeframe: str | None = None  # None: the data's own timeframe (as BacktestRequest)
    objective: str = "sharpe_ratio"
    maximize: bool = True
    method: str = "grid"
    n_trials: int | None = None
    seed: int = 0
    config: BacktestConfig = attrs.field(factory=BacktestConfig)
    #: Refuse (before loading data or saving a study) a search of more trials than this; None: no limit.
    max_trials: int | None = None


def check_search_size(method: str, total: int, limit: int | None) -> None:
    """Refuse a search above ``limit`` trials, saying how big it is and how to proceed."""
    if limit is None or total <= limit:
        return
    raise InvalidParameterError(
        f"this {method} search has {total:,} trials, above the limit of {limit:,} (a guard against runs that "
        "take hours and fill the disk); narrow the space, confirm to run all of them (--yes), or sample it: "
        "--method random --trials 1000 (or --method bayes)"
    )


class Optimizer:
    """Runs, resumes and walks forward optimisation studies."""

    def __init__(
        self,
        history: MarketHistory,
        registry: StrategyRegistry,
        executor: Executor,
        studies: StudyStore | None = None,
    ) -> None:
        self._history = history
        self._registry = registry
        self._executor = executor
        self._studies = studies

    def _evaluator(self, bars: Bars, strategy: type[Strategy], config: BacktestConfig) -> EvaluateBatch:
        async def evaluate(param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return await self._executor.run(evaluate_batch, bars, strategy, param_sets, config)

        return evaluate

    async def run(
        self,
        request: OptimizeRequest,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
        study_id: str | None = None,
    ) -> OptimizationResult:
        """A new study (its id is ``study_id`` or generated); every finished trial is persisted."""
        strategy = self._registry.get_spec(request.strategy).cls
        objective = Objective.of(request.objective, request.maximize)
        space = SearchSpace.build(strategy, request.space)
        sampler = make_sampler(request.method, space, request.n_trials, request.seed)
        check_search_size(request.method, int(getattr(sampler, "total", space.size())), request.max_trials)
        bars = await self._history.get(request.symbol, request.start, request.end, request.timeframe)
        study = StudyRecord(
            id=study_id or new_id("study"),
            created_at=utcnow(),
            strategy=strategy.name,
            symbol=bars.symbol,
            timeframe=bars.timeframe,  # the data's: a resumed study loads the same bars
            start=request.start,
            end=request.end,
            method=request.method,
            objective=objective.metric,
            maximize=objective.maximize,
            space={k: list(v) for k, v in space.values.items()},
            fixed=dict(space.fixed),
            config=attrs.asdict(request.config),
            n_trials=request.n_trials,
            seed=request.seed,
            total=int(getattr(sampler, "total", space.size())),
        )
        if self._studies is not None:
            await self._studies.save_study(study)
        return await self._search(study, bars, strategy, objective, space, request.config, (), progress, cancel)

    async def resume(
        self,
        study_id: str,
        *,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> OptimizationResult:
        """Continue a stored study: finished trials are loaded, not recomputed."""
        if self._studies is None:
            raise InvalidParameterError("resuming needs a state store; none is configured")
        study = await self._studies.get_study(study_id)
        strategy = self._registry.get_spec(study.strategy).cls
        objective = Objective.of(study.objective, study.maximize)
        space = SearchSpace.build(strategy, {**study.space, **study.fixed})
        config = BacktestConfig(**study.config)
        bars = await self._history.get(study.symbol, study.start, study.end, study.timeframe)
        done = [Trial(t.number, t.params, t.stats, t.value) for t in await self._studies.list_trials(study_id)]
        study = attrs.evolve(study, status=ExecutionStatus.RUNNING, finished_at=None, error=None)
        await self._studies.save_study(study)
        return await self._search(study, bars, strategy, objective, space, config, done, progress, cancel)

    async def _search(
        self,
        study: StudyRecord,
        bars: Bars,
        strategy: type[Strategy],
        objective: Objective,
        space: SearchSpace,
        config: BacktestConfig,
        done: Sequence[Trial],
        progress: Callable[[Progress], None] | None,
        cancel: CancelToken | None,
    ) -> OptimizationResult:
        sampler = make_sampler(study.method, space, study.n_trials, study.seed)
        workers = max(1, self._executor.workers)
        # Each executor call evaluates a chunk of parameter sets in one batched pass: about four chunks
        # per worker, none larger than the batched kernel's memory-bounded chunk nor than SERVICE_CHUNK
        # (a chunk takes well under a second, so a cancellation is answered quickly).
        batch = max(1, min(chunk_rows(len(bars)), SERVICE_CHUNK, math.ceil(study.total / (workers * 4))))
        store = self._studies

        async def persist(batch: list[Trial]) -> None:
            if store is not None:
                await store.add_trials(study.id, [TrialRecord(t.number, t.params, t.stats, t.value) for t in batch])

        started = time.perf_counter()
        status, error = ExecutionStatus.SUCCEEDED, None
        trials: list[Trial] = []
        try:
            ranking = await search_ranked(
                space,
                objective,
                sampler,
                self._evaluator(bars, strategy, config),
                batch_size=batch,
                concurrency=workers,
                ask_size=ADAPTIVE_ASK if study.method == "bayes" else None,
                done=done,
                on_trials=persist,
                progress=progress,
                cancel=cancel,
                study_id=study.id,
                keep=KEEP_TRIALS,
            )
            trials = ranking.trials
        except CancelledError as exc:
            status, error = ExecutionStatus.CANCELLED, str(exc)
            raise
        except Exception as exc:
            status, error = ExecutionStatus.FAILED, f"{type(exc).__name__}: {exc}"
            raise
        except BaseException:  # task cancelled / interrupted: resumable like a cancellation
            status, error = ExecutionStatus.CANCELLED, "interrupted"
            raise
        finally:
            if store is not None:
                best = trials[0] if trials else None
                await store.save_study(
                    attrs.evolve(
                        study,
                        status=status,
                        error=error,
                        finished_at=utcnow(),
                        best_params=dict(best.params) if best else None,
                        best_value=best.value if best else None,
                    )
                )
        return OptimizationResult(
            strategy.name,
            bars.symbol,
            bars.synthetic,
            objective,
            study.method,
            space,
            tuple(trials),
            study.total,
            time.perf_counter() - started,
            study.id,
            len(done),
            sampler_notes(study.method, sampler, study.n_trials),
            ranking.evaluated - len(trials),
        )

    # -- stored studies ------------------------------------------------------------------------------

    def _store(self) -> StudyStore:
        if self._studies is None:
            raise InvalidParameterError("studies need a state store; none is configured")
        return self._studies

    async def list_studies(self, *, limit: int = 50) -> list[StudyRecord]:
        """Stored studies, newest first."""
        return await self._store().list_studies(limit=limit)

    async def get_study(self, study_id: str) -> tuple[StudyRecord, list[TrialRecord]]:
        """A stored study and its finished trials (by number)."""
        store = self._store()
        return await store.get_study(study_id), await store.list_trials(study_id)

    async def delete_study(self, study_id: str) -> None:
        """Remove a study and its trials."""
        await self._store().delete_study(study_id)

    async def walk_forward(
        self,
        request: OptimizeRequest,
        *,
        n_windows: int = 5,
        anchored: bool = False,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> WalkForwardResult:
        """Walk-forward analysis off the event loop: each window's search goes to the executor in
        chunks, as an optimisation's does, and its test window as one short job; a cancellation
        (``cancel``, or this call's task cancelled) stops after the running chunks, leaving no job
        that runs on for the rest of the analysis."""
        strategy = self._registry.get_spec(request.strategy).cls
        bars = await self._history.get(request.symbol, request.start, request.end, request.timeframe)
        config = request.config
        objective = Objective.of(request.objective, request.maximize)

        def evaluator(train: Bars) -> EvaluateBatch:
            async def evaluate(param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return await self._executor.run(evaluate_for_window, train, strategy, param_sets, config, objective)

            return evaluate

        async def trade(
            bars: Bars,
            strategy: type[Strategy],
            params: Mapping[str, Any],
            config: BacktestConfig,
            test: tuple[int, int],
        ) -> Traded:
            return await self._executor.run(trade_test_window, bars, strategy, dict(params), config, test)

        return await walk_forward_async(
            bars,
            strategy,
            dict(request.space),
            evaluator=evaluator,
            trade=trade,
            concurrency=max(1, self._executor.workers),
            max_chunk=WALK_FORWARD_CHUNK,
            objective=objective,
            method=request.method,
            n_windows=n_windows,
            anchored=anchored,
            n_trials=request.n_trials,
            seed=request.seed,
            config=config,
            progress=progress,
            cancel=cancel,
        )
