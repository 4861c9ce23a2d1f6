"""The search loop: ask the sampler, evaluate in batches, rank, report progress, honour cancellation.

One async loop serves every driver: ``gt.optimize`` evaluates in-process; the ``Optimizer`` use case
evaluates through the Executor port (process pool or Dask) and persists each trial for resumption.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
import numpy as np

from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.charts import ChartRenderer, HeatmapChart, HtmlChart, heatmap_chart, show, write_report
from gpt_trader_core.domain.results import format_value
from gpt_trader_core.errors import CancelledError, InvalidParameterError
from gpt_trader_core.optimization.evaluate import evaluate_batch
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.samplers import GridSampler, RandomSampler, Sampler, TPESampler, params_key
from gpt_trader_core.optimization.space import Constraint, SearchSpace
from gpt_trader_core.strategy.base import Strategy

T = TypeVar("T")
METHODS = ("grid", "random", "bayes")


@attrs.frozen
class Trial:
    """One evaluated parameter set; ``number`` is its position in the search order."""

    number: int
    params: Mapping[str, Any]
    stats: Mapping[str, Any]
    value: float


@attrs.frozen
class Progress:
    done: int
    total: int
    best_value: float | None
    best_params: Mapping[str, Any] | None
    elapsed_s: float
    eta_s: float | None


class CancelToken:
    """Set from any thread (a signal handler, a WebSocket message); checked between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@attrs.frozen
class Heatmap:
    """Best objective value for each (x, y) pair of two parameters (NaN where none was evaluated)."""

    x_name: str
    y_name: str
    x_values: tuple[Any, ...]
    y_values: tuple[Any, ...]
    values: np.ndarray = attrs.field(eq=False)  # shape (len(y_values), len(x_values))


@attrs.frozen(eq=False)
class OptimizationResult:
    """Trials ranked best first (ties: earlier trial first)."""

    strategy: str
    symbol: str
    synthetic: bool
    objective: Objective
    method: str
    space: SearchSpace
    trials: tuple[Trial, ...]
    total: int
    elapsed_s: float
    study_id: str | None = None
    #: Trials carried over from an earlier run of the same study (not evaluated again).
    resumed: int = 0

    @property
    def evaluated(self) -> int:
        """Trials evaluated by this run."""
        return len(self.trials) - self.resumed

    @property
    def best(self) -> Trial:
        if not self.trials:
            raise InvalidParameterError("no trial was evaluated: the search space is empty after the constraint")
        return self.trials[0]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best.params)

    def heatmap(self, x: str | None = None, y: str | None = None) -> Heatmap:
        names = [n for n in self.space.names if len(self.space.values[n]) > 1] or list(self.space.names)
        if len(names) < 2 and (x is None or y is None):
            raise InvalidParameterError("a heatmap needs two searched parameters")
        x = x or names[0]
        y = y or names[1]
        xs, ys = self.space.values[x], self.space.values[y]
        grid = np.full((len(ys), len(xs)), np.nan)
        for trial in self.trials:  # best first: the first value seen for a cell is its best
            i, j = ys.index(trial.params[y]), xs.index(trial.params[x])
            if np.isnan(grid[i, j]) and not math.isnan(trial.value):
                grid[i, j] = trial.value
        return Heatmap(x, y, xs, ys, grid)

    # Charts: the data are built here, drawn by the installed renderer (gpt_trader_core/domain/charts.py).
    def chart(self, x: str | None = None, y: str | None = None, top: int = 100) -> HeatmapChart:
        """The ``x`` × ``y`` heatmap of the objective with the ``top`` ranked trials, as chart data."""
        hm, rows, best = self.heatmap(x, y), self.table(top), self.best
        return heatmap_chart(
            title=f"{self.strategy} on {self.symbol}: {self.method} search, {self.objective.metric}",
            synthetic=self.synthetic,
            metric=self.objective.metric,
            maximize=self.objective.maximize,
            x_name=hm.x_name,
            y_name=hm.y_name,
            x_values=hm.x_values,
            y_values=hm.y_values,
            values=hm.values,
            columns=[str(c) for c in rows[0]],
            rows=[[format_value(v) for v in row.values()] for row in rows],
            stats=[
                ("strategy", self.strategy),
                ("symbol", self.symbol),
                ("method", self.method),
                ("trials", f"{len(self.trials)} of {self.total}"),
                ("best parameters", ", ".join(f"{k}={v}" for k, v in best.params.items())),
                (f"best {self.objective.metric}", format_value(best.value)),
                ("elapsed", f"{self.elapsed_s:.2f} s"),
            ],
        )

    def plot(self, x: str | None = None, y: str | None = None, renderer: ChartRenderer | None = None) -> HtmlChart:
        """Interactive heatmap of two searched parameters for a notebook (works offline)."""
        return show(self.chart(x, y), renderer)

    def report(
        self, path: str | Path, x: str | None = None, y: str | None = None, renderer: ChartRenderer | None = None
    ) -> Path:
        """Write one self-contained HTML report (summary, heatmap, ranked trials) to ``path``."""
        return write_report(self.chart(x, y), path, renderer)

    def table(self, top: int | None = None) -> list[dict[str, Any]]:
        rows = []
        for rank, trial in enumerate(self.trials[:top], start=1):
            s = trial.stats
            rows.append(
                {
                    "rank": rank,
                    **trial.params,
                    self.objective.metric: trial.value,
                    "return_pct": s["return_pct"],
                    "sharpe_ratio": s["sharpe_ratio"],
                    "max_drawdown_pct": s["max_drawdown_pct"],
                    "num_trades": s["num_trades"],
                }
            )
        return rows

    def to_frame(self) -> Any:
        import importlib

        return importlib.import_module("pandas").DataFrame(self.table())

    def __repr__(self) -> str:
        head = (
            f"OptimizationResult: {self.strategy} on {self.symbol}{' (SYNTHETIC)' if self.synthetic else ''}, "
            f"{self.method}, {len(self.trials)}/{self.total} trials in {self.elapsed_s:.2f} s, "
            f"{'max' if self.objective.maximize else 'min'}imise {self.objective.metric}"
        )
        if not self.trials:
            return head
        lines = [head, f"  best {self.best_params} → {self.best.value:.4f}"]
        lines += [
            f"  #{r['rank']:<3} {dict(t.params)} → {t.value:.4f}"
            for r, t in zip(self.table(5), self.trials, strict=False)
        ]
        return "\n".join(lines)


