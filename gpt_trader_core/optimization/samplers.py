"""Samplers propose parameter sets: the whole grid, seeded random draws, or a Tree-structured
Parzen Estimator (TPE) that learns from finished trials.

The TPE is a small numpy implementation (no Optuna dependency), deterministic for a seed: after
``startup`` random trials it splits finished trials at the ``gamma`` quantile of the objective into
"good" and "bad", models each parameter's candidate index with a Gaussian Parzen window over each
group, draws ``candidates`` proposals around good points and keeps the one maximising
``l(x) / g(x)`` (the expected-improvement criterion of Bergstra et al., 2011).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from gpt_trader_core.optimization.space import SearchSpace


def params_key(params: Mapping[str, Any]) -> str:
    """A canonical string for a parameter set (resume and de-duplication)."""
    return json.dumps(dict(params), sort_keys=True, default=str)


class Sampler(Protocol):
    """Proposes up to ``n`` new parameter sets given the finished ones (``history``: params, rank key —
    larger is better); an empty list means the search is over."""

    def ask(self, history: Sequence[tuple[Mapping[str, Any], float]], n: int) -> list[dict[str, Any]]: ...


#: Grids up to this many raw combinations are counted exactly before the search (the constraint
#: applied to each); larger ones report their raw size as the total (an upper bound).
COUNT_LIMIT = 250_000
#: Grids up to this many raw combinations are simply listed (a few MB at most).
_SMALL_GRID = 20_000


def count_valid(space: SearchSpace) -> int | None:
    """Valid combinations of ``space`` (None when too many to count quickly, see ``COUNT_LIMIT``)."""
    if space.size() > COUNT_LIMIT:
        return None
    return sum(1 for _ in space.grid())


class GridSampler:
    """Every valid combination, generated lazily (a grid of millions never sits in memory)."""

    adaptive = False

    def __init__(self, space: SearchSpace) -> None:
        if space.size() <= _SMALL_GRID:  # small: one pass builds and counts it
            combos = list(space.grid())
            self.total = len(combos)
            self._pending: Iterator[dict[str, Any]] = iter(combos)
            return
        counted = count_valid(space)
        self.total = counted if counted is not None else space.size()
        self._pending = space.grid()

    def ask(self, history: Sequence[tuple[Mapping[str, Any], float]], n: int) -> list[dict[str, Any]]:
        return list(itertools.islice(self._pending, n))


class RandomSampler:
    adaptive = False

    def __init__(self, space: SearchSpace, n_trials: int, seed: int = 0) -> None:
        self._pending = space.sample(n_trials, seed)
        if len(self._pending) < n_trials and space.size() <= COUNT_LIMIT:
            # Rejection sampling gave up early: top up from the remaining valid points (seeded order),
            # so the search runs n_trials points or every valid one.
            asked = {params_key(p) for p in self._pending}
            rest = [p for p in space.grid() if params_key(p) not in asked]
            order = np.random.default_rng(seed).permutation(len(rest))
            self._pending += [rest[i] for i in order[: n_trials - len(self._pending)]]
        self._total = len(self._pending)

    @property
    def total(self) -> int:
        """Trials this sampler proposes in all (fixed at the start)."""
        return self._total

    def ask(self, history: Sequence[tuple[Mapping[str, Any], float]], n: int) -> list[dict[str, Any]]:
        batch, self._pending = self._pending[:n], self._pending[n:]
        return batch


class TPESampler:
    def __init__(
        self,
        space: SearchSpace,
        n_trials: int,
        seed: int = 0,
        *,
        startup: int = 10,
        gamma: float = 0.25,
        candidates: int = 24,
    ) -> None:
        self.space = space
        counted = count_valid(space)
        self.total = min(n_trials, counted if counted is not None else space.size())
        self._rng = np.random.default_rng(seed)
        self._startup = list(space.sample(min(startup, self.total), seed))
        self._gamma = gamma
        self._candidates = candidates
        self._asked: set[str] = set()

    def _index(self, name: str, value: Any) -> int:
        return self.space.values[name].index(value)

    def _density(self, points: np.ndarray, x: np.ndarray, width: float) -> np.ndarray:
        if not len(points):
            return np.ones(len(x))
        diff = (x[:, None] - points[None, :]) / width
        return np.exp(-0.5 * diff**2).mean(axis=1) + 1e-12

    def _propose(self, history: Sequence[tuple[Mapping[str, Any], float]]) -> dict[str, Any] | None:
        scores = np.array([score for _, score in history])
        order = np.argsort(-scores, kind="stable")
        n_good = max(1, int(np.ceil(self._gamma * len(history))))
        good, bad = order[:n_good], order[n_good:]
        proposals = np.zeros((self._candidates, len(self.space.names)), dtype=np.int64)
        log_ratio = np.zeros(self._candidates)
        for j, name in enumerate(self.space.names):
            size = len(self.space.values[name])
            width = max(1.0, size / 8)
            idx = np.array([self._index(name, history[i][0][name]) for i in range(len(history))], dtype=float)
            centres = idx[good][self._rng.integers(len(good), size=self._candidates)]
            draws = np.clip(np.rint(centres + self._rng.normal(0, width, self._candidates)), 0, size - 1)
            proposals[:, j] = draws.astype(np.int64)
            log_ratio += np.log(self._density(idx[good], draws, width)) - np.log(self._density(idx[bad], draws, width))
        for k in np.argsort(-log_ratio, kind="stable"):
            searched = {n: self.space.values[n][int(proposals[k, j])] for j, n in enumerate(self.space.names)}
            params = self.space.complete(searched)
            if params_key(params) not in self._asked and self.space.is_valid(params):
                return params
        return None

    def ask(self, history: Sequence[tuple[Mapping[str, Any], float]], n: int) -> list[dict[str, Any]]:
        for seen, _ in history:
            self._asked.add(params_key(seen))
        batch: list[dict[str, Any]] = []
        while len(batch) < n and len(self._asked) < self.total:
            params: dict[str, Any] | None
            if self._startup:
                params = self._startup.pop(0)
                if params_key(params) in self._asked:
                    continue
            elif history:
                params = self._propose(history) or next(iter(self._fill()), None)
            else:
                params = next(iter(self._fill()), None)
            if params is None:
                break
            self._asked.add(params_key(params))
            batch.append(params)
        return batch

    def _fill(self) -> list[dict[str, Any]]:
        """A random unseen valid point when the model proposes nothing new."""
        seed = int(self._rng.integers(2**31))
        fresh = [p for p in self.space.sample(8, seed) if params_key(p) not in self._asked]
        if not fresh and self.space.size() <= COUNT_LIMIT:
            # Few points left: random draws keep missing them, so pick among the rest (seeded).
            rest = [p for p in self.space.grid() if params_key(p) not in self._asked]
            fresh = [rest[int(self._rng.integers(len(rest)))]] if rest else []
        return fresh
