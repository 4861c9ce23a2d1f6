"""The search loop: ask the sampler, evaluate in batches, rank, report progress, honour cancellation.

One search state (``_Search``) serves every driver: ``gt.optimize`` and walk-forward evaluate in this
thread without an event loop (``search_ranked_inline``); the ``Optimizer`` use case awaits the Executor
port (process pool or Dask) and persists each trial for resumption (``search_ranked``).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.backtesting.batch import Scratch
from gpt_trader_core.backtesting.batch_run import chunk_rows, evaluate_many
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.stats import StatsContext
from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.domain.charts import ChartRenderer, HeatmapChart, HtmlChart, heatmap_chart, show, write_report
from gpt_trader_core.domain.results import format_value
from gpt_trader_core.errors import CancelledError, InvalidParameterError
from gpt_trader_core.indicators.cache import IndicatorCache
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.samplers import GridSampler, RandomSampler, Sampler, TPESampler, params_key
from gpt_trader_core.optimization.space import Constraint, SearchSpace
from gpt_trader_core.strategy.base import Strategy

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

    def fit(self, max_columns: int, max_rows: int, maximize: bool = True) -> Heatmap:
        """This heatmap with neighbouring columns (rows) merged into ranges ("5–20") so that at most
        ``max_columns`` (``max_rows``) remain, each merged cell holding the best value of the cells it
        covers; itself when it already fits."""
        if len(self.x_values) <= max_columns and len(self.y_values) <= max_rows:
            return self
        x_groups = _groups(len(self.x_values), max(1, max_columns))
        y_groups = _groups(len(self.y_values), max(1, max_rows))
        best = np.fmax if maximize else np.fmin
        values = np.full((len(y_groups), len(x_groups)), np.nan)
        for i, (y0, y1) in enumerate(y_groups):
            for j, (x0, x1) in enumerate(x_groups):
                block = self.values[y0:y1, x0:x1]
                values[i, j] = best.reduce(block, axis=None) if block.size else np.nan
        return Heatmap(
            self.x_name,
            self.y_name,
            tuple(_label(self.x_values, a, b) for a, b in x_groups),
            tuple(_label(self.y_values, a, b) for a, b in y_groups),
            values,
        )


def _groups(n: int, parts: int) -> list[tuple[int, int]]:
    """``n`` indices cut into at most ``parts`` contiguous, nearly equal ranges."""
    parts = min(n, parts)
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _label(values: tuple[Any, ...], a: int, b: int) -> Any:
    return values[a] if b - a == 1 else f"{values[a]}–{values[b - 1]}"


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
    #: What the search did differently from what was asked, and why (e.g. fewer trials than asked).
    notes: tuple[str, ...] = ()
    #: Trials evaluated but not held in ``trials`` (worse than every kept one; see ``KEEP_TRIALS``).
    dropped: int = 0

    @property
    def evaluated(self) -> int:
        """Trials evaluated by this run."""
        return len(self.trials) + self.dropped - self.resumed

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

    def _repr_html_(self) -> str:
        """Notebook view: the summary, notes, the top ten trials and (two searched parameters) the heatmap."""
        from gpt_trader_core.domain.results import format_value

        esc = html.escape
        head = (
            f"<b>{esc(self.strategy)} on {esc(self.symbol)}</b> — {esc(self.method)}, "
            f"{len(self.trials) + self.dropped}/{self.total} trials in {self.elapsed_s:.2f} s, "
            f"{'max' if self.objective.maximize else 'min'}imise {esc(self.objective.metric)}"
            + (f", study {esc(self.study_id)}" if self.study_id else "")
        )
        warn = (
            "<p style='color:#b45309'><b>SYNTHETIC DATA</b> — generated, not observed prices.</p>"
            if self.synthetic
            else ""
        )
        notes = "".join(f"<p><i>{esc(note)}</i></p>" for note in self.notes)
        if not self.trials:
            return f"<div>{head}{warn}{notes}<p>no trial was evaluated</p></div>"
        rows = self.table(10)
        header = "".join(f"<th>{esc(str(name))}</th>" for name in rows[0])
        body = "".join(
            "<tr>"
            + "".join(f"<td style='text-align:right'>{esc(format_value(v))}</td>" for v in row.values())
            + "</tr>"
            for row in rows
        )
        table = f"<table><tr>{header}</tr>{body}</table>"
        best = f"<p>best {esc(str(self.best_params))} → {esc(format_value(self.best.value))}</p>"
        searched = [n for n in self.space.names if len(self.space.values[n]) > 1]
        heat = ""
        if len(searched) == 2:
            hm = self.heatmap(*searched).fit(30, 30, self.objective.maximize)
            cells = "".join(
                f"<tr><th>{esc(str(y))}</th>"
                + "".join(f"<td style='text-align:right'>{esc(format_value(v))}</td>" for v in row.tolist())
                + "</tr>"
                for y, row in zip(hm.y_values, hm.values, strict=True)
            )
            columns = "".join(f"<th>{esc(str(x))}</th>" for x in hm.x_values)
            heat = (
                f"<p>{esc(self.objective.metric)} by {esc(hm.y_name)} (rows) × {esc(hm.x_name)} (columns), "
                f"best per cell</p><table><tr><th>{esc(hm.y_name)} \\ {esc(hm.x_name)}</th>{columns}</tr>"
                f"{cells}</table>"
            )
        return f"<div>{head}{warn}{notes}{best}{table}{heat}</div>"

    def __repr__(self) -> str:
        head = (
            f"OptimizationResult: {self.strategy} on {self.symbol}{' (SYNTHETIC)' if self.synthetic else ''}, "
            f"{self.method}, {len(self.trials) + self.dropped}/{self.total} trials in {self.elapsed_s:.2f} s, "
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


#: Trials an optimisation holds in memory at most (the best ones); every trial is still evaluated,
#: counted and (with a study store) persisted, so memory stays bounded whatever the grid.
KEEP_TRIALS = 50_000


@attrs.frozen(eq=False)
class Ranking:
    """The best trials of a search (all of them unless a ``keep`` bound dropped the worst) and how
    many were evaluated in all, resumed ones included."""

    # A short repr: asyncio reprs the finished task holding this value when it restores its SIGINT
    # handler, and the full trial list cost ~1.6 ms per 50-trial search.
    trials: list[Trial] = attrs.field(repr=lambda trials: f"<{len(trials)} trials>")
    evaluated: int


EvaluateBatch = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]
OnTrials = Callable[[list[Trial]], Awaitable[None]]


def check_trials(method: str, n_trials: int | None) -> None:
    """``n_trials`` is a positive whole number, and only for the methods that sample."""
    if n_trials is None:
        return
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise InvalidParameterError(f"the number of trials must be a whole number >= 1, got {n_trials!r}")
    if method == "grid":
        raise InvalidParameterError(
            f"a number of trials ({n_trials}) applies to the random and bayes methods; a grid evaluates every "
            "combination (narrow the space instead, or use method random/bayes with that many trials)"
        )


def make_sampler(method: str, space: SearchSpace, n_trials: int | None, seed: int) -> Sampler:
    if method not in METHODS:
        raise InvalidParameterError(f"unknown method {method!r}; use one of {', '.join(METHODS)} (or walk_forward)")
    check_trials(method, n_trials)
    if method == "grid":
        return GridSampler(space)
    count = n_trials or min(space.size(), 100)
    if method == "random":
        return RandomSampler(space, count, seed)
    if method == "bayes":
        return TPESampler(space, count, seed)
    raise InvalidParameterError(f"unknown method {method!r}; use one of {', '.join(METHODS)} (or walk_forward)")


class _Search:
    """The state of one search, shared by its two drivers: ``search_ranked`` (chunks evaluated
    through awaitables: an Executor, a study store) and ``search_ranked_inline`` (chunks evaluated
    by a plain function in this thread: no event loop, no tasks). Both ask, number, rank, report
    and cancel through this one object, so their trials, rankings and callbacks are the same."""

    def __init__(
        self,
        space: SearchSpace,
        objective: Objective,
        sampler: Sampler,
        *,
        batch_size: int = 16,
        concurrency: int = 1,
        ask_size: int | None = None,
        done: Sequence[Trial] = (),
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
        study_id: str | None = None,
        keep: int | None = None,
    ) -> None:
        self.objective = objective
        self.sampler = sampler
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.ask_size = ask_size
        self.progress = progress
        self.cancel = cancel
        self.study_id = study_id
        self.keep = keep
        self.total = int(getattr(sampler, "total", 0)) or space.size()
        self.trials = list(done)
        self.evaluated = len(self.trials)
        self.resumed = {params_key(t.params) for t in done}
        # Only adaptive samplers learn from finished trials: others get no history (memory stays flat).
        self.adaptive = getattr(sampler, "adaptive", True)
        self.history = [(t.params, objective.rank_key(t.value)) for t in done] if self.adaptive else []
        self.proposed = 0
        self.started = time.perf_counter()
        self.fresh = 0
        self.best: Trial | None = max(self.trials, key=lambda t: (objective.rank_key(t.value), -t.number), default=None)
        self.best_key = (objective.rank_key(self.best.value), -self.best.number) if self.best else None

    def report(self) -> None:
        if self.progress is None:
            return
        elapsed = time.perf_counter() - self.started
        remaining = max(self.total - self.evaluated, 0)
        eta = elapsed / self.fresh * remaining if self.fresh else None
        value, params = (self.best.value, self.best.params) if self.best else (None, None)
        self.progress(Progress(self.evaluated, self.total, value, params, elapsed, eta))

    def stop_if_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise CancelledError(_cancel_message(self.evaluated, self.total, self.study_id))

    def failed(self, exc: Exception) -> None:
        """A chunk failed: a cancelled search can see its jobs fail (workers stopped by the same
        Ctrl-C), which is the cancellation, not an error (the caller re-raises ``exc`` otherwise)."""
        if self.cancel is not None and self.cancel.cancelled:
            raise CancelledError(_cancel_message(self.evaluated, self.total, self.study_id)) from exc

    def next_chunks(self) -> list[list[tuple[int, dict[str, Any]]]] | None:
        """The next proposals, numbered and cut into chunks (None: the sampler is exhausted);
        proposals of a resumed study that were evaluated before are skipped, keeping their numbers."""
        self.stop_if_cancelled()
        proposals = self.sampler.ask(self.history, self.ask_size or self.batch_size * self.concurrency)
        if not proposals:
            return None
        resumed = self.resumed
        if resumed:
            numbered = []
            for params in proposals:
                if params_key(params) not in resumed:
                    numbered.append((self.proposed, params))
                self.proposed += 1
        else:
            numbered = list(zip(range(self.proposed, self.proposed + len(proposals)), proposals, strict=True))
            self.proposed += len(proposals)
        size = min(self.batch_size, max(1, -(-len(numbered) // self.concurrency)))
        return [numbered[i : i + size] for i in range(0, len(numbered), size)]

    def absorb(self, evaluated: Sequence[tuple[int, dict[str, Any], dict[str, Any]]]) -> list[Trial]:
        """The trials of one evaluated chunk (number, params, stats), counted, ranked against the
        best so far and held (the worst dropped once more than twice ``keep`` are held)."""
        value_of, rank_key = self.objective.value, self.objective.rank_key
        batch = []
        best, best_key = self.best, self.best_key
        for number, params, stats in evaluated:
            trial = Trial(number, params, stats, value_of(stats))
            batch.append(trial)
            key = (rank_key(trial.value), -number)
            if self.adaptive:
                self.history.append((params, key[0]))
            if best_key is None or key > best_key:
                best, best_key = trial, key
        self.best, self.best_key = best, best_key
        self.trials.extend(batch)
        self.fresh += len(batch)
        self.evaluated += len(batch)
        if self.keep is not None and len(self.trials) > 2 * self.keep:
            self.trials.sort(key=lambda t: (-rank_key(t.value), t.number))
            del self.trials[self.keep :]
        return batch

    def ranking(self) -> Ranking:
        rank_key = self.objective.rank_key
        self.trials.sort(key=lambda t: (-rank_key(t.value), t.number))
        if self.keep is not None:
            del self.trials[self.keep :]
        return Ranking(self.trials, self.evaluated)


async def search_ranked(
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
    keep: int | None = None,
) -> Ranking:
    """Evaluate proposals until the sampler is exhausted; ``done`` trials (a resumed study) are not
    evaluated again. Raises ``CancelledError`` (after recording finished trials) when cancelled.

    ``ask_size`` fixes how many proposals are asked at a time; adaptive samplers (TPE) need it fixed
    so that results do not depend on how many workers evaluate them. ``keep`` bounds the trials held
    in memory to the best ``keep`` (the others are counted, and persisted by ``on_trials``)."""
    state = _Search(
        space,
        objective,
        sampler,
        batch_size=batch_size,
        concurrency=concurrency,
        ask_size=ask_size,
        done=done,
        progress=progress,
        cancel=cancel,
        study_id=study_id,
        keep=keep,
    )
    state.report()
    while (chunks := state.next_chunks()) is not None:
        pending = [asyncio.ensure_future(_evaluate_chunk(evaluate, chunk)) for chunk in chunks]
        try:
            waiting = set(pending)
            while waiting:
                # Poll the token while chunks run elsewhere, so a cancellation is answered at once.
                finished, waiting = await asyncio.wait(
                    waiting, timeout=None if cancel is None else 0.1, return_when=asyncio.FIRST_COMPLETED
                )
                for task in (t for t in pending if t in finished):  # in submission order: reproducible
                    batch = state.absorb(task.result())
                    if on_trials is not None:
                        await on_trials(batch)
                    state.report()
                state.stop_if_cancelled()
        except (CancelledError, InvalidParameterError):
            raise
        except Exception as exc:
            state.failed(exc)
            raise
        finally:
            for task in pending:
                task.cancel()
    return state.ranking()


EvaluateInline = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def search_ranked_inline(
    space: SearchSpace,
    objective: Objective,
    sampler: Sampler,
    evaluate: EvaluateInline,
    *,
    batch_size: int = 16,
    ask_size: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    keep: int | None = None,
) -> Ranking:
    """``search_ranked`` for an evaluation done by a plain function in this thread (``gt.optimize``,
    walk-forward): the same trials, ranking, progress reports and cancellation, without an event
    loop (which cost more than the rest of the search around a small batched grid).

    As when an event loop runs the chunks of a round one after another, every chunk of a round is
    evaluated before its trials are taken in order, and the token is checked between rounds; a
    chunk that fails stops the search once the chunks before it are taken in."""
    state = _Search(
        space, objective, sampler, batch_size=batch_size, ask_size=ask_size, progress=progress, cancel=cancel, keep=keep
    )
    state.report()
    while (chunks := state.next_chunks()) is not None:
        outcomes: list[list[tuple[int, dict[str, Any], dict[str, Any]]] | Exception] = []
        for chunk in chunks:
            try:
                results = evaluate([params for _, params in chunk])
                outcomes.append([(n, p, stats) for (n, p), stats in zip(chunk, results, strict=True)])
            except Exception as exc:  # raised at its turn, below
                outcomes.append(exc)
        try:
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome
                state.absorb(outcome)
                state.report()
            state.stop_if_cancelled()
        except (CancelledError, InvalidParameterError):
            raise
        except Exception as exc:
            state.failed(exc)
            raise
    return state.ranking()


async def search(
    space: SearchSpace,
    objective: Objective,
    sampler: Sampler,
    evaluate: EvaluateBatch,
    **options: Any,
) -> list[Trial]:
    """``search_ranked``'s trials, best first (every trial: no ``keep``)."""
    return (await search_ranked(space, objective, sampler, evaluate, **options)).trials


