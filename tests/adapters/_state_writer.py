"""Helper process for the durability tests: writes to a state store until killed (a SQLite file, or a PostgreSQL URL).

    python _state_writer.py DB_PATH_OR_POSTGRES_URL PREFIX

After each write *returns* it prints ``E PREFIX I`` (an execution) or ``B PREFIX I`` (a backtest with
``TRADES`` trades) and flushes, so every printed line is an acknowledged write. The records are a
pure function of (prefix, i): the test rebuilds them with ``execution_for``/``backtest_for``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import sys
from typing import Any

from adapters.state import SqliteStateStore
from gpt_trader_core.domain.records import BacktestRecord, Execution, ExecutionStatus
from gpt_trader_core.domain.trading import ExitReason, Trade

T0 = dt.datetime(2024, 1, 1)
TRADES = 40
BACKTEST_EVERY = 3


def execution_for(prefix: str, i: int) -> Execution:
    statuses = list(ExecutionStatus)
    return Execution(
        id=f"{prefix}-e{i:06d}",
        kind="optimise" if i % 2 else "workflow",
        name=f"job {i} of {prefix}",
        status=statuses[i % len(statuses)],
        params={"i": i, "since": T0 + dt.timedelta(days=i), "score": math.nan, "grid": (i, i + 1)},
        progress=(i % 11) / 10,
        message="x" * (i % 300),  # varied row sizes spread the writes over more pages
        created_at=T0 + dt.timedelta(seconds=i),
        result={"elapsed": dt.timedelta(milliseconds=i), "best": -math.inf} if i % 3 == 0 else None,
    )


def backtest_for(prefix: str, i: int) -> BacktestRecord:
    trades = tuple(
        Trade("AAPL", 1.0 + k, k, k + 1, T0 + dt.timedelta(hours=k), T0 + dt.timedelta(hours=k + 5),
              100.0 + k, 101.0 + i, float(i - k), 0.01 * k, 0.1, ExitReason.SIGNAL)
        for k in range(TRADES)
    )  # fmt: skip
    return BacktestRecord(
        id=f"{prefix}-b{i:06d}",
        created_at=T0 + dt.timedelta(seconds=i),
        strategy="sma_cross",
        params={"fast": i, "slow": i + 20},
        symbol="AAPL",
        timeframe="1h",
        source="synthetic(seed=0)",
        synthetic=True,
        data_fingerprint=f"fp-{i}",
        start=T0,
        end=T0 + dt.timedelta(days=30),
        config={"cash": 10_000.0},
        stats={"duration": dt.timedelta(days=30), "sharpe_ratio": math.nan, "num_trades": TRADES},
        trades=trades,
    )


def open_store(target: str) -> Any:
    """A SqliteStateStore on a file path, or a PostgresStateStore on a ``postgresql://`` URL."""
    if target.startswith("postgresql://"):
        from adapters.state.postgres import PostgresStateStore

        return PostgresStateStore.from_url(target)
    return SqliteStateStore(target)


async def main(path: str, prefix: str) -> None:
    store = open_store(path)
    await store.open()
    for i in itertools.count():
        await store.add_execution(execution_for(prefix, i))
        sys.stdout.write(f"E {prefix} {i}\n")
        sys.stdout.flush()
        if i % BACKTEST_EVERY == 0:
            await store.save_backtest(backtest_for(prefix, i))
            sys.stdout.write(f"B {prefix} {i}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
