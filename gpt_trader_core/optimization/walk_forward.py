"""Walk-forward analysis: optimise in-sample, trade the best parameters out-of-sample, repeat.

Windows are rolling (fixed-length training window) or anchored (training always starts at the first
bar). For each window the search runs on the training bars only; the best parameters then trade the
test bars, starting flat, with signals computed causally from all history up to each bar (so
indicators are warm at the window's first bar, exactly as in live trading). The out-of-sample equity
curves are chained (each window starts from the previous one's final equity) into one curve whose
statistics are the honest estimate of the strategy-plus-optimiser.

Reported too: the parameters chosen per window and how stable they are (distinct values, share of
the most common value, coefficient of variation), and the degradation from in-sample to
out-of-sample (mean objective values and their ratio; walk-forward efficiency = mean out-of-sample
annualised return / mean in-sample annualised return).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from gpt_trader_core.backtesting.batch import Scratch
from gpt_trader_core.backtesting.batch_run import chunk_rows
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.engine import TradeLog, desired_positions, simulate
from gpt_trader_core.backtesting.stats import compute_stats
from gpt_trader_core.domain.bars import Bars, to_datetime
from gpt_trader_core.errors import CancelledError, InvalidDataError, InvalidParameterError
from gpt_trader_core.optimization.evaluate import evaluate_batch
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import (
    CancelToken,
    EvaluateBatch,
    Progress,
    Trial,
    inline_evaluator,
    make_sampler,
    search_ranked,
    search_ranked_inline,
)
from gpt_trader_core.optimization.space import Constraint, SearchSpace
from gpt_trader_core.strategy.base import Strategy

#: Bars a training or test window needs at least: fewer give statistics that mean nothing.
MIN_WINDOW_BARS = 20
#: Parameter sets per executor job at least in ``walk_forward_async`` (a few milliseconds of work: fewer
#: cost more in round trips than they save in balance; a window's search is one of many).
MIN_CHUNK = 64


def mean_if_defined(values: Sequence[float]) -> float:
    """The mean when every value is a finite number, else NaN (one undefined window leaves the
    average undefined rather than silently computed from the others); no numpy warnings."""
    if not values or not all(math.isfinite(v) for v in values):
        return math.nan
    return math.fsum(values) / len(values)


def _figure(value: float, spec: str = ".4f") -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


@attrs.frozen
class WalkForwardWindow:
    index: int
    train: tuple[int, int]  # bar indices [start, end)
    test: tuple[int, int]
    train_period: tuple[Any, Any]
    test_period: tuple[Any, Any]
    best_params: Mapping[str, Any]
    in_sample_value: float
    out_of_sample_value: float
    in_sample_stats: Mapping[str, Any]
    out_of_sample_stats: Mapping[str, Any]


@attrs.frozen(eq=False)
class WalkForwardResult:
    strategy: str
    symbol: str
    synthetic: bool
    objective: Objective
    method: str
    anchored: bool
    windows: tuple[WalkForwardWindow, ...]
    timestamps: np.ndarray
    equity: np.ndarray
    stats: Mapping[str, Any]
    parameter_stability: Mapping[str, Mapping[str, Any]]
    degradation: Mapping[str, float]
    elapsed_s: float

    def __repr__(self) -> str:
        kind = "anchored" if self.anchored else "rolling"
        lines = [
            f"WalkForwardResult: {self.strategy} on {self.symbol}{' (SYNTHETIC)' if self.synthetic else ''}, "
            f"{len(self.windows)} {kind} windows, {self.method}, {self.elapsed_s:.2f} s",
            f"  out-of-sample: return {_figure(self.stats['return_pct'], '.2f')} %, "
            f"sharpe {_figure(self.stats['sharpe_ratio'], '.3f')}, "
            f"max drawdown {_figure(self.stats['max_drawdown_pct'], '.2f')} %, {self.stats['num_trades']} trades",
            f"  {self.objective.metric}: in-sample {_figure(self.degradation['in_sample_mean'])} → "
            f"out-of-sample {_figure(self.degradation['out_of_sample_mean'])}; "
            f"efficiency {_figure(self.degradation['walk_forward_efficiency'], '.3f')}",
        ]
        undefined = int(self.degradation.get("undefined_windows", 0))
        if undefined:
            lines.append(
                f"  {undefined} of {len(self.windows)} windows have an undefined {self.objective.metric} "
                "(e.g. no trade): their averages are n/a"
            )
        for w in self.windows:
            lines.append(
                f"  #{w.index} test {w.test_period[0]:%Y-%m-%d}..{w.test_period[1]:%Y-%m-%d} {dict(w.best_params)} "
                f"IS {_figure(w.in_sample_value, '.3f')} OOS {_figure(w.out_of_sample_value, '.3f')}"
            )
        return "\n".join(lines)


def plan_windows(
    n: int, n_windows: int, train_size: int | None, test_size: int | None, anchored: bool
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """[(train, test)] bar ranges; by default the test windows tile the last n_windows/(n_windows+3) of the data."""
    if isinstance(n_windows, bool) or not isinstance(n_windows, int) or n_windows < 1:
        raise InvalidParameterError(f"the number of windows must be a whole number >= 1, got {n_windows!r}")
    if test_size is None and train_size is None and n // (n_windows + 3) < MIN_WINDOW_BARS:
        most = max(n // MIN_WINDOW_BARS - 3, 0)
        raise InvalidDataError(
            f"cannot fit {n_windows} walk-forward windows into {n} bars: each test window would have "
            f"{n // (n_windows + 3)} bars, at least {MIN_WINDOW_BARS} are needed; "
            + (f"use at most {most} windows or load more data" if most else "load more data")
        )
    if test_size is None:
        test_size = n // (n_windows + 3) if train_size is None else (n - train_size) // n_windows
    if train_size is None:
        train_size = n - n_windows * test_size
    if test_size < MIN_WINDOW_BARS or train_size < MIN_WINDOW_BARS or train_size + n_windows * test_size > n:
        raise InvalidDataError(
            f"cannot fit {n_windows} windows of train {train_size} + test {test_size} bars into {n} bars "
            f"(each window needs at least {MIN_WINDOW_BARS} bars); load more data, use fewer windows or other sizes"
        )
    plan = []
    for i in range(n_windows):
        test_start = train_size + i * test_size
        train_start = 0 if anchored else test_start - train_size
        plan.append(((train_start, test_start), (test_start, test_start + test_size)))
    return plan


def out_of_sample(
    bars: Bars, strategy: Strategy, config: BacktestConfig, test: tuple[int, int]
) -> tuple[np.ndarray, TradeLog, dict[str, Any]]:
    """Equity (one value per test bar), trades (bar indices relative to the test window) and stats."""
    start, end = test
    history = bars.slice(0, end)
    signals = strategy.signals(history)
    want = desired_positions(signals.target, signals.warmup, config.mode == "long_only")
    seg = bars.slice(start - 1, end)  # one bar before the window: the decision carried into it
    sim = simulate(seg.open, seg.high, seg.low, seg.close, want[start - 1 : end], -1, config)
    log = sim.trades
    shifted = attrs.evolve(log, entry_bar=log.entry_bar - 1, exit_bar=log.exit_bar - 1)
    equity = sim.equity[1:]
    stats = compute_stats(seg.timestamps[1:], seg.close[1:], equity, shifted, 0)
    return equity, shifted, stats


def _stability(windows: list[WalkForwardWindow], names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        chosen = [w.best_params[name] for w in windows]
        counts = Counter(chosen)
        entry: dict[str, Any] = {
            "values": chosen,
            "distinct": len(counts),
            "most_common": counts.most_common(1)[0][0],
            "most_common_share": counts.most_common(1)[0][1] / len(chosen),
        }
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in chosen):
            arr = np.asarray(chosen, dtype=float)
            mean = float(arr.mean())
            entry.update(mean=mean, std=float(arr.std()), cv=float(arr.std() / abs(mean)) if mean else math.nan)
        out[name] = entry
    return out


#: One test window's out-of-sample trading: equity, trades, statistics (see ``out_of_sample``).
Traded = tuple[np.ndarray, TradeLog, dict[str, Any]]


def trade_test_window(
    bars: Bars, strategy: type[Strategy], params: Mapping[str, Any], config: BacktestConfig, test: tuple[int, int]
) -> Traded:
    """``out_of_sample`` with the strategy given as class and parameters: a module-level function of
    picklable arguments, so an Executor can run it in another process."""
    return out_of_sample(bars, strategy(**params), config, test)


def evaluate_for_window(
    bars: Bars,
    strategy: type[Strategy],
    param_sets: Sequence[Mapping[str, Any]],
    config: BacktestConfig,
    objective: Objective,
) -> list[dict[str, Any]]:
    """``evaluate_batch`` for one chunk of a walk-forward window's search, trimmed for the trip back:
    all the statistics of the set that ranks best in the chunk (the first of equals), only the
    objective's statistic for the others. A window keeps nothing but its best trial, which is the best
    of some chunk, so the search ranks them exactly as on full statistics; sending every trial's ~30
    statistics back from a worker cost about as much as computing them. Untrimmed for an objective
    computed by a function (it may read any statistic)."""
    stats = evaluate_batch(bars, strategy, param_sets, config)
    if objective.function is not None or not stats:
        return stats
    rank_key, value = objective.rank_key, objective.value
    best = max(range(len(stats)), key=lambda i: (rank_key(value(stats[i])), -i))
    metric = objective.metric
    return [row if i == best else {metric: row[metric]} for i, row in enumerate(stats)]


def _window_progress(
    progress: Callable[[Progress], None] | None, index: int, windows: int
) -> Callable[[Progress], None] | None:
    """``progress`` of one window's search reported as progress of the whole walk-forward."""
    if progress is None:
        return None
    report = progress

    def window_progress(p: Progress) -> None:
        report(Progress(index * p.total + p.done, p.total * windows, p.best_value, p.best_params, p.elapsed_s, None))

    return window_progress


