"""``StateStore`` on SQLite: one file, durable on return, never blocking the event loop.

Every SQLite call (and the encoding/decoding around it) runs on ONE dedicated worker thread that
owns the connection, so calls are serialised in submission order, the event loop only awaits, and
the connection is never shared across threads (``check_same_thread`` stays on).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from adapters.state import _auth_rows, _codec, _common, _outbox
from adapters.state.migrations import migrate
from gpt_trader_core.domain.auth import ApiKey, RefreshToken, User
from gpt_trader_core.domain.records import (
    BacktestRecord,
    EquitySnapshot,
    Execution,
    ExecutionStatus,
    ModelRecord,
    SessionRecord,
    SessionStatus,
    StudyRecord,
    TrialRecord,
    utcnow,
)
from gpt_trader_core.domain.trading import Fill, OrderState, Position
from gpt_trader_core.errors import ConfigurationError
from gpt_trader_core.ports import OutboxEvent

__all__ = ["SqliteStateStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MEMORY = ":memory:"
_URL_FORMS = "sqlite:///absolute/path.db, sqlite:///~/path.db, sqlite:relative/path.db or sqlite::memory:"


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(f'"{name}"' for name in names)  # quoted: "start" and "end" are SQL keywords


def _insert(table: str, names: tuple[str, ...], verb: str = "INSERT") -> str:
    return f"{verb} INTO {table} ({_columns(names)}) VALUES ({', '.join(f':{name}' for name in names)})"


_BACKTEST_SELECT = f"SELECT {_columns(_codec.BACKTEST_COLUMNS)} FROM backtests"
_BACKTEST_INSERT = _insert("backtests", _codec.BACKTEST_COLUMNS)
_TRADE_INSERT = _insert("backtest_trades", ("backtest_id", "seq", *_codec.TRADE_COLUMNS))
_TRADE_SELECT = f"SELECT {_columns(_codec.TRADE_COLUMNS)} FROM backtest_trades WHERE backtest_id = ? ORDER BY seq"
_EXECUTION_SELECT = f"SELECT {_columns(_codec.EXECUTION_COLUMNS)} FROM executions"
_EXECUTION_INSERT = _insert("executions", _codec.EXECUTION_COLUMNS)
_EXECUTION_UPDATE = "UPDATE executions SET {} WHERE id = :id".format(
    ", ".join(f'"{name}" = :{name}' for name in _codec.EXECUTION_COLUMNS if name != "id")
)
_NEWEST_FIRST = "ORDER BY created_at DESC, id DESC LIMIT ?"
_MODEL_SELECT = f"SELECT {_columns(_codec.MODEL_COLUMNS)} FROM models"
_MODEL_INSERT = _insert("models", _codec.MODEL_COLUMNS)
_STUDY_SELECT = f"SELECT {_columns(_codec.STUDY_COLUMNS)} FROM studies"
# An upsert, not DELETE + INSERT (nor INSERT OR REPLACE): deleting the row would cascade to its trials.
_STUDY_UPSERT = "{} ON CONFLICT (id) DO UPDATE SET {}".format(
    _insert("studies", _codec.STUDY_COLUMNS),
    ", ".join(f'"{name}" = excluded."{name}"' for name in _codec.STUDY_COLUMNS if name != "id"),
)
# OR IGNORE: a trial number already stored for the study keeps its first trial (idempotent retries).
_TRIAL_INSERT = _insert("study_trials", ("study_id", *_codec.TRIAL_COLUMNS), "INSERT OR IGNORE")
_TRIAL_SELECT = f"SELECT {_columns(_codec.TRIAL_COLUMNS)} FROM study_trials WHERE study_id = ? ORDER BY number"


def _upsert(table: str, names: tuple[str, ...], key: tuple[str, ...], keep: tuple[str, ...] = ()) -> str:
    """INSERT, or on a conflict of ``key`` UPDATE every other column but ``keep``. Not INSERT OR
    REPLACE: that deletes the old row first (a session's would cascade to its orders, fills ...), and an
    OR clause applies to every constraint of the row, not just the key."""
    updated = [name for name in names if name not in key and name not in keep]
    return "{} ON CONFLICT ({}) DO UPDATE SET {}".format(
        _insert(table, names), _columns(key), ", ".join(f'"{name}" = excluded."{name}"' for name in updated)
    )


_SESSION_SELECT = f"SELECT {_columns(_codec.SESSION_COLUMNS)} FROM sessions"
_SESSION_UPSERT = _upsert("sessions", _codec.SESSION_COLUMNS, ("id",))
_SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = ?"
_SESSION_CLAIM = "SELECT owner, last_bar FROM sessions WHERE id = ?"
# An order keeps the session and the place (seq) it was first stored with; its state is replaced.
_ORDER_UPSERT = _upsert(
    "orders", ("session_id", "seq", *_codec.ORDER_COLUMNS), ("client_order_id",), keep=("session_id", "seq")
)
_ORDER_OWNER = "SELECT session_id, seq FROM orders WHERE client_order_id = ?"
_ORDER_NEXT_SEQ = "SELECT coalesce(max(seq) + 1, 0) FROM orders WHERE session_id = ?"
_ORDER_SELECT = f"SELECT {_columns(_codec.ORDER_COLUMNS)} FROM orders WHERE session_id = ? ORDER BY seq"
# DO NOTHING on a stored fill id only (a re-committed bar); OR IGNORE would also drop a bad row silently.
_FILL_INSERT = "{} ON CONFLICT (fill_id) DO NOTHING".format(_insert("fills", ("session_id", *_codec.FILL_COLUMNS)))
_FILL_SELECT = f"SELECT {_columns(_codec.FILL_COLUMNS)} FROM fills WHERE session_id = ? ORDER BY bar, fill_id"
_POSITION_INSERT = _insert("positions", ("session_id", *_codec.POSITION_COLUMNS))
_POSITION_SELECT = f"SELECT {_columns(_codec.POSITION_COLUMNS)} FROM positions WHERE session_id = ? ORDER BY symbol"
_EQUITY_UPSERT = _upsert("equity", ("session_id", *_codec.EQUITY_COLUMNS), ("session_id", "bar"))
_KEY_SELECT = f"SELECT {_columns(_auth_rows.KEY_COLUMNS)} FROM api_keys"
_TOKEN_SELECT = (
    f"SELECT {', '.join('t.' + name for name in _auth_rows.TOKEN_COLUMNS)}, f.revoked_at AS family_revoked_at "
    "FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family WHERE t.jti = ?"
)
_EQUITY_SELECT = f"SELECT {_columns(_codec.EQUITY_COLUMNS)} FROM equity WHERE session_id = ? ORDER BY bar"
# A re-committed bar keeps the first copy of an event still pending (as fills do).
_OUTBOX_INSERT = (
    _insert("session_outbox", ("session_id", "seq", *_outbox.COLUMNS)) + " ON CONFLICT (source, number) DO NOTHING"
)
_OUTBOX_NEXT_SEQ = "SELECT coalesce(max(seq) + 1, 0) FROM session_outbox WHERE session_id = ?"
_OUTBOX_SELECT = f"SELECT {_columns(_outbox.COLUMNS)} FROM session_outbox WHERE session_id = ? ORDER BY seq"
_OUTBOX_DELETE = "DELETE FROM session_outbox WHERE session_id = ? AND source = ? AND number <= ?"
_OUTBOX_ENDED = _outbox.ENDED_WITH_PENDING.format("?")


def _write_outbox(
    conn: sqlite3.Connection, session_id: str, rows: list[dict[str, Any]], published: list[tuple[str, int]]
) -> None:
    """Inside a write transaction: delete the session's published events, append ``rows`` after the rest."""
    conn.executemany(_OUTBOX_DELETE, [(session_id, source, number) for source, number in published])
    if rows:
        first = int(conn.execute(_OUTBOX_NEXT_SEQ, (session_id,)).fetchone()[0])
        conn.executemany(
            _OUTBOX_INSERT, [{"session_id": session_id, "seq": first + i, **row} for i, row in enumerate(rows)]
        )


@contextlib.contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction. IMMEDIATE takes the write lock up front, so a concurrent writer (another
    process) waits in busy_timeout here instead of failing later on a read→write lock upgrade."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: several SELECTs see one consistent state."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


class SqliteStateStore:
    """``StateStore`` in a SQLite file (or ``":memory:"``, which lives until ``close``)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = 5.0) -> None:
        text = str(path)
        if not text:
            raise ConfigurationError(f"empty SQLite path: give a file path or {MEMORY!r}")
        # Absolute now, so a later chdir cannot move the database.
        self._path = text if text == MEMORY else os.path.abspath(Path(text).expanduser())
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the worker thread

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float = 5.0) -> Self:
        """From ``sqlite:///absolute/path.db``, ``sqlite:///~/path.db``, ``sqlite:relative/path.db``
        or ``sqlite::memory:``. Note: unlike SQLAlchemy, ``sqlite:///x.db`` is the absolute ``/x.db``."""
        return cls(_path_from_url(url), busy_timeout=busy_timeout)

    @property
    def path(self) -> str:
        """The database file's absolute path, or ``":memory:"``."""
        return self._path

    def __repr__(self) -> str:
        return f"SqliteStateStore({self._path!r})"

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._executor is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-state")
        self._executor = executor
        try:
            await asyncio.get_running_loop().run_in_executor(executor, self._connect)
        except BaseException:
            self._executor = None
            executor.shutdown(wait=True)
            raise

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            # Queued behind every call already submitted: in-flight writes finish first.
            await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
        finally:
            executor.shutdown(wait=True)

    async def ping(self) -> None:
        await self._call(lambda conn: conn.execute("SELECT 1").fetchone())

    async def schema_version(self) -> int:
        return await self._call(lambda conn: int(conn.execute("PRAGMA user_version").fetchone()[0]))

    # -- BacktestStore -----------------------------------------------------------------------------

    async def save_backtest(self, record: BacktestRecord) -> None:
        def save(conn: sqlite3.Connection) -> None:
            row = _codec.backtest_row(record)
            trades = [{"backtest_id": record.id, **trade} for trade in _codec.trade_rows(record)]
            with _write(conn):
                conn.execute("DELETE FROM backtests WHERE id = ?", (record.id,))  # cascades to trades
                conn.execute(_BACKTEST_INSERT, row)
                conn.executemany(_TRADE_INSERT, trades)

        await self._call(save)

    async def get_backtest(self, record_id: str) -> BacktestRecord:
        def get(conn: sqlite3.Connection) -> BacktestRecord:
            with _snapshot(conn):
                row = conn.execute(f"{_BACKTEST_SELECT} WHERE id = ?", (record_id,)).fetchone()
                if row is None:
                    raise _common.backtest_not_found(record_id)
                trades = conn.execute(_TRADE_SELECT, (record_id,)).fetchall()
            return _codec.backtest_from_row(row, trades)

        return await self._call(get)

    async def list_backtests(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> list[BacktestRecord]:
        limit = _common.check_limit(limit)
        where, args = _where(strategy=strategy, symbol=symbol)

        def list_(conn: sqlite3.Connection) -> list[BacktestRecord]:
            rows = conn.execute(f"{_BACKTEST_SELECT}{where} {_NEWEST_FIRST}", (*args, limit)).fetchall()
            return [_codec.backtest_from_row(row) for row in rows]

        return await self._call(list_)

    async def delete_backtest(self, record_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            with _write(conn):
                if conn.execute("DELETE FROM backtests WHERE id = ?", (record_id,)).rowcount == 0:
                    raise _common.backtest_not_found(record_id)

        await self._call(delete)

    # -- ExecutionStore ----------------------------------------------------------------------------

    async def add_execution(self, execution: Execution) -> None:
        def add(conn: sqlite3.Connection) -> None:
            row = _codec.execution_row(execution)
            with _write(conn):
                if conn.execute("SELECT 1 FROM executions WHERE id = ?", (execution.id,)).fetchone():
                    raise _common.execution_exists(execution.id)
                conn.execute(_EXECUTION_INSERT, row)

        await self._call(add)

    async def update_execution(self, execution: Execution) -> None:
        def update(conn: sqlite3.Connection) -> None:
            row = _codec.execution_row(execution)
            with _write(conn):
                if conn.execute(_EXECUTION_UPDATE, row).rowcount == 0:
                    raise _common.execution_not_found(execution.id)

        await self._call(update)

    async def get_execution(self, execution_id: str) -> Execution:
        def get(conn: sqlite3.Connection) -> Execution:
            row = conn.execute(f"{_EXECUTION_SELECT} WHERE id = ?", (execution_id,)).fetchone()
            if row is None:
                raise _common.execution_not_found(execution_id)
            return _codec.execution_from_row(row)

        return await self._call(get)

    async def list_executions(
        self, *, kind: str | None = None, status: ExecutionStatus | None = None, limit: int = 50
    ) -> list[Execution]:
        limit = _common.check_limit(limit)
        checked = _common.check_status(status)
        where, args = _where(kind=kind, status=None if checked is None else checked.value)

        def list_(conn: sqlite3.Connection) -> list[Execution]:
            rows = conn.execute(f"{_EXECUTION_SELECT}{where} {_NEWEST_FIRST}", (*args, limit)).fetchall()
            return [_codec.execution_from_row(row) for row in rows]

        return await self._call(list_)

    # -- ModelStore --------------------------------------------------------------------------------

    async def save_model(self, record: ModelRecord) -> None:
        def save(conn: sqlite3.Connection) -> None:
            row = _codec.model_row(record)
            with _write(conn):
                conn.execute("DELETE FROM models WHERE name = ?", (record.name,))
                conn.execute(_MODEL_INSERT, row)

        await self._call(save)

    async def get_model(self, name: str) -> ModelRecord:
        def get(conn: sqlite3.Connection) -> ModelRecord:
            row = conn.execute(f"{_MODEL_SELECT} WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise _common.model_not_found(name)
            return _codec.model_from_row(row)

        return await self._call(get)

    async def list_models(self, *, kind: str | None = None) -> list[ModelRecord]:
        where, args = _where(kind=kind)

        def list_(conn: sqlite3.Connection) -> list[ModelRecord]:
            rows = conn.execute(f"{_MODEL_SELECT}{where} ORDER BY created_at DESC, name DESC", args).fetchall()
            return [_codec.model_from_row(row) for row in rows]

        return await self._call(list_)

    # -- StudyStore --------------------------------------------------------------------------------

    async def save_study(self, study: StudyRecord) -> None:
        def save(conn: sqlite3.Connection) -> None:
            row = _codec.study_row(study)
            with _write(conn):
                conn.execute(_STUDY_UPSERT, row)

        await self._call(save)

    async def get_study(self, study_id: str) -> StudyRecord:
        def get(conn: sqlite3.Connection) -> StudyRecord:
            row = conn.execute(f"{_STUDY_SELECT} WHERE id = ?", (study_id,)).fetchone()
            if row is None:
                raise _common.study_not_found(study_id)
            return _codec.study_from_row(row)

        return await self._call(get)

    async def list_studies(self, *, limit: int = 50) -> list[StudyRecord]:
        limit = _common.check_limit(limit)

        def list_(conn: sqlite3.Connection) -> list[StudyRecord]:
            rows = conn.execute(f"{_STUDY_SELECT} {_NEWEST_FIRST}", (limit,)).fetchall()
            return [_codec.study_from_row(row) for row in rows]

        return await self._call(list_)

    async def add_trials(self, study_id: str, trials: Sequence[TrialRecord]) -> None:
        def add(conn: sqlite3.Connection) -> None:
            # Encoded before the transaction: an unstorable trial fails the batch before any write.
            rows = [{"study_id": study_id, **row} for row in _codec.trial_rows(trials)]
            with _write(conn):
                if conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
                    raise _common.trials_without_study(study_id)
                conn.executemany(_TRIAL_INSERT, rows)

        await self._call(add)

    async def list_trials(self, study_id: str) -> list[TrialRecord]:
        def list_(conn: sqlite3.Connection) -> list[TrialRecord]:
            with _snapshot(conn):
                if conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone() is None:
                    raise _common.study_not_found(study_id)
                rows = conn.execute(_TRIAL_SELECT, (study_id,)).fetchall()
            return [_codec.trial_from_row(row) for row in rows]

        return await self._call(list_)

    async def delete_study(self, study_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            with _write(conn):  # its trials go with it (ON DELETE CASCADE)
                if conn.execute("DELETE FROM studies WHERE id = ?", (study_id,)).rowcount == 0:
                    raise _common.study_not_found(study_id)

        await self._call(delete)

    # -- TradingStore ------------------------------------------------------------------------------

    # -- OwnerStore --------------------------------------------------------------------------------

    async def set_owner(self, resource: str, subject: str) -> None:
        at = utcnow().isoformat()

        def set_(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "INSERT INTO owners (resource, subject, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (resource, subject, at),
                )

        await self._call(set_)

    async def get_owner(self, resource: str) -> str | None:
        def get(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT subject FROM owners WHERE resource = ?", (resource,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(get)

    async def save_session(self, session: SessionRecord) -> None:
        def save(conn: sqlite3.Connection) -> None:
            row = _codec.session_row(session)
            with _write(conn):
                conn.execute(_SESSION_UPSERT, row)

        await self._call(save)

    async def get_session(self, session_id: str) -> SessionRecord:
        def get(conn: sqlite3.Connection) -> SessionRecord:
            row = conn.execute(f"{_SESSION_SELECT} WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise _common.session_not_found(session_id)
            return _codec.session_from_row(row)

        return await self._call(get)

    async def list_sessions(self, *, status: SessionStatus | None = None, limit: int = 50) -> list[SessionRecord]:
        limit = _common.check_limit(limit)
        checked = _common.check_session_status(status)
        where, args = _where(status=None if checked is None else checked.value)

        def list_(conn: sqlite3.Connection) -> list[SessionRecord]:
            rows = conn.execute(f"{_SESSION_SELECT}{where} {_NEWEST_FIRST}", (*args, limit)).fetchall()
            return [_codec.session_from_row(row) for row in rows]

        return await self._call(list_)

    async def swap_session(
        self,
        session: SessionRecord,
        expected: SessionRecord,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> bool:
        def swap(conn: sqlite3.Connection) -> bool:
            row = _codec.session_row(session)
            outbox, published = _outbox.rows(events), _outbox.check_sent(sent)
            with _write(conn):
                stored = conn.execute(_SESSION_CLAIM, (session.id,)).fetchone()
                if not _common.same_claim(None if stored is None else dict(stored), expected.owner, expected.last_bar):
                    return False
                conn.execute(_SESSION_UPSERT, row)
                _write_outbox(conn, session.id, outbox, published)
                return True

        return await self._call(swap)

    async def commit_bar(
        self,
        session: SessionRecord,
        orders: Sequence[OrderState],
        fills: Sequence[Fill],
        positions: Sequence[Position],
        equity: EquitySnapshot,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> None:
        def commit(conn: sqlite3.Connection) -> None:
            # Encoded before the transaction: an unstorable value fails the bar before any write.
            bar = _codec.bar_rows(session, orders, fills, positions, equity)
            outbox, published = _outbox.rows(events), _outbox.check_sent(sent)
            session_id = bar.session_id
            with _write(conn):
                stored = conn.execute(_SESSION_CLAIM, (session_id,)).fetchone()
                if stored is not None:
                    _common.check_holder(session_id, stored["owner"], session.owner)
                conn.execute(_SESSION_UPSERT, bar.session)
                next_seq: int | None = None
                order_rows = []
                for row in bar.orders:
                    owner = conn.execute(_ORDER_OWNER, (row["client_order_id"],)).fetchone()
                    if owner is None:  # a new order: the next place in its session
                        if next_seq is None:
                            next_seq = int(conn.execute(_ORDER_NEXT_SEQ, (session_id,)).fetchone()[0])
                        seq, next_seq = next_seq, next_seq + 1
                    elif owner["session_id"] != session_id:
                        raise _common.order_of_another_session(row["client_order_id"], owner["session_id"], session_id)
                    else:
                        seq = owner["seq"]
                    order_rows.append({"session_id": session_id, "seq": seq, **row})
                conn.executemany(_ORDER_UPSERT, order_rows)
                conn.executemany(_FILL_INSERT, [{"session_id": session_id, **row} for row in bar.fills])
                conn.execute("DELETE FROM positions WHERE session_id = ?", (session_id,))
                conn.executemany(_POSITION_INSERT, [{"session_id": session_id, **row} for row in bar.positions])
                conn.execute(_EQUITY_UPSERT, {"session_id": session_id, **bar.equity})
                _write_outbox(conn, session_id, outbox, published)

        await self._call(commit)

    async def pending_events(self, session_id: str) -> list[OutboxEvent]:
        def pending(conn: sqlite3.Connection) -> list[OutboxEvent]:
            return [_outbox.from_row(row) for row in conn.execute(_OUTBOX_SELECT, (session_id,)).fetchall()]

        return await self._call(pending)

    async def mark_sent(self, session_id: str, sent: Mapping[str, int]) -> None:
        published = _outbox.check_sent(sent)

        def mark(conn: sqlite3.Connection) -> None:
            with _write(conn):
                _write_outbox(conn, session_id, [], published)

        if published:
            await self._call(mark)

    async def ended_with_pending(self, *, limit: int = 100) -> list[str]:
        limit = _common.check_limit(limit)

        def ended(conn: sqlite3.Connection) -> list[str]:
            return [str(row[0]) for row in conn.execute(_OUTBOX_ENDED, (limit,)).fetchall()]

        return await self._call(ended)

    async def list_orders(self, session_id: str) -> list[OrderState]:
        return await self._of_session(session_id, _ORDER_SELECT, _codec.order_from_row)

    async def list_fills(self, session_id: str) -> list[Fill]:
        return await self._of_session(session_id, _FILL_SELECT, _codec.fill_from_row)

    async def list_positions(self, session_id: str) -> list[Position]:
        return await self._of_session(session_id, _POSITION_SELECT, _codec.position_from_row)

    async def list_equity(self, session_id: str) -> list[EquitySnapshot]:
        return await self._of_session(session_id, _EQUITY_SELECT, _codec.equity_from_row)

    async def _of_session(self, session_id: str, select: str, decode: Callable[[Any], T]) -> list[T]:
        """The rows ``select`` gives for a session that must exist, decoded (on the worker)."""

        def list_(conn: sqlite3.Connection) -> list[T]:
            with _snapshot(conn):
                if conn.execute(_SESSION_EXISTS, (session_id,)).fetchone() is None:
                    raise _common.session_not_found(session_id)
                rows = conn.execute(select, (session_id,)).fetchall()
            return [decode(row) for row in rows]

        return await self._call(list_)

    # -- authentication: UserStore, ApiKeyStore, RefreshTokenStore (migration 8) -------------------

    async def add_user(self, user: User) -> None:
        def add(conn: sqlite3.Connection) -> None:
            with _write(conn):
                if conn.execute("SELECT 1 FROM users WHERE username = ?", (user.username,)).fetchone():
                    raise _auth_rows.user_exists(user.username)
                conn.execute(_insert("users", _auth_rows.USER_COLUMNS), _auth_rows.user_row(user))

        await self._call(add)

    async def get_user(self, username: str) -> User:
        def get(conn: sqlite3.Connection) -> User:
            row = conn.execute(f"SELECT {_columns(_auth_rows.USER_COLUMNS)} FROM users WHERE username = ?", (username,))
            found = row.fetchone()
            if found is None:
                raise _auth_rows.user_not_found(username)
            return _auth_rows.user_from_row(found)

        return await self._call(get)

    async def list_users(self) -> list[User]:
        def list_(conn: sqlite3.Connection) -> list[User]:
            rows = conn.execute(f"SELECT {_columns(_auth_rows.USER_COLUMNS)} FROM users ORDER BY username").fetchall()
            return [_auth_rows.user_from_row(row) for row in rows]

        return await self._call(list_)

    async def update_user(self, user: User) -> None:
        def update(conn: sqlite3.Connection) -> None:
            row = _auth_rows.user_row(user)
            with _write(conn):
                changed = conn.execute(
                    "UPDATE users SET role = :role, password_hash = :password_hash, updated_at = :updated_at "
                    "WHERE username = :username",
                    row,
                ).rowcount
                if changed == 0:
                    raise _auth_rows.user_not_found(user.username)

        await self._call(update)

    async def delete_user(self, username: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            with _write(conn):
                if conn.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 0:
                    raise _auth_rows.user_not_found(username)

        await self._call(delete)

    async def add_api_key(self, key: ApiKey) -> None:
        def add(conn: sqlite3.Connection) -> None:
            with _write(conn):
                if conn.execute("SELECT 1 FROM api_keys WHERE id = ?", (key.id,)).fetchone():
                    raise _auth_rows.key_exists(key.id)
                conn.execute(_insert("api_keys", _auth_rows.KEY_COLUMNS), _auth_rows.key_row(key))

        await self._call(add)

    async def get_api_key(self, key_id: str) -> ApiKey:
        def get(conn: sqlite3.Connection) -> ApiKey:
            row = conn.execute(f"{_KEY_SELECT} WHERE id = ?", (key_id,)).fetchone()
            if row is None:
                raise _auth_rows.key_not_found(key_id)
            return _auth_rows.key_from_row(row)

        return await self._call(get)

    async def list_api_keys(self) -> list[ApiKey]:
        def list_(conn: sqlite3.Connection) -> list[ApiKey]:
            rows = conn.execute(f"{_KEY_SELECT} ORDER BY created_at, id").fetchall()
            return [_auth_rows.key_from_row(row) for row in rows]

        return await self._call(list_)

    async def revoke_api_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        def revoke(conn: sqlite3.Connection) -> ApiKey:
            with _write(conn):
                conn.execute(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                    (_auth_rows.time_text(at), key_id),
                )
                row = conn.execute(f"{_KEY_SELECT} WHERE id = ?", (key_id,)).fetchone()
                if row is None:
                    raise _auth_rows.key_not_found(key_id)
            return _auth_rows.key_from_row(row)

        return await self._call(revoke)

    async def touch_api_key(self, key_id: str, at: dt.datetime) -> None:
        def touch(conn: sqlite3.Connection) -> None:
            with _write(conn):
                done = conn.execute(
                    "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_auth_rows.time_text(at), key_id)
                ).rowcount
                if done == 0:
                    raise _auth_rows.key_not_found(key_id)

        await self._call(touch)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        def add(conn: sqlite3.Connection) -> None:
            with _write(conn):
                if conn.execute("SELECT 1 FROM refresh_tokens WHERE jti = ?", (token.jti,)).fetchone():
                    raise _auth_rows.token_exists(token.jti)
                owner = conn.execute("SELECT subject FROM refresh_families WHERE id = ?", (token.family,)).fetchone()
                if owner is None:
                    conn.execute(
                        "INSERT INTO refresh_families (id, subject, revoked_at) VALUES (?, ?, NULL)",
                        (token.family, token.subject),
                    )
                elif owner[0] != token.subject:
                    raise _auth_rows.family_of_another_subject(token.family)
                conn.execute(_insert("refresh_tokens", _auth_rows.TOKEN_COLUMNS), _auth_rows.token_row(token))

        await self._call(add)

    async def use_refresh_token(self, jti: str, at: dt.datetime) -> RefreshToken:
        def use(conn: sqlite3.Connection) -> RefreshToken:
            with _write(conn):  # the write lock makes "read, then mark used" atomic across processes
                row = conn.execute(_TOKEN_SELECT, (jti,)).fetchone()
                if row is None:
                    raise _auth_rows.token_not_found(jti)
                if row["used_at"] is None:
                    conn.execute("UPDATE refresh_tokens SET used_at = ? WHERE jti = ?", (_auth_rows.time_text(at), jti))
            return _auth_rows.token_from_row(row, row["family_revoked_at"])

        return await self._call(use)

    async def revoke_family(self, family: str, at: dt.datetime) -> None:
        def revoke(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "UPDATE refresh_families SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                    (_auth_rows.time_text(at), family),
                )

        await self._call(revoke)

    async def revoke_families_of(self, subject: str, at: dt.datetime) -> int:
        def revoke(conn: sqlite3.Connection) -> int:
            with _write(conn):
                return int(
                    conn.execute(
                        "UPDATE refresh_families SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL",
                        (_auth_rows.time_text(at), subject),
                    ).rowcount
                )

        return await self._call(revoke)

    # -- the worker thread -------------------------------------------------------------------------

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        executor = self._executor
        if executor is None:
            raise _common.not_open(self)
        return await asyncio.get_running_loop().run_in_executor(executor, self._on_worker, work)

    def _on_worker(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:  # open() failed while this call was queued behind it
            raise _common.not_open(self)
        return work(self._conn)

    def _connect(self) -> None:
        memory = self._path == MEMORY
        try:
            if not memory:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open the state database {self._path}: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000):d}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal" and not memory:
                log.warning("SQLite state store %s: WAL unavailable, journal_mode=%s", self._path, mode)
            # FULL, not NORMAL: in WAL mode NORMAL fsyncs only at checkpoints, so a commit that has
            # returned can still be lost on power failure or OS crash. The contract says a write is
            # durable once it returns, so every commit fsyncs the WAL.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")  # per connection; needed for ON DELETE CASCADE
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigurationError(f"cannot use the state database {self._path}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")  # cheap; keeps the query planner's statistics fresh
            conn.close()


def _where(**filters: str | None) -> tuple[str, tuple[str, ...]]:
    used = {name: value for name, value in filters.items() if value is not None}
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{name} = ?" for name in used), tuple(used.values())


def _path_from_url(url: str) -> str:
    bad = ConfigurationError(f"bad state store URL {url!r}: use {_URL_FORMS}")
    if not isinstance(url, str) or not url.startswith("sqlite:"):
        raise bad
    rest = url.removeprefix("sqlite:")
    if rest == MEMORY:
        return MEMORY
    if rest.startswith("///"):
        rest = rest[3:]
        path = str(Path(rest).expanduser()) if rest.startswith("~") else "/" + rest.lstrip("/")
    elif rest.startswith("/"):  # sqlite:/x or sqlite://host/x: ambiguous, refuse
        raise bad
    else:
        path = str(Path(rest).expanduser()) if rest.startswith("~") else rest
    if not rest or path.endswith("/") or rest.lstrip("/") == MEMORY or "?" in path:
        raise bad
    return path
