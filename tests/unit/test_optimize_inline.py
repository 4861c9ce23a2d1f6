"""The in-process search without an event loop (``search_ranked_inline``, behind ``gt.optimize`` and
walk-forward) gives what the event-loop search (``search_ranked``, behind the Optimizer use case) gives:
the same trials in the same order, the same progress reports, the same cancellation and errors."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import gpt_trader_core as gt
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.errors import CancelledError
from gpt_trader_core.optimization.objective import Objective
from gpt_trader_core.optimization.runner import (
    CancelToken,
    Progress,
    Ranking,
    in_process_evaluator,
    inline_evaluator,
    make_sampler,
    search_ranked,
    search_ranked_inline,
)
from gpt_trader_core.optimization.space import SearchSpace
from gpt_trader_core.strategy import REGISTRY

BARS = gt.synthetic("MSFT", "2016-01-01", "2019-12-31")
SMA = REGISTRY.get_spec("sma_cross").cls
GRID = {"fast": range(5, 30, 5), "slow": range(10, 70, 5)}
CONFIG = BacktestConfig(commission=0.002)


def space() -> SearchSpace:
    return SearchSpace.build(SMA, GRID, lambda p: p["fast"] < p["slow"])


def both(method: str = "grid", n_trials: int | None = None, **options: Any) -> tuple[Ranking, Ranking]:
    """The same search run by each driver (fresh samplers, fresh evaluators)."""
    s = space()
    inline = search_ranked_inline(
        s, Objective(), make_sampler(method, s, n_trials, 3), inline_evaluator(BARS, SMA, CONFIG), **options
    )
    awaited = asyncio.run(
        search_ranked(
            s, Objective(), make_sampler(method, s, n_trials, 3), in_process_evaluator(BARS, SMA, CONFIG), **options
        )
    )
    return inline, awaited


def rows(ranking: Ranking) -> list[tuple[int, dict[str, Any], float, float]]:
    return [(t.number, dict(t.params), t.value, t.stats["return_pct"]) for t in ranking.trials]


@pytest.mark.parametrize(
    ("method", "n_trials", "options"),
    [
        ("grid", None, {"batch_size": 7}),  # several chunks per round, a ragged last chunk
        ("grid", None, {"batch_size": 4, "keep": 5}),  # the bound trims while the search runs
        ("random", 20, {"batch_size": 3}),
        ("bayes", 25, {"batch_size": 4, "ask_size": 8}),  # adaptive: learns from the history
    ],
)
def test_both_drivers_rank_the_same_trials(method: str, n_trials: int | None, options: dict[str, Any]) -> None:
    inline, awaited = both(method, n_trials, **options)
    assert inline.evaluated == awaited.evaluated > 0
    assert rows(inline) == rows(awaited)
    assert all(a.stats == b.stats for a, b in zip(inline.trials, awaited.trials, strict=True))


def test_ties_rank_the_earlier_trial_first_inline() -> None:
    s = SearchSpace.build(REGISTRY.get_spec("breakout").cls, {"lookback": list(range(5, 25))})

    def evaluate(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"sharpe_ratio": float(p["lookback"] % 3)} for p in params]

    ranking = search_ranked_inline(s, Objective(), make_sampler("grid", s, None, 0), evaluate, batch_size=4)
    numbers = [t.number for t in ranking.trials]
    assert numbers[:7] == [0, 3, 6, 9, 12, 15, 18]  # lookbacks 5, 8, ... (value 2) in search order
    assert [t.value for t in ranking.trials] == sorted((t.value for t in ranking.trials), reverse=True)


def test_both_drivers_report_the_same_progress() -> None:
    reports: dict[str, list[tuple[int, int, float | None]]] = {"inline": [], "awaited": []}

    def recorder(name: str) -> Any:
        return lambda p: reports[name].append((p.done, p.total, p.best_value, p.eta_s is None))

    s = space()
    search_ranked_inline(
        s,
        Objective(),
        make_sampler("grid", s, None, 0),
        inline_evaluator(BARS, SMA, CONFIG),
        batch_size=8,
        progress=recorder("inline"),
    )
    asyncio.run(
        search_ranked(
            s,
            Objective(),
            make_sampler("grid", s, None, 0),
            in_process_evaluator(BARS, SMA, CONFIG),
            batch_size=8,
            progress=recorder("awaited"),
        )
    )
    assert reports["inline"] == reports["awaited"]
    assert [done for done, *_ in reports["inline"]] == [0, 8, 16, 24, 32, 40, 48, 50]
    assert reports["inline"][0][2:] == (None, True) and reports["inline"][-1][1] == 50


def test_a_cancellation_from_progress_stops_after_the_round_in_both() -> None:
    def run(driver: str) -> tuple[str, list[int]]:
        token, seen = CancelToken(), []

        def progress(p: Progress) -> None:
            seen.append(p.done)
            if p.done >= 8:
                token.cancel()

        s = space()
        sampler = make_sampler("grid", s, None, 0)
        with pytest.raises(CancelledError) as info:
            if driver == "inline":
                evaluate = inline_evaluator(BARS, SMA, CONFIG)
                search_ranked_inline(s, Objective(), sampler, evaluate, batch_size=4, progress=progress, cancel=token)
            else:
                evaluator = in_process_evaluator(BARS, SMA, CONFIG)
                asyncio.run(
                    search_ranked(s, Objective(), sampler, evaluator, batch_size=4, progress=progress, cancel=token)
                )
        return str(info.value), seen

    inline, awaited = run("inline"), run("awaited")
    assert inline == awaited
    assert inline[0] == "optimisation cancelled after 8 of 50 trials"


def test_a_failing_chunk_is_raised_after_the_chunks_before_it() -> None:
    s = SearchSpace.build(REGISTRY.get_spec("breakout").cls, {"lookback": list(range(5, 25))})

    def evaluate(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if any(p["lookback"] == 10 for p in params):
            raise RuntimeError("worker lost")
        return [{"sharpe_ratio": 1.0} for _ in params]

    async def awaitable(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return evaluate(params)

    seen: dict[str, list[int]] = {"inline": [], "awaited": []}
    with pytest.raises(RuntimeError, match="worker lost"):
        search_ranked_inline(
            s,
            Objective(),
            make_sampler("grid", s, None, 0),
            evaluate,
            batch_size=4,
            ask_size=12,
            progress=lambda p: seen["inline"].append(p.done),
        )
    with pytest.raises(RuntimeError, match="worker lost"):
        asyncio.run(
            search_ranked(
                s,
                Objective(),
                make_sampler("grid", s, None, 0),
                awaitable,
                batch_size=4,
                ask_size=12,
                progress=lambda p: seen["awaited"].append(p.done),
            )
        )
    assert seen["inline"] == seen["awaited"] == [0, 4]  # lookbacks 5-8 taken in, 9-12 failed


def test_a_failure_of_a_cancelled_search_is_the_cancellation() -> None:
    s = SearchSpace.build(REGISTRY.get_spec("breakout").cls, {"lookback": list(range(5, 25))})
    token = CancelToken()

    def evaluate(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
        token.cancel()  # e.g. Ctrl-C stopped the workers and set the token
        raise RuntimeError("worker stopped")

    with pytest.raises(CancelledError, match="cancelled after 0 of 20"):
        search_ranked_inline(s, Objective(), make_sampler("grid", s, None, 0), evaluate, cancel=token)


async def test_gt_optimize_inside_a_running_loop_needs_no_thread() -> None:
    threads = threading.active_count()
    seen: list[str] = []
    result = gt.optimize(
        BARS,
        "sma_cross",
        **GRID,
        commission=0.002,
        constraint=lambda p: p["fast"] < p["slow"],
        progress=lambda p: seen.append(threading.current_thread().name),
    )
    assert len(result.trials) == 50 and result.evaluated == 50
    assert set(seen) == {threading.current_thread().name} and threading.active_count() == threads