def _best(trials: Sequence[Trial]) -> Trial:
    if not trials:
        raise InvalidParameterError("the search space is empty after the constraint")
    return trials[0]


def _window(
    bars: Bars,
    objective: Objective,
    index: int,
    train: tuple[int, int],
    test: tuple[int, int],
    best: Trial,
    traded: Traded,
) -> WalkForwardWindow:
    ts = bars.timestamps
    return WalkForwardWindow(
        index,
        train,
        test,
        (to_datetime(ts[train[0]]), to_datetime(ts[train[1] - 1])),
        (to_datetime(ts[test[0]]), to_datetime(ts[test[1] - 1])),
        dict(best.params),
        best.value,
        objective.value(traded[2]),
        dict(best.stats),
        traded[2],
    )


def walk_forward(
    bars: Bars,
    strategy: type[Strategy],
    space_overrides: Mapping[str, Any] | None = None,
    *,
    objective: Objective | None = None,
    method: str = "grid",
    n_windows: int = 5,
    train_size: int | None = None,
    test_size: int | None = None,
    anchored: bool = False,
    constraint: Constraint | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> WalkForwardResult:
    """Walk-forward analysis of ``strategy`` on ``bars`` in this thread (see the module docstring)."""
    objective = objective or Objective()
    config = config or BacktestConfig()
    space = SearchSpace.build(strategy, space_overrides, constraint)
    plan = plan_windows(len(bars), n_windows, train_size, test_size, anchored)
    started = time.perf_counter()
    windows: list[tuple[WalkForwardWindow, TradeLog, np.ndarray]] = []
    scratch = Scratch()  # the work arrays of one window reused by the next
    for index, (train, test) in enumerate(plan):
        train_bars = bars.slice(*train)
        best = _best(
            search_ranked_inline(
                space,
                objective,
                make_sampler(method, space, n_trials, seed),
                inline_evaluator(train_bars, strategy, config, scratch),
                batch_size=chunk_rows(len(train_bars)),
                ask_size=32 if method == "bayes" else None,
                progress=_window_progress(progress, index, len(plan)),
                cancel=cancel,
            ).trials
        )
        traded = trade_test_window(bars, strategy, best.params, config, test)
        windows.append((_window(bars, objective, index, train, test, best, traded), traded[1], traded[0]))
    return _assemble(bars, strategy, objective, method, anchored, space, config, windows, started)


async def walk_forward_async(
    bars: Bars,
    strategy: type[Strategy],
    space_overrides: Mapping[str, Any] | None = None,
    *,
    evaluator: Callable[[Bars], EvaluateBatch],
    trade: Callable[[Bars, type[Strategy], Mapping[str, Any], BacktestConfig, tuple[int, int]], Awaitable[Traded]],
    concurrency: int = 1,
    max_chunk: int = 512,
    objective: Objective | None = None,
    method: str = "grid",
    n_windows: int = 5,
    train_size: int | None = None,
    test_size: int | None = None,
    anchored: bool = False,
    constraint: Constraint | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    config: BacktestConfig | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> WalkForwardResult:
    """``walk_forward`` with each window's search cut into chunks evaluated through ``evaluator(train
    bars)`` (an Executor: about two chunks per worker, as each one computes its indicators again;
    ``MIN_CHUNK`` to ``max_chunk`` sets, each well under a second) and each test window traded through
    ``trade`` (``trade_test_window`` on an Executor). A cancellation (``cancel`` set, or the awaiting
    task cancelled) stops after the running chunks, as an optimisation does, instead of after the whole
    analysis. Same result as ``walk_forward``: the same proposals, trials, ranking and chaining."""
    objective = objective or Objective()
    config = config or BacktestConfig()
    space = SearchSpace.build(strategy, space_overrides, constraint)
    plan = plan_windows(len(bars), n_windows, train_size, test_size, anchored)
    started = time.perf_counter()
    workers = max(1, concurrency)
    windows: list[tuple[WalkForwardWindow, TradeLog, np.ndarray]] = []
    for index, (train, test) in enumerate(plan):
        train_bars = bars.slice(*train)
        sampler = make_sampler(method, space, n_trials, seed)
        total = int(getattr(sampler, "total", 0)) or space.size()
        best = _best(
            (
                await search_ranked(
                    space,
                    objective,
                    sampler,
                    evaluator(train_bars),
                    batch_size=max(
                        1, min(chunk_rows(len(train_bars)), max_chunk, max(MIN_CHUNK, -(-total // (workers * 2))))
                    ),
                    concurrency=workers,
                    ask_size=32 if method == "bayes" else None,
                    progress=_window_progress(progress, index, len(plan)),
                    cancel=cancel,
                )
            ).trials
        )
        if cancel is not None and cancel.cancelled:
            raise CancelledError(f"walk-forward cancelled after {index} of {len(plan)} windows")
        traded = await trade(bars, strategy, best.params, config, test)
        windows.append((_window(bars, objective, index, train, test, best, traded), traded[1], traded[0]))
    return _assemble(bars, strategy, objective, method, anchored, space, config, windows, started)


def _assemble(
    bars: Bars,
    strategy: type[Strategy],
    objective: Objective,
    method: str,
    anchored: bool,
    space: SearchSpace,
    config: BacktestConfig,
    outcomes: Sequence[tuple[WalkForwardWindow, TradeLog, np.ndarray]],
    started: float,
) -> WalkForwardResult:
    """The windows' out-of-sample curves chained (each starts from the previous one's final equity)
    into one result with its statistics, parameter stability and degradation."""
    equities: list[np.ndarray] = []
    logs: list[TradeLog] = []
    offset, level = 0, float(config.cash)
    ts = bars.timestamps
    for window, log, equity in outcomes:
        test = window.test
        scale = level / config.cash
        equities.append(equity * scale)
        logs.append(
            attrs.evolve(
                log,
                entry_bar=log.entry_bar + offset,
                exit_bar=log.exit_bar + offset,
                pnl=log.pnl * scale,
                commission=log.commission * scale,
            )
        )
        level = float(equities[-1][-1])
        offset += test[1] - test[0]
    windows = [window for window, _, _ in outcomes]
    first, last = windows[0].test[0], windows[-1].test[1]
    stitched = np.concatenate(equities)
    combined = TradeLog(*(np.concatenate([getattr(log, f.name) for log in logs]) for f in attrs.fields(TradeLog)))
    stats = compute_stats(ts[first:last], bars.close[first:last], stitched, combined, 0)
    is_mean = mean_if_defined([w.in_sample_value for w in windows])
    oos_mean = mean_if_defined([w.out_of_sample_value for w in windows])
    is_ann = mean_if_defined([w.in_sample_stats["return_ann_pct"] for w in windows])
    oos_ann = mean_if_defined([w.out_of_sample_stats["return_ann_pct"] for w in windows])
    undefined = sum(
        1 for w in windows if not (math.isfinite(w.in_sample_value) and math.isfinite(w.out_of_sample_value))
    )
    degradation = {
        "in_sample_mean": is_mean,
        "out_of_sample_mean": oos_mean,
        "ratio": oos_mean / is_mean if math.isfinite(is_mean) and math.isfinite(oos_mean) and is_mean else math.nan,
        "walk_forward_efficiency": oos_ann / is_ann
        if math.isfinite(is_ann) and math.isfinite(oos_ann) and is_ann
        else math.nan,
        "undefined_windows": float(undefined),
    }
    return WalkForwardResult(
        strategy.name,
        bars.symbol,
        bars.synthetic,
        objective,
        method,
        anchored,
        tuple(windows),
        ts[first:last],
        stitched,
        stats,
        _stability(windows, space.names),
        degradation,
        time.perf_counter() - started,
    )
