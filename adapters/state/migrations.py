"""The SQLite state schema, as forward-only migrations.

The database's ``PRAGMA user_version`` is the number of the last migration applied. ``open()``
applies the missing ones in order, each in its own ``BEGIN IMMEDIATE`` transaction together with
the version bump, so a crash leaves the schema at a whole version and two processes opening the same
file at once cannot both apply one. Never edit a released migration: append a new one (the next is
migration 11).

Conventions: times are ISO 8601 text (naive UTC, fixed width, so they sort chronologically); free-form
mappings are JSON text in the tagged form of ``_codec``; non-finite floats are the text
``'nan'``/``'inf'``/``'-inf'`` (SQLite would turn a NaN into NULL); a REAL column cannot keep the
sign of a zero, so -0.0 is stored (by both adapters) as 0.0.
"""

from __future__ import annotations

import sqlite3

import attrs

from gpt_trader_core.errors import ConfigurationError


@attrs.frozen
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "backtests and their trades",
        (
            """
            CREATE TABLE backtests (
                id               TEXT PRIMARY KEY,
                created_at       TEXT NOT NULL,
                strategy         TEXT NOT NULL,
                symbol           TEXT NOT NULL,
                timeframe        TEXT NOT NULL,
                source           TEXT NOT NULL,
                synthetic        INTEGER NOT NULL,
                data_fingerprint TEXT NOT NULL,
                "start"          TEXT NOT NULL,
                "end"            TEXT NOT NULL,
                params           TEXT NOT NULL,
                config           TEXT NOT NULL,
                stats            TEXT NOT NULL
            )
            """,
            "CREATE INDEX backtests_created ON backtests (created_at, id)",
            "CREATE INDEX backtests_strategy_created ON backtests (strategy, created_at, id)",
            "CREATE INDEX backtests_symbol_created ON backtests (symbol, created_at, id)",
            """
            CREATE TABLE backtest_trades (
                backtest_id TEXT NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
                seq         INTEGER NOT NULL,
                symbol      TEXT NOT NULL,
                size        REAL NOT NULL,
                entry_bar   INTEGER NOT NULL,
                exit_bar    INTEGER NOT NULL,
                entry_time  TEXT NOT NULL,
                exit_time   TEXT NOT NULL,
                entry_price REAL NOT NULL,
                exit_price  REAL NOT NULL,
                pnl         REAL NOT NULL,
                return_pct  REAL NOT NULL,
                commission  REAL NOT NULL,
                exit_reason TEXT NOT NULL,
                PRIMARY KEY (backtest_id, seq)
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        2,
        "executions of long jobs",
        (
            """
            CREATE TABLE executions (
                id          TEXT PRIMARY KEY,
                kind        TEXT NOT NULL,
                name        TEXT NOT NULL,
                status      TEXT NOT NULL,
                params      TEXT NOT NULL,
                progress    REAL NOT NULL,
                message     TEXT NOT NULL,
                created_at  TEXT NOT NULL,
                started_at  TEXT,
                finished_at TEXT,
                result      TEXT,
                error       TEXT
            )
            """,
            "CREATE INDEX executions_created ON executions (created_at, id)",
            "CREATE INDEX executions_kind_created ON executions (kind, created_at, id)",
            "CREATE INDEX executions_status_created ON executions (status, created_at, id)",
        ),
    ),
    Migration(
        3,
        "trained models",
        (
            """
            CREATE TABLE models (
                name       TEXT PRIMARY KEY,
                kind       TEXT NOT NULL,
                created_at TEXT NOT NULL,
                params     TEXT NOT NULL,
                payload    TEXT NOT NULL,
                metrics    TEXT NOT NULL
            )
            """,
            "CREATE INDEX models_created ON models (created_at, name)",
            "CREATE INDEX models_kind_created ON models (kind, created_at, name)",
        ),
    ),
    Migration(
        4,
        "optimisation studies and their trials",
        (
            """
            CREATE TABLE studies (
                id          TEXT PRIMARY KEY,
                created_at  TEXT NOT NULL,
                strategy    TEXT NOT NULL,
                symbol      TEXT NOT NULL,
                timeframe   TEXT NOT NULL,
                "start"     TEXT,
                "end"       TEXT,
                method      TEXT NOT NULL,
                objective   TEXT NOT NULL,
                maximize    INTEGER NOT NULL,
                space       TEXT NOT NULL,
                fixed       TEXT NOT NULL,
                config      TEXT NOT NULL,
                n_trials    INTEGER,
                seed        INTEGER NOT NULL,
                total       INTEGER NOT NULL,
                status      TEXT NOT NULL,
                best_params TEXT,
                best_value  REAL,
                finished_at TEXT,
                error       TEXT
            )
            """,
            "CREATE INDEX studies_created ON studies (created_at, id)",
            """
            CREATE TABLE study_trials (
                study_id TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
                number   INTEGER NOT NULL,
                params   TEXT NOT NULL,
                stats    TEXT NOT NULL,
                value    REAL NOT NULL,
                PRIMARY KEY (study_id, number)
            )
            """,
        ),
    ),
    Migration(
        5,
        "trading sessions: orders, fills, positions and equity",
        (
            """
            CREATE TABLE sessions (
                id         TEXT PRIMARY KEY,
                created_at TEXT NOT NULL,
                strategy   TEXT NOT NULL,
                params     TEXT NOT NULL,
                symbols    TEXT NOT NULL,
                mode       TEXT NOT NULL,
                capital    REAL NOT NULL,
                config     TEXT NOT NULL,
                feed       TEXT NOT NULL,
                status     TEXT NOT NULL,
                last_bar   INTEGER NOT NULL,
                last_time  TEXT,
                cash       REAL NOT NULL,
                equity     REAL NOT NULL,
                updated_at TEXT,
                error      TEXT,
                risk       TEXT
            )
            """,
            "CREATE INDEX sessions_created ON sessions (created_at, id)",
            "CREATE INDEX sessions_status_created ON sessions (status, created_at, id)",
            # seq: the order's place in its session, given when the order is first stored and never
            # changed by later upserts. UNIQUE (session_id, seq) is both the guard on that numbering
            # and the index that lists a session's orders by creation (and finds its next seq).
            """
            CREATE TABLE orders (
                client_order_id TEXT PRIMARY KEY,
                session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                seq             INTEGER NOT NULL,
                symbol          TEXT NOT NULL,
                side            TEXT NOT NULL,
                quantity        REAL NOT NULL,
                type            TEXT NOT NULL,
                limit_price     REAL,
                stop_price      REAL,
                fraction        REAL,
                reduce_only     INTEGER NOT NULL,
                created_at      TEXT,
                status          TEXT NOT NULL,
                filled_quantity REAL NOT NULL,
                average_price   REAL,
                commission      REAL NOT NULL,
                reason          TEXT,
                updated_at      TEXT,
                UNIQUE (session_id, seq)
            )
            """,
            # No foreign key from a fill to its order: a broker may report a fill of an order this
            # store never saw (placed elsewhere), and the fill must still be kept.
            """
            CREATE TABLE fills (
                fill_id         TEXT PRIMARY KEY,
                session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                client_order_id TEXT,
                symbol          TEXT NOT NULL,
                side            TEXT NOT NULL,
                quantity        REAL NOT NULL,
                price           REAL NOT NULL,
                commission      REAL NOT NULL,
                bar             INTEGER NOT NULL,
                time            TEXT NOT NULL,
                realized_pnl    REAL NOT NULL
            )
            """,
            "CREATE INDEX fills_session_bar ON fills (session_id, bar, fill_id)",
            """
            CREATE TABLE positions (
                session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                symbol      TEXT NOT NULL,
                size        REAL NOT NULL,
                entry_price REAL NOT NULL,
                entry_bar   INTEGER NOT NULL,
                entry_time  TEXT NOT NULL,
                PRIMARY KEY (session_id, symbol)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE equity (
                session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                bar        INTEGER NOT NULL,
                time       TEXT NOT NULL,
                cash       REAL NOT NULL,
                equity     REAL NOT NULL,
                PRIMARY KEY (session_id, bar)
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        6,
        "sessions: the process that runs a session (running only while a live owner holds it)",
        ("ALTER TABLE sessions ADD COLUMN owner TEXT",),
    ),
    Migration(
        7,
        "a trade's return_pct is in percent (5.0 = 5 %), as every other *_pct; it was stored as a fraction",
        # Non-finite values are stored as text ('nan', 'inf'): they stay as they are.
        ("UPDATE backtest_trades SET return_pct = return_pct * 100 WHERE typeof(return_pct) IN ('real', 'integer')",),
    ),
    Migration(
        8,
        "authentication: users, API keys, refresh-token families",
        (
            """
            CREATE TABLE users (
                username      TEXT PRIMARY KEY,
                role          TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                created_at    TEXT NOT NULL,
                updated_at    TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE api_keys (
                id           TEXT PRIMARY KEY,
                name         TEXT NOT NULL,
                role         TEXT NOT NULL,
                secret_hash  TEXT NOT NULL,
                created_at   TEXT NOT NULL,
                created_by   TEXT NOT NULL,
                expires_at   TEXT,
                revoked_at   TEXT,
                last_used_at TEXT
            )
            """,
            """
            CREATE TABLE refresh_families (
                id         TEXT PRIMARY KEY,
                subject    TEXT NOT NULL,
                revoked_at TEXT
            )
            """,
            "CREATE INDEX refresh_families_subject ON refresh_families (subject)",
            """
            CREATE TABLE refresh_tokens (
                jti        TEXT PRIMARY KEY,
                family     TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
                subject    TEXT NOT NULL,
                issued_at  TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                used_at    TEXT
            )
            """,
            "CREATE INDEX refresh_tokens_family ON refresh_tokens (family)",
        ),
    ),
    Migration(
        9,
        "who started each session, workflow execution and optimisation (per-owner stream authorisation)",
        (
            """
            CREATE TABLE owners (
                resource   TEXT PRIMARY KEY,
                subject    TEXT NOT NULL,
                created_at TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        10,
        "the trading outbox: a session's events committed with its bar, deleted once published",
        (
            """
            CREATE TABLE session_outbox (
                session_id TEXT NOT NULL,
                seq        INTEGER NOT NULL,
                source     TEXT NOT NULL,
                number     INTEGER NOT NULL,
                topic      TEXT NOT NULL,
                type       TEXT NOT NULL,
                data       TEXT NOT NULL,
                PRIMARY KEY (session_id, seq),
                UNIQUE (source, number)
            )
            """,
        ),
    ),
)

SCHEMA_VERSION: int = MIGRATIONS[-1].version
"""The schema version this code writes and expects."""


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the database's version up to ``target``; return the new version.

    ``conn`` must be in autocommit mode (``isolation_level=None``): each migration runs in its own
    explicit transaction. A database newer than this code is refused rather than misread.
    """
    if conn.isolation_level is not None:
        raise RuntimeError("migrate() needs an autocommit connection (isolation_level=None)")
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the state database has schema version {current}, newer than this gpt-trader supports "
            f"({SCHEMA_VERSION}): upgrade gpt-trader, or point it at another database"
        )
    for migration in MIGRATIONS:
        if migration.version <= current or migration.version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if schema_version(conn) < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return schema_version(conn)
