"""``StateStore`` on PostgreSQL (psycopg 3, async): several processes and machines share one state.

Driver: psycopg 3 rather than asyncpg. Its named parameters (``%(name)s``) take the codec's dict rows
as they are, exactly as SQLite's ``:name`` does, so the SQL differs from the SQLite adapter's only in
dialect; it ships a maintained pool (``psycopg_pool``), speaks libpq URLs as users write them, and
batches ``executemany`` in pipeline mode. (asyncpg is faster per query, but positional ``$n`` only.)

Schema: the same versioned migrations as SQLite (``postgres_schema``), in the URL's ``?schema=``
(default ``public``), created on ``open``. Rows go through the same codec (``_codec``); the only
translation is that a ``'nan'``/``'inf'``/``'-inf'`` the codec gives for a float column is bound as
the float (a DOUBLE PRECISION column holds NaN and ±Infinity natively), found per table from the
catalogue, so a migration added later needs no code here.

Concurrency: the writes of one store are applied one at a time in submission order on its write
connection (so "the last update submitted wins", as with SQLite); reads run concurrently on a pool
(``pool_size`` connections), each in one REPEATABLE READ snapshot when it reads several tables.
Across processes PostgreSQL's row locks serialise writers: a save upserts its parent row first,
which locks it until commit, so two processes writing one session, backtest or study take turns and
never interleave; ``commit_bar`` numbers new orders under that lock; ids that must be unique are
settled by the unique indexes (``ON CONFLICT``), never by a check-then-insert race.

Durability: a write is durable when it returns: each runs in one transaction, committed with
``synchronous_commit = on`` (set on every connection, whatever the server's default), i.e. the
commit record is flushed to the server's WAL before COMMIT returns. A killed client leaves either
the whole transaction or none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from adapters.state import _auth_rows, _codec, _common, _outbox
from adapters.state.postgres_schema import migrate, schema_version
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

__all__ = ["PostgresStateStore"]

T = TypeVar("T")

_URL_FORMS = "postgresql://user[:password]@host[:port]/database[?schema=name] (postgres:// also works)"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
Row = dict[str, Any]


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)  # quoted: "start" and "end" are SQL keywords


def _insert(table: str, names: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({_columns(names)}) VALUES ({', '.join(f'%({name})s' for name in names)})"


def _upsert(table: str, names: Sequence[str], key: Sequence[str], keep: Sequence[str] = ()) -> str:
    """INSERT, or on a conflict of ``key`` UPDATE every other column but ``keep`` (see sqlite.py)."""
    updated = [name for name in names if name not in key and name not in keep]
    return "{} ON CONFLICT ({}) DO UPDATE SET {}".format(
        _insert(table, names), _columns(key), ", ".join(f'"{name}" = excluded."{name}"' for name in updated)
    )


_NEWEST_FIRST = "ORDER BY created_at DESC, id DESC LIMIT %s"
_BACKTEST_SELECT = f"SELECT {_columns(_codec.BACKTEST_COLUMNS)} FROM backtests"
_BACKTEST_UPSERT = _upsert("backtests", _codec.BACKTEST_COLUMNS, ("id",))
_TRADE_INSERT = _insert("backtest_trades", ("backtest_id", "seq", *_codec.TRADE_COLUMNS))
_TRADE_SELECT = f"SELECT {_columns(_codec.TRADE_COLUMNS)} FROM backtest_trades WHERE backtest_id = %s ORDER BY seq"
_EXECUTION_SELECT = f"SELECT {_columns(_codec.EXECUTION_COLUMNS)} FROM executions"
_EXECUTION_INSERT = _insert("executions", _codec.EXECUTION_COLUMNS) + " ON CONFLICT (id) DO NOTHING"
_EXECUTION_UPDATE = "UPDATE executions SET {} WHERE id = %(id)s".format(
    ", ".join(f'"{name}" = %({name})s' for name in _codec.EXECUTION_COLUMNS if name != "id")
)
_MODEL_SELECT = f"SELECT {_columns(_codec.MODEL_COLUMNS)} FROM models"
_MODEL_UPSERT = _upsert("models", _codec.MODEL_COLUMNS, ("name",))
_STUDY_SELECT = f"SELECT {_columns(_codec.STUDY_COLUMNS)} FROM studies"
_STUDY_UPSERT = _upsert("studies", _codec.STUDY_COLUMNS, ("id",))
_STUDY_EXISTS = "SELECT 1 FROM studies WHERE id = %s"
# A trial number already stored for the study keeps its first trial (idempotent retries).
_TRIAL_INSERT = _insert("study_trials", ("study_id", *_codec.TRIAL_COLUMNS)) + " ON CONFLICT DO NOTHING"
_TRIAL_SELECT = f"SELECT {_columns(_codec.TRIAL_COLUMNS)} FROM study_trials WHERE study_id = %s ORDER BY number"
_SESSION_SELECT = f"SELECT {_columns(_codec.SESSION_COLUMNS)} FROM sessions"
_SESSION_UPSERT = _upsert("sessions", _codec.SESSION_COLUMNS, ("id",))
_SESSION_EXISTS = "SELECT 1 FROM sessions WHERE id = %s"
_SESSION_CLAIM = "SELECT owner, last_bar FROM sessions WHERE id = %s FOR UPDATE"
# An order keeps the session and place (seq) it was first stored with; only an order of THIS session
# is updated (a concurrent session inserting the same id gets no row back, and a clear conflict).
_ORDER_UPSERT = (
    _upsert("orders", ("session_id", "seq", *_codec.ORDER_COLUMNS), ("client_order_id",), ("session_id", "seq"))
    + " WHERE orders.session_id = excluded.session_id RETURNING client_order_id"
)
_ORDER_OWNER = "SELECT session_id, seq FROM orders WHERE client_order_id = %s"
_ORDER_NEXT_SEQ = "SELECT coalesce(max(seq) + 1, 0) AS next FROM orders WHERE session_id = %s"
_ORDER_SELECT = f"SELECT {_columns(_codec.ORDER_COLUMNS)} FROM orders WHERE session_id = %s ORDER BY seq"
_FILL_INSERT = _insert("fills", ("session_id", *_codec.FILL_COLUMNS)) + " ON CONFLICT (fill_id) DO NOTHING"
_FILL_SELECT = f"SELECT {_columns(_codec.FILL_COLUMNS)} FROM fills WHERE session_id = %s ORDER BY bar, fill_id"
_POSITION_INSERT = _insert("positions", ("session_id", *_codec.POSITION_COLUMNS))
_POSITION_SELECT = f"SELECT {_columns(_codec.POSITION_COLUMNS)} FROM positions WHERE session_id = %s ORDER BY symbol"
_EQUITY_UPSERT = _upsert("equity", ("session_id", *_codec.EQUITY_COLUMNS), ("session_id", "bar"))
_EQUITY_SELECT = f"SELECT {_columns(_codec.EQUITY_COLUMNS)} FROM equity WHERE session_id = %s ORDER BY bar"
# A re-committed bar keeps the first copy of an event still pending (as fills do).
_OUTBOX_INSERT = (
    _insert("session_outbox", ("session_id", "seq", *_outbox.COLUMNS)) + " ON CONFLICT (source, number) DO NOTHING"
)
_OUTBOX_NEXT_SEQ = "SELECT coalesce(max(seq) + 1, 0) AS next FROM session_outbox WHERE session_id = %s"
_OUTBOX_SELECT = f"SELECT {_columns(_outbox.COLUMNS)} FROM session_outbox WHERE session_id = %s ORDER BY seq"
_OUTBOX_DELETE = "DELETE FROM session_outbox WHERE session_id = %s AND source = %s AND number <= %s"
_OUTBOX_ENDED = _outbox.ENDED_WITH_PENDING.format("%s")
_USER_SELECT = f"SELECT {_columns(_auth_rows.USER_COLUMNS)} FROM users"
_KEY_SELECT = f"SELECT {_columns(_auth_rows.KEY_COLUMNS)} FROM api_keys"
_TOKEN_SELECT = (
    f"SELECT {', '.join('t.' + name for name in _auth_rows.TOKEN_COLUMNS)}, f.revoked_at AS family_revoked_at "
    "FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family WHERE t.jti = %s"
)
_FLOAT_COLUMNS = (
    "SELECT table_name, column_name FROM information_schema.columns "
    "WHERE table_schema = %s AND data_type = 'double precision'"
)


class PostgresStateStore:
    """``StateStore`` in a PostgreSQL database (one schema of it)."""

    def __init__(self, conninfo: str, *, schema: str = "public", pool_size: int = 4, timeout: float = 10.0) -> None:
        if not _IDENTIFIER.fullmatch(schema):
            raise ConfigurationError(
                f"bad PostgreSQL schema name {schema!r}: use letters, digits and _ (not first), at most 63"
            )
        if pool_size < 1:
            raise ConfigurationError(f"pool_size must be >= 1, got {pool_size!r}")
        self._conninfo = conninfo
        self._schema = schema
        self._pool_size = pool_size
        self._timeout = timeout
        self._reads: Any = None  # psycopg_pool.AsyncConnectionPool
        self._writes: Any = None  # a pool of one connection: writes in submission order
        self._write_lock = asyncio.Lock()  # FIFO: the order writes were submitted in
        self._floats: dict[str, frozenset[str]] = {}
        self._session_memo: _codec.SessionMemo = {}  # the encoded constant columns of running sessions

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 4) -> Self:
        """From ``postgresql://user@host:port/database?schema=name`` (libpq URL parameters such as
        ``sslmode`` pass through; ``schema`` is ours and defaults to ``public``)."""
        conninfo, schema = _split_url(url)
        return cls(conninfo, schema=schema, pool_size=pool_size)

    @property
    def schema(self) -> str:
        return self._schema

    def __repr__(self) -> str:
        return f"PostgresStateStore({_redacted(self._conninfo)!r}, schema={self._schema!r})"

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._reads is not None:
            return
        from psycopg import OperationalError
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        kwargs = {
            "autocommit": True,
            "row_factory": dict_row,
            "options": f"-c search_path={self._schema} -c synchronous_commit=on",
            "application_name": f"gpt-trader:{self._schema}",  # who is who in pg_stat_activity
        }

        def pool(size: int, name: str) -> Any:
            return AsyncConnectionPool(
                self._conninfo, min_size=1, max_size=size, kwargs=kwargs, open=False, name=name,
                timeout=self._timeout, check=AsyncConnectionPool.check_connection,
            )  # fmt: skip

        reads, writes = pool(self._pool_size, "state-reads"), pool(1, "state-writes")
        try:
            await writes.open(wait=True, timeout=self._timeout)
            async with writes.connection() as conn:
                await migrate(conn, self._schema)
                cur = await conn.execute(_FLOAT_COLUMNS, (self._schema,))
                floats: dict[str, set[str]] = {}
                for row in await cur.fetchall():
                    floats.setdefault(row["table_name"], set()).add(row["column_name"])
            await reads.open(wait=True, timeout=self._timeout)
        except (OperationalError, PoolTimeout) as exc:
            await _close_all(reads, writes)
            raise ConfigurationError(
                f"cannot open the PostgreSQL state store {_redacted(self._conninfo)} (schema {self._schema}): "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__} "
                "(is the server running and the URL right?)"
            ) from exc
        except BaseException:
            await _close_all(reads, writes)
            raise
        self._floats = {table: frozenset(names) for table, names in floats.items()}
        self._reads, self._writes = reads, writes

    async def close(self) -> None:
        reads, writes = self._reads, self._writes
        self._reads = self._writes = None
        if reads is None:
            return
        async with self._write_lock:  # in-flight writes finish first
            await _close_all(reads, writes)

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute("SELECT 1")

    async def schema_version(self) -> int:
        async with self._read() as conn:
            return await schema_version(conn)

    # -- BacktestStore -----------------------------------------------------------------------------

    async def save_backtest(self, record: BacktestRecord) -> None:
        row = self._row("backtests", _codec.backtest_row(record))
        trades = [self._row("backtest_trades", {"backtest_id": record.id, **t}) for t in _codec.trade_rows(record)]
        async with self._write() as conn:
            await conn.execute(_BACKTEST_UPSERT, row)  # locks the row: concurrent saves of one id take turns
            await conn.execute("DELETE FROM backtest_trades WHERE backtest_id = %s", (record.id,))
            await _many(conn, _TRADE_INSERT, trades)

    async def get_backtest(self, record_id: str) -> BacktestRecord:
        async with self._snapshot() as conn:
            row = await _one(conn, f"{_BACKTEST_SELECT} WHERE id = %s", (record_id,))
            if row is None:
                raise _common.backtest_not_found(record_id)
            trades = await _all(conn, _TRADE_SELECT, (record_id,))
        return _codec.backtest_from_row(row, trades)

    async def list_backtests(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int = 50
    ) -> list[BacktestRecord]:
        limit = _common.check_limit(limit)
        where, args = _where(strategy=strategy, symbol=symbol)
        async with self._read() as conn:
            rows = await _all(conn, f"{_BACKTEST_SELECT}{where} {_NEWEST_FIRST}", (*args, limit))
        return [_codec.backtest_from_row(row) for row in rows]

    async def delete_backtest(self, record_id: str) -> None:
        async with self._write() as conn:
            cur = await conn.execute("DELETE FROM backtests WHERE id = %s", (record_id,))  # cascades to trades
            if cur.rowcount == 0:
                raise _common.backtest_not_found(record_id)

    # -- ExecutionStore ----------------------------------------------------------------------------

    async def add_execution(self, execution: Execution) -> None:
        row = self._row("executions", _codec.execution_row(execution))
        async with self._write() as conn:
            if (await conn.execute(_EXECUTION_INSERT, row)).rowcount == 0:
                raise _common.execution_exists(execution.id)

    async def update_execution(self, execution: Execution) -> None:
        row = self._row("executions", _codec.execution_row(execution))
        async with self._write() as conn:
            if (await conn.execute(_EXECUTION_UPDATE, row)).rowcount == 0:
                raise _common.execution_not_found(execution.id)

    async def get_execution(self, execution_id: str) -> Execution:
        async with self._read() as conn:
            row = await _one(conn, f"{_EXECUTION_SELECT} WHERE id = %s", (execution_id,))
        if row is None:
            raise _common.execution_not_found(execution_id)
        return _codec.execution_from_row(row)

    async def list_executions(
        self, *, kind: str | None = None, status: ExecutionStatus | None = None, limit: int = 50
    ) -> list[Execution]:
        limit = _common.check_limit(limit)
        checked = _common.check_status(status)
        where, args = _where(kind=kind, status=None if checked is None else checked.value)
        async with self._read() as conn:
            rows = await _all(conn, f"{_EXECUTION_SELECT}{where} {_NEWEST_FIRST}", (*args, limit))
        return [_codec.execution_from_row(row) for row in rows]

    # -- ModelStore --------------------------------------------------------------------------------

    async def save_model(self, record: ModelRecord) -> None:
        row = self._row("models", _codec.model_row(record))
        async with self._write() as conn:
            await conn.execute(_MODEL_UPSERT, row)

    async def get_model(self, name: str) -> ModelRecord:
        async with self._read() as conn:
            row = await _one(conn, f"{_MODEL_SELECT} WHERE name = %s", (name,))
        if row is None:
            raise _common.model_not_found(name)
        return _codec.model_from_row(row)

    async def list_models(self, *, kind: str | None = None) -> list[ModelRecord]:
        where, args = _where(kind=kind)
        async with self._read() as conn:
            rows = await _all(conn, f"{_MODEL_SELECT}{where} ORDER BY created_at DESC, name DESC", args)
        return [_codec.model_from_row(row) for row in rows]

    # -- StudyStore --------------------------------------------------------------------------------

    async def save_study(self, study: StudyRecord) -> None:
        row = self._row("studies", _codec.study_row(study))
        async with self._write() as conn:
            await conn.execute(_STUDY_UPSERT, row)

    async def get_study(self, study_id: str) -> StudyRecord:
        async with self._read() as conn:
            row = await _one(conn, f"{_STUDY_SELECT} WHERE id = %s", (study_id,))
        if row is None:
            raise _common.study_not_found(study_id)
        return _codec.study_from_row(row)

    async def list_studies(self, *, limit: int = 50) -> list[StudyRecord]:
        limit = _common.check_limit(limit)
        async with self._read() as conn:
            rows = await _all(conn, f"{_STUDY_SELECT} {_NEWEST_FIRST}", (limit,))
        return [_codec.study_from_row(row) for row in rows]

    async def add_trials(self, study_id: str, trials: Sequence[TrialRecord]) -> None:
        # Encoded before the transaction: an unstorable trial fails the batch before any write.
        rows = [self._row("study_trials", {"study_id": study_id, **row}) for row in _codec.trial_rows(trials)]
        async with self._write() as conn:
            if await _one(conn, _STUDY_EXISTS + " FOR SHARE", (study_id,)) is None:
                raise _common.trials_without_study(study_id)
            await _many(conn, _TRIAL_INSERT, rows)

    async def list_trials(self, study_id: str) -> list[TrialRecord]:
        async with self._snapshot() as conn:
            if await _one(conn, _STUDY_EXISTS, (study_id,)) is None:
                raise _common.study_not_found(study_id)
            rows = await _all(conn, _TRIAL_SELECT, (study_id,))
        return [_codec.trial_from_row(row) for row in rows]

    async def delete_study(self, study_id: str) -> None:
        async with self._write() as conn:  # its trials go with it (ON DELETE CASCADE)
            if (await conn.execute("DELETE FROM studies WHERE id = %s", (study_id,))).rowcount == 0:
                raise _common.study_not_found(study_id)

    # -- authentication: UserStore, ApiKeyStore, RefreshTokenStore (migration 8) -------------------

    async def add_user(self, user: User) -> None:
        row = _auth_rows.user_row(user)
        async with self._write() as conn:
            sql = _insert("users", _auth_rows.USER_COLUMNS) + " ON CONFLICT (username) DO NOTHING"
            if (await conn.execute(sql, row)).rowcount == 0:
                raise _auth_rows.user_exists(user.username)

    async def get_user(self, username: str) -> User:
        async with self._read() as conn:
            row = await _one(conn, f"{_USER_SELECT} WHERE username = %s", (username,))
        if row is None:
            raise _auth_rows.user_not_found(username)
        return _auth_rows.user_from_row(row)

    async def list_users(self) -> list[User]:
        async with self._read() as conn:
            rows = await _all(conn, f"{_USER_SELECT} ORDER BY username", ())
        return [_auth_rows.user_from_row(row) for row in rows]

    async def update_user(self, user: User) -> None:
        row = _auth_rows.user_row(user)
        async with self._write() as conn:
            sql = (
                "UPDATE users SET role = %(role)s, password_hash = %(password_hash)s, updated_at = %(updated_at)s "
                "WHERE username = %(username)s"
            )
            if (await conn.execute(sql, row)).rowcount == 0:
                raise _auth_rows.user_not_found(user.username)

    async def delete_user(self, username: str) -> None:
        async with self._write() as conn:
            if (await conn.execute("DELETE FROM users WHERE username = %s", (username,))).rowcount == 0:
                raise _auth_rows.user_not_found(username)

    async def add_api_key(self, key: ApiKey) -> None:
        row = _auth_rows.key_row(key)
        async with self._write() as conn:
            sql = _insert("api_keys", _auth_rows.KEY_COLUMNS) + " ON CONFLICT (id) DO NOTHING"
            if (await conn.execute(sql, row)).rowcount == 0:
                raise _auth_rows.key_exists(key.id)

    async def get_api_key(self, key_id: str) -> ApiKey:
        async with self._read() as conn:
            row = await _one(conn, f"{_KEY_SELECT} WHERE id = %s", (key_id,))
        if row is None:
            raise _auth_rows.key_not_found(key_id)
        return _auth_rows.key_from_row(row)

    async def list_api_keys(self) -> list[ApiKey]:
        async with self._read() as conn:
            rows = await _all(conn, f"{_KEY_SELECT} ORDER BY created_at, id", ())
        return [_auth_rows.key_from_row(row) for row in rows]

    async def revoke_api_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        async with self._write() as conn:
            row = await _one(
                conn,
                f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s "
                f"RETURNING {_columns(_auth_rows.KEY_COLUMNS)}",
                (_auth_rows.time_text(at), key_id),
            )
        if row is None:
            raise _auth_rows.key_not_found(key_id)
        return _auth_rows.key_from_row(row)

    async def touch_api_key(self, key_id: str, at: dt.datetime) -> None:
        async with self._write() as conn:
            sql = "UPDATE api_keys SET last_used_at = %s WHERE id = %s"
            if (await conn.execute(sql, (_auth_rows.time_text(at), key_id))).rowcount == 0:
                raise _auth_rows.key_not_found(key_id)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        row = _auth_rows.token_row(token)
        async with self._write() as conn:
            if await _one(conn, "SELECT 1 FROM refresh_tokens WHERE jti = %s", (token.jti,)) is not None:
                raise _auth_rows.token_exists(token.jti)
            await conn.execute(
                "INSERT INTO refresh_families (id, subject, revoked_at) VALUES (%s, %s, NULL) "
                "ON CONFLICT (id) DO NOTHING",
                (token.family, token.subject),
            )
            owner = await _one(conn, "SELECT subject FROM refresh_families WHERE id = %s FOR SHARE", (token.family,))
            if owner is None or owner["subject"] != token.subject:
                raise _auth_rows.family_of_another_subject(token.family)
            sql = _insert("refresh_tokens", _auth_rows.TOKEN_COLUMNS) + " ON CONFLICT (jti) DO NOTHING"
            if (await conn.execute(sql, row)).rowcount == 0:
                raise _auth_rows.token_exists(token.jti)

    async def use_refresh_token(self, jti: str, at: dt.datetime) -> RefreshToken:
        async with self._write() as conn:
            # FOR UPDATE: "read, then mark used" is atomic across processes (one winner per token).
            row = await _one(conn, _TOKEN_SELECT + " FOR UPDATE OF t", (jti,))
            if row is None:
                raise _auth_rows.token_not_found(jti)
            if row["used_at"] is None:
                await conn.execute(
                    "UPDATE refresh_tokens SET used_at = %s WHERE jti = %s", (_auth_rows.time_text(at), jti)
                )
        return _auth_rows.token_from_row(row, row["family_revoked_at"])

    async def revoke_family(self, family: str, at: dt.datetime) -> None:
        async with self._write() as conn:
            await conn.execute(
                "UPDATE refresh_families SET revoked_at = coalesce(revoked_at, %s) WHERE id = %s",
                (_auth_rows.time_text(at), family),
            )

    async def revoke_families_of(self, subject: str, at: dt.datetime) -> int:
        async with self._write() as conn:
            cur = await conn.execute(
                "UPDATE refresh_families SET revoked_at = %s WHERE subject = %s AND revoked_at IS NULL",
                (_auth_rows.time_text(at), subject),
            )
            return int(cur.rowcount)

    # -- TradingStore ------------------------------------------------------------------------------

    # -- OwnerStore --------------------------------------------------------------------------------

    async def set_owner(self, resource: str, subject: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO owners (resource, subject, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (resource, subject, utcnow().isoformat()),
            )

    async def get_owner(self, resource: str) -> str | None:
        async with self._read() as conn:
            row = await _one(conn, "SELECT subject FROM owners WHERE resource = %s", (resource,))
        return None if row is None else str(row["subject"])

    async def save_session(self, session: SessionRecord) -> None:
        row = self._row("sessions", _codec.session_row(session))
        async with self._write() as conn:
            await conn.execute(_SESSION_UPSERT, row)

    async def get_session(self, session_id: str) -> SessionRecord:
        async with self._read() as conn:
            row = await _one(conn, f"{_SESSION_SELECT} WHERE id = %s", (session_id,))
        if row is None:
            raise _common.session_not_found(session_id)
        return _codec.session_from_row(row)

    async def list_sessions(self, *, status: SessionStatus | None = None, limit: int = 50) -> list[SessionRecord]:
        limit = _common.check_limit(limit)
        checked = _common.check_session_status(status)
        where, args = _where(status=None if checked is None else checked.value)
        async with self._read() as conn:
            rows = await _all(conn, f"{_SESSION_SELECT}{where} {_NEWEST_FIRST}", (*args, limit))
        return [_codec.session_from_row(row) for row in rows]

    async def swap_session(
        self,
        session: SessionRecord,
        expected: SessionRecord,
        events: Sequence[OutboxEvent] = (),
        sent: Mapping[str, int] | None = None,
    ) -> bool:
        row = self._row("sessions", _codec.session_row(session))
        outbox, published = _outbox.rows(events), _outbox.check_sent(sent)
        async with self._write() as conn:
            stored = await _one(conn, _SESSION_CLAIM, (session.id,))
            if not _common.same_claim(None if stored is None else dict(stored), expected.owner, expected.last_bar):
                return False
            await conn.execute(_SESSION_UPSERT, row)
            await _write_outbox(conn, session.id, outbox, published)
            return True

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
        # Encoded before the transaction: an unstorable value fails the bar before any write.
        bar = _codec.bar_rows(session, orders, fills, positions, equity, self._session_memo)
        outbox, published = _outbox.rows(events), _outbox.check_sent(sent)
        sid = bar.session_id
        fills_ = [self._row("fills", {"session_id": sid, **row}) for row in bar.fills]
        positions_ = [self._row("positions", {"session_id": sid, **row}) for row in bar.positions]
        async with self._write() as conn:
            # First: the row lock (FOR UPDATE), so commits of one session (from any process) take turns,
            # only its owner's are stored (fencing) and the order numbering below cannot race.
            stored = await _one(conn, _SESSION_CLAIM, (sid,))
            if stored is not None:
                _common.check_holder(sid, stored["owner"], session.owner)
            await conn.execute(_SESSION_UPSERT, self._row("sessions", bar.session))
            next_seq: int | None = None
            for row in bar.orders:
                owner = await _one(conn, _ORDER_OWNER, (row["client_order_id"],))
                if owner is None:  # a new order: the next place in its session
                    if next_seq is None:
                        next_seq = int((await _one(conn, _ORDER_NEXT_SEQ, (sid,)) or {"next": 0})["next"])
                    seq, next_seq = next_seq, next_seq + 1
                elif owner["session_id"] != sid:
                    raise _common.order_of_another_session(row["client_order_id"], owner["session_id"], sid)
                else:
                    seq = owner["seq"]
                stored = await _one(conn, _ORDER_UPSERT, self._row("orders", {"session_id": sid, "seq": seq, **row}))
                if stored is None:  # another session stored this id meanwhile
                    taken = await _one(conn, _ORDER_OWNER, (row["client_order_id"],))
                    raise _common.order_of_another_session(
                        row["client_order_id"], "?" if taken is None else taken["session_id"], sid
                    )
            await _many(conn, _FILL_INSERT, fills_)
            await conn.execute("DELETE FROM positions WHERE session_id = %s", (sid,))
            await _many(conn, _POSITION_INSERT, positions_)
            await conn.execute(_EQUITY_UPSERT, self._row("equity", {"session_id": sid, **bar.equity}))
            await _write_outbox(conn, sid, outbox, published)

    async def pending_events(self, session_id: str) -> list[OutboxEvent]:
        async with self._read() as conn:
            rows = await _all(conn, _OUTBOX_SELECT, (session_id,))
        return [_outbox.from_row(row) for row in rows]

    async def mark_sent(self, session_id: str, sent: Mapping[str, int]) -> None:
        published = _outbox.check_sent(sent)
        if published:
            async with self._write() as conn:
                await _write_outbox(conn, session_id, [], published)

    async def ended_with_pending(self, *, limit: int = 100) -> list[str]:
        limit = _common.check_limit(limit)
        async with self._read() as conn:
            rows = await _all(conn, _OUTBOX_ENDED, (limit,))
        return [str(row["session_id"]) for row in rows]

    async def list_orders(self, session_id: str) -> list[OrderState]:
        return await self._of_session(session_id, _ORDER_SELECT, _codec.order_from_row)

    async def list_fills(self, session_id: str) -> list[Fill]:
        return await self._of_session(session_id, _FILL_SELECT, _codec.fill_from_row)

    async def list_positions(self, session_id: str) -> list[Position]:
        return await self._of_session(session_id, _POSITION_SELECT, _codec.position_from_row)

    async def list_equity(self, session_id: str) -> list[EquitySnapshot]:
        return await self._of_session(session_id, _EQUITY_SELECT, _codec.equity_from_row)

    async def _of_session(self, session_id: str, select: str, decode: Callable[[Any], T]) -> list[T]:
        async with self._snapshot() as conn:
            if await _one(conn, _SESSION_EXISTS, (session_id,)) is None:
                raise _common.session_not_found(session_id)
            rows = await _all(conn, select, (session_id,))
        return [decode(row) for row in rows]

    # -- connections -------------------------------------------------------------------------------

    def _row(self, table: str, row: Row) -> Row:
        """The codec's row with its non-finite float text bound as floats (see the module docstring)."""
        floats = self._floats.get(table, frozenset())
        return {
            key: _NON_FINITE[value] if key in floats and isinstance(value, str) and value in _NON_FINITE else value
            for key, value in row.items()
        }

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[Any]:
        """One write transaction on the write connection, after every write submitted before it."""
        async with self._write_lock:
            pool = self._writes
            if pool is None:
                raise _common.not_open(self)
            async with pool.connection() as conn, conn.transaction():
                yield conn

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[Any]:
        pool = self._reads
        if pool is None:
            raise _common.not_open(self)
        async with pool.connection() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[Any]:
        """A read-only transaction in which several SELECTs see one consistent state."""
        async with self._read() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn


