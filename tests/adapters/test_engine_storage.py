"""Storage of what the engine produces: the per-bar session row (which reuses the encoded constant
columns and still equals the plain encoding) and trade returns stored in percent."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import attrs
import numpy as np

import gpt_trader_core as gt
from adapters.state import SqliteStateStore, _codec
from adapters.state.migrations import migrate
from gpt_trader_core.domain.records import SessionStatus
from gpt_trader_core.services.backtest import record_from_result
from tests.adapters.test_trading_store import at, make_session


def test_reused_session_rows_equal_fresh_ones() -> None:
    memo: _codec.SessionMemo = {}
    session = make_session(last_bar=3)
    assert list(_codec.session_row_reusing(session, memo).items()) == list(_codec.session_row(session).items())
    for bar in range(4, 8):  # a running session: only its progress moves
        session = attrs.evolve(session, last_bar=bar, last_time=at(bar), cash=1.5 * bar, equity=2.5 * bar)
        assert list(_codec.session_row_reusing(session, memo).items()) == list(_codec.session_row(session).items())
    for status in SessionStatus:
        ended = attrs.evolve(session, status=status, error=f"{status}: x", last_time=None, updated_at=None)
        assert list(_codec.session_row_reusing(ended, memo).items()) == list(_codec.session_row(ended).items())
    changed = attrs.evolve(session, params={"fast": 5, "slow": 30}, risk=None)  # new objects: encoded again
    assert list(_codec.session_row_reusing(changed, memo).items()) == list(_codec.session_row(changed).items())
    assert memo[session.id][1]["params"] == _codec.session_row(changed)["params"]


async def test_stored_trade_returns_become_percent(tmp_path: Path) -> None:
    """Records saved before migration 7 held a trade's return_pct as a fraction: they now read in
    percent, like records saved since (non-finite values stay as they are)."""
    path = tmp_path / "v6.db"
    result = gt.backtest(gt.synthetic("AAA", "2020-01-01", "2021-12-31"), "sma_cross", fast=5, slow=20)
    record = record_from_result(result, "bt-old")
    old_trades = [attrs.evolve(t, return_pct=t.return_pct / 100) for t in record.trades]  # as v6 stored them
    old_trades[0] = attrs.evolve(old_trades[0], return_pct=math.nan)
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=6) == 6

    def insert(table: str, row: dict[str, object]) -> None:
        columns = ", ".join(f'"{name}"' for name in row)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", [*row.values()])

    insert("backtests", _codec.backtest_row(record))
    for row in _codec.trade_rows(attrs.evolve(record, trades=tuple(old_trades))):
        insert("backtest_trades", {"backtest_id": "bt-old", **row})
    conn.close()
    store = SqliteStateStore(path)
    await store.open()
    try:
        stored = await store.get_backtest("bt-old")
    finally:
        await store.close()
    assert math.isnan(stored.trades[0].return_pct)
    got = [t.return_pct for t in stored.trades[1:]]
    assert got == [t.return_pct / 100 * 100 for t in record.trades[1:]]
    np.testing.assert_allclose(got, [t.return_pct for t in record.trades[1:]], rtol=1e-13)
