"""Pruning saved backtests: every backtest run through the CLI or the API is saved, so the store grows
until the user says what to keep."""

from __future__ import annotations

import datetime as dt

import attrs

from gpt_trader_core.errors import InvalidParameterError
from gpt_trader_core.ports import BacktestStore

#: Listing page when scanning the store (records come without their trades, so pages are small).
_SCAN = 1_000_000


@attrs.frozen
class PruneResult:
    """How many saved backtests were (or, with ``dry_run``, would be) deleted and how many remain."""

    deleted: int
    kept: int
    dry_run: bool


async def prune_backtests(
    store: BacktestStore,
    *,
    older_than: dt.timedelta | None = None,
    keep: int | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Delete saved backtests created more than ``older_than`` before ``now`` and/or all but the
    ``keep`` newest. Both given: a backtest goes when either rule says so. At least one is required."""
    if older_than is None and keep is None:
        raise InvalidParameterError("say what to prune: an age (older than, e.g. 30d) and/or how many to keep")
    if older_than is not None and older_than <= dt.timedelta(0):
        raise InvalidParameterError(f"the age must be positive, e.g. 30d, got {older_than}")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 0):
        raise InvalidParameterError(f"the number of backtests to keep must be a whole number >= 0, got {keep!r}")
    now = now or dt.datetime.now(dt.UTC)
    records = await store.list_backtests(limit=_SCAN)  # newest first
    doomed = []
    for rank, record in enumerate(records):
        created = record.created_at if record.created_at.tzinfo else record.created_at.replace(tzinfo=dt.UTC)
        too_old = older_than is not None and now - created > older_than
        if too_old or (keep is not None and rank >= keep):
            doomed.append(record.id)
    if not dry_run:
        for record_id in doomed:
            await store.delete_backtest(record_id)
    return PruneResult(len(doomed), len(records) - len(doomed), dry_run)
