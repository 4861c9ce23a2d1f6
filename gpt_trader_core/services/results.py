"""The saved-results use case: keep a backtest result, list, show and delete saved ones.

``Backtester.run(..., save=True)`` saves what it runs; this use case saves a result computed anywhere
else (``gt.backtest`` in a notebook) and reads the store for every driver (``gt.App``, REST, CLI).
"""

from __future__ import annotations

import builtins

from gpt_trader_core.domain.records import BacktestRecord
from gpt_trader_core.domain.results import BacktestResult
from gpt_trader_core.ports import BacktestStore
from gpt_trader_core.services.backtest import new_id, record_from_result


class BacktestResults:
    """Saved backtest results in a ``BacktestStore``."""

    def __init__(self, store: BacktestStore) -> None:
        self._store = store

    async def save(self, result: BacktestResult) -> str:
        """Save ``result`` under a new id and return the id."""
        record_id = new_id("bt")
        await self._store.save_backtest(record_from_result(result, record_id))
        return record_id

    async def list(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> builtins.list[BacktestRecord]:
        """Saved results, newest first, optionally of one strategy or symbol (without their trades)."""
        return await self._store.list_backtests(strategy=strategy, symbol=symbol, limit=limit)

    async def get(self, record_id: str) -> BacktestRecord:
        """One saved result with its trades; ``NotFoundError`` for an unknown id."""
        return await self._store.get_backtest(record_id)

    async def delete(self, record_id: str) -> None:
        """Delete a saved result; ``NotFoundError`` for an unknown id."""
        await self._store.delete_backtest(record_id)