async def _write_outbox(conn: Any, session_id: str, rows: list[Row], published: list[tuple[str, int]]) -> None:
    """Inside a write transaction (after the session's row lock): delete the session's published
    events, append ``rows`` after the rest."""
    if published:
        async with conn.cursor() as cur:
            await cur.executemany(_OUTBOX_DELETE, [(session_id, source, number) for source, number in published])
    if rows:
        first = int((await _one(conn, _OUTBOX_NEXT_SEQ, (session_id,)) or {"next": 0})["next"])
        await _many(
            conn, _OUTBOX_INSERT, [{"session_id": session_id, "seq": first + i, **r} for i, r in enumerate(rows)]
        )


async def _one(conn: Any, query: str, args: Any) -> Row | None:
    return await (await conn.execute(query, args)).fetchone()


async def _all(conn: Any, query: str, args: Any) -> list[Row]:
    return await (await conn.execute(query, args)).fetchall()


async def _many(conn: Any, query: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(query, rows)


async def _close_all(*pools: Any) -> None:
    for pool in pools:
        await pool.close()


def _where(**filters: str | None) -> tuple[str, tuple[str, ...]]:
    used = {name: value for name, value in filters.items() if value is not None}
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{name} = %s" for name in used), tuple(used.values())


def _split_url(url: str) -> tuple[str, str]:
    """The libpq URL without our ``schema`` parameter, and the schema."""
    bad = ConfigurationError(f"bad state store URL {_redacted(str(url))!r}: use {_URL_FORMS}")
    if not isinstance(url, str):
        raise bad
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.netloc or parts.path in ("", "/"):
        raise bad
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1 or (schemas and not _IDENTIFIER.fullmatch(schemas[0])):
        raise bad
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(("postgresql", parts.netloc, parts.path, rest, "")), (schemas[0] if schemas else "public")


def _redacted(url: str) -> str:
    """The URL without its password (it ends up in error messages and logs)."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", url)
