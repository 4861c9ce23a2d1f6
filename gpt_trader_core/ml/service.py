"""The strategy-selection use case: train and save a selector, recommend with a saved one or the heuristic."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gpt_trader_core.domain.bars import Bars
from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ml.results import StrategyRecommendation
from gpt_trader_core.ml.selector import TrainedSelector, predict
from gpt_trader_core.ml.training import train_selector
from gpt_trader_core.ports import Executor, ModelStore
from gpt_trader_core.strategy.registry import StrategyRegistry

T = TypeVar("T")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"a model name must be a non-empty string such as 'selector-v1', got {name!r}")
    return name


class StrategySelection:
    """Train strategy selectors into a ``ModelStore`` and recommend strategies with them; ``registry``
    resolves the strategies' names.

    CPU-bound work (training, features) runs on ``executor`` when one is given, else on a worker thread,
    never on the event loop.
    """

    def __init__(
        self, model_store: ModelStore, executor: Executor | None = None, *, registry: StrategyRegistry
    ) -> None:
        self._store = model_store
        self._executor = executor
        self._registry = registry

    async def train_and_save(self, name: str, bars_list: Sequence[Bars], **options: Any) -> TrainedSelector:
        """Train with ``train_selector(bars_list, **options)`` and save the model as ``name`` (replacing a
        model of that name); returns the selector (its ``report`` holds the walk-forward results)."""
        name = _check_name(name)
        work = functools.partial(train_selector, list(bars_list), registry=self._registry, **options)
        selector = await self._run(work)
        await self._store.save_model(selector.to_record(name))
        return selector

    async def load(self, name: str) -> TrainedSelector:
        """The saved selector ``name``; ``NotFoundError`` when there is none, ``InvalidDataError`` when the
        record is not a strategy selector."""
        record = await self._store.get_model(_check_name(name))
        return TrainedSelector.from_record(record, self._registry)

    async def recommend(self, bars: Bars, model_name: str | None = None) -> StrategyRecommendation:
        """Rank the strategies for ``bars``: with the saved model ``model_name``, or the heuristic when
        ``model_name`` is None. An unknown name raises ``NotFoundError`` (no silent fallback)."""
        selector = None if model_name is None else await self.load(model_name)
        return await self._run(functools.partial(predict, selector, bars))

    async def _run(self, work: Callable[[], T]) -> T:
        if self._executor is not None:
            return await self._executor.run(work)
        return await asyncio.to_thread(work)
