"""The state schema on PostgreSQL: the SAME versioned migrations as SQLite, translated in one place.

``migrations.MIGRATIONS`` is the one schema. ``to_postgres`` rewrites its SQLite dialect:

- ``REAL`` → ``DOUBLE PRECISION`` (IEEE 754 doubles, like SQLite; NaN and ±Infinity are native, so
  the codec's ``'nan'``/``'inf'`` text goes in as a float: see ``PostgresStateStore``);
- ``INTEGER`` → ``BIGINT`` (SQLite integers are 64-bit);
- ``TEXT`` → ``TEXT COLLATE "C"``: byte order, as SQLite compares text, so ids and ISO times sort the
  same on both (a locale collation would sort ``"a_b"`` and ``"ab"`` differently);
- ``WITHOUT ROWID`` (an SQLite storage option) is dropped;
- ``typeof(x) IN ('real', 'integer')`` (SQLite's "stored as a number, not the text 'nan'") is
  ``x IS NOT NULL``: a double column holds only numbers, and NaN * k is still NaN.

The version lives in the one-row table ``schema_version`` (SQLite's ``PRAGMA user_version``).
Each migration is applied in its own transaction together with the version bump (PostgreSQL DDL is
transactional), under a transaction-scoped advisory lock of the schema, so several processes opening
one database at once apply each migration exactly once.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.state.migrations import MIGRATIONS, SCHEMA_VERSION
from gpt_trader_core.errors import ConfigurationError

__all__ = ["migrate", "schema_version", "to_postgres"]

_LOCK_CLASS = 0x67707472  # "gptr": the first key of our advisory locks (the second: the schema name's hash)

_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\)\s*WITHOUT\s+ROWID", re.IGNORECASE), ")"),
    (re.compile(r"\btypeof\((\w+)\)\s+IN\s+\('real',\s*'integer'\)", re.IGNORECASE), r"\1 IS NOT NULL"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)


def to_postgres(statement: str) -> str:
    """One SQLite migration statement in PostgreSQL's dialect (see the module docstring)."""
    for pattern, replacement in _REWRITES:
        statement = pattern.sub(replacement, statement)
    return statement


async def _lock(conn: Any, schema: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_CLASS, schema))


async def schema_version(conn: Any) -> int:
    """The schema's version (``conn`` yields dict rows)."""
    row = await (await conn.execute("SELECT version FROM schema_version")).fetchone()
    return 0 if row is None else int(row["version"])


async def migrate(conn: Any, schema: str, target: int = SCHEMA_VERSION) -> int:
    """Create ``schema`` if needed and apply the missing migrations up to ``target``; return the new
    version. ``conn`` is a psycopg ``AsyncConnection`` in autocommit mode with dict rows, its
    search_path set to ``schema``. A database newer than this code is refused rather than misread."""
    async with conn.transaction():
        await _lock(conn, schema)
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".schema_version (version BIGINT NOT NULL)')
        await conn.execute(
            "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)"
        )
        current = await schema_version(conn)
    if current > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the state database has schema version {current}, newer than this gpt-trader supports "
            f"({SCHEMA_VERSION}): upgrade gpt-trader, or point it at another schema or database"
        )
    for migration in MIGRATIONS:
        if migration.version <= current or migration.version > target:
            continue
        async with conn.transaction():
            await _lock(conn, schema)
            # Re-read under the lock: another process may have migrated meanwhile.
            if await schema_version(conn) < migration.version:
                for statement in migration.statements:
                    await conn.execute(to_postgres(statement))
                await conn.execute("UPDATE schema_version SET version = %s", (migration.version,))
    return await schema_version(conn)