EvaluateBatch = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]
OnTrials = Callable[[list[Trial]], Awaitable[None]]


def make_sampler(method: str, space: SearchSpace, n_trials: int | None, seed: int) -> Sampler:
    if method == "grid":
        return GridSampler(space)
    count = n_trials or min(space.size(), 100)
    if method == "random":
        return RandomSampler(space, count, seed)
    if method == "bayes":
        return TPESampler(space, count, seed)
    raise InvalidParameterError(f"unknown method {method!r}; use one of {', '.join(METHODS)} (or walk_forward)")


async def search(
    space: SearchSpace,
    objective: Objective,
    sampler: Sampler,
    evaluate: EvaluateBatch,
    *,
    batch_size: int = 16,
    concurrency: int = 1,
    ask_size: int | None = None,
    done: Sequence[Trial] = (),
    on_trials: OnTrials | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    study_id: str | None = None,
) -> list[Trial]:
    """Evaluate proposals until the sampler is exhausted; ``done`` trials (a resumed study) are not
    evaluated again. Raises ``CancelledError`` (after recording finished trials) when cancelled.

    ``ask_size`` fixes how many proposals are asked at a time; adaptive samplers (TPE) need it fixed
    so that results do not depend on how many workers evaluate them."""
    total = int(getattr(sampler, "total", 0)) or space.size()
    trials = list(done)
    finished = {params_key(t.params): t for t in done}
    history = [(t.params, objective.rank_key(t.value)) for t in done]
    proposed = 0
    started = time.perf_counter()
    fresh = 0

    def report() -> None:
        if progress is None:
            return
        best = max(trials, key=lambda t: (objective.rank_key(t.value), -t.number), default=None)
        elapsed = time.perf_counter() - started
        remaining = max(total - len(trials), 0)
        eta = elapsed / fresh * remaining if fresh else None
        progress(
            Progress(len(trials), total, best.value if best else None, best.params if best else None, elapsed, eta)
        )

    report()
    while True:
        if cancel is not None and cancel.cancelled:
            raise CancelledError(_cancel_message(len(trials), total, study_id))
        proposals = sampler.ask(history, ask_size or batch_size * concurrency)
        if not proposals:
            break
        numbered = []
        for params in proposals:
            if params_key(params) not in finished:
                numbered.append((proposed, params))
            proposed += 1
        size = min(batch_size, max(1, -(-len(numbered) // concurrency)))
        chunks = [numbered[i : i + size] for i in range(0, len(numbered), size)]
        pending = [asyncio.ensure_future(_evaluate_chunk(evaluate, chunk)) for chunk in chunks]
        try:
            for next_done in asyncio.as_completed(pending):
                batch = []
                for number, params, stats in await next_done:
                    trial = Trial(number, params, stats, objective.value(stats))
                    batch.append(trial)
                    finished[params_key(params)] = trial
                    history.append((params, objective.rank_key(trial.value)))
                trials.extend(batch)
                fresh += len(batch)
                if on_trials is not None:
                    await on_trials(batch)
                report()
                if cancel is not None and cancel.cancelled:
                    raise CancelledError(_cancel_message(len(trials), total, study_id))
        finally:
            for task in pending:
                task.cancel()
    trials.sort(key=lambda t: (-objective.rank_key(t.value), t.number))
    return trials


async def _evaluate_chunk(
    evaluate: EvaluateBatch, chunk: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    results = await evaluate([params for _, params in chunk])
    return [(number, params, stats) for (number, params), stats in zip(chunk, results, strict=True)]


def _cancel_message(done: int, total: int, study_id: str | None) -> str:
    resume = f"; resume with --resume {study_id}" if study_id else ""
    return f"optimisation cancelled after {done} of {total} trials{resume}"


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="gpt-trader-sync")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def in_process_evaluator(bars: Bars, strategy: type[Strategy], config: BacktestConfig) -> EvaluateBatch:
    async def evaluate(param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return evaluate_batch(bars, strategy, param_sets, config)

    return evaluate


def optimize(
    bars: Bars,
    strategy: type[Strategy],
    space_overrides: Mapping[str, Any] | None = None,
    *,
    objective: Objective | None = None,
    method: str = "grid",
    constraint: Constraint | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> OptimizationResult:
    """Search ``strategy``'s parameters on ``bars`` in this process (see ``gt.optimize``)."""
    objective = objective or Objective()
    config = config or BacktestConfig()
    space = SearchSpace.build(strategy, space_overrides, constraint)
    sampler = make_sampler(method, space, n_trials, seed)
    total = int(getattr(sampler, "total", 0))
    started = time.perf_counter()
    trials = run_sync(
        search(
            space,
            objective,
            sampler,
            in_process_evaluator(bars, strategy, config),
            batch_size=32,
            progress=progress,
            cancel=cancel,
        )
    )
    return OptimizationResult(
        strategy.name,
        bars.symbol,
        bars.synthetic,
        objective,
        method,
        space,
        tuple(trials),
        total,
        time.perf_counter() - started,
    )