async def _evaluate_chunk(
    evaluate: EvaluateBatch, chunk: list[tuple[int, dict[str, Any]]]
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    results = await evaluate([params for _, params in chunk])
    return [(number, params, stats) for (number, params), stats in zip(chunk, results, strict=True)]


def _cancel_message(done: int, total: int, study_id: str | None) -> str:
    resume = f"; resume with --resume {study_id}" if study_id else ""
    return f"optimisation cancelled after {done} of {total} trials{resume}"


def inline_evaluator(
    bars: Bars, strategy: type[Strategy], config: BacktestConfig, scratch: Scratch | None = None
) -> EvaluateInline:
    """Chunks evaluated in this thread, sharing indicators, the statistics context and the work
    arrays (``scratch``, or new ones) across chunks (for ``search_ranked_inline``)."""
    cache = IndicatorCache()
    context = StatsContext(bars.timestamps, bars.close)
    scratch = scratch or Scratch()

    def evaluate(param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return evaluate_many(bars, strategy, param_sets, config, cache, context, resolved=True, scratch=scratch)

    return evaluate


def in_process_evaluator(bars: Bars, strategy: type[Strategy], config: BacktestConfig) -> EvaluateBatch:
    """``inline_evaluator`` as an awaitable evaluation (for ``search_ranked``)."""
    inline = inline_evaluator(bars, strategy, config)

    async def evaluate(param_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return inline(param_sets)

    return evaluate


def sampler_notes(method: str, sampler: Sampler, n_trials: int | None) -> tuple[str, ...]:
    """Why a search will run fewer trials than asked (the space is smaller), if it will."""
    total = int(getattr(sampler, "total", 0))
    if method != "grid" and n_trials is not None and total < n_trials:
        return (f"{n_trials} trials asked but the space has only {total} valid points: evaluating all of them",)
    return ()


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
    ranking = search_ranked_inline(
        space,
        objective,
        sampler,
        inline_evaluator(bars, strategy, config),
        batch_size=chunk_rows(len(bars)),
        ask_size=32 if method == "bayes" else None,
        progress=progress,
        cancel=cancel,
        keep=KEEP_TRIALS,
    )
    trials = ranking.trials
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
        notes=sampler_notes(method, sampler, n_trials),
        dropped=ranking.evaluated - len(trials),
    )
