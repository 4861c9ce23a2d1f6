"""What only the PostgreSQL state store has: its schema and migrations, the dialect translation, URLs,
several stores (processes) on one database at once, and SIGKILL durability. The contract suites run
on it through the shared ``store`` fixture (tests/adapters/conftest.py)."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.state import SCHEMA_VERSION, _codec
from adapters.state.migrations import MIGRATIONS
from adapters.state.postgres import PostgresStateStore
from adapters.state.postgres_schema import migrate, to_postgres
from entrypoints.container import build_container
from entrypoints.settings import InvalidSettingsError, load_settings
from gpt_trader_core.domain.records import TrialRecord
from gpt_trader_core.errors import ConfigurationError, ConflictError
from gpt_trader_core.services.backtest import BacktestRequest
from tests.adapters.test_state_durability import _run_and_kill as run_state_writer
from tests.adapters.test_state_durability import _same_with_nan
from tests.adapters.test_state_durability import writer as state_writer
from tests.adapters.test_state_store import make_execution, make_record, migrated, one_line, same
from tests.adapters.test_study_store import make_study, trials
from tests.adapters.test_trading_store import _run_and_kill as run_trading_writer
from tests.adapters.test_trading_store import stored, two_bars
from tests.adapters.test_trading_store import writer as trading_writer


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[PostgresStateStore]:
    store = PostgresStateStore.from_url(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def raw(url: str) -> AsyncIterator[Any]:
    """A plain psycopg connection on the URL's schema (autocommit, dict rows)."""
    import psycopg
    from psycopg.rows import dict_row

    base, schema = url.split("?schema=")
    conn = await psycopg.AsyncConnection.connect(
        base, autocommit=True, row_factory=dict_row, options=f"-c search_path={schema}"
    )
    try:
        yield conn
    finally:
        await conn.close()


def schema_of(url: str) -> str:
    return url.split("?schema=")[1]


# -- schema, migrations, dialect ---------------------------------------------------------------------


@pytest.mark.postgres
async def test_open_creates_the_schema_at_the_current_version_with_sqlite_compatible_types(postgres_url: str) -> None:
    async with opened(postgres_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1].version
    async with raw(postgres_url) as conn:
        cur = await conn.execute(
            "SELECT table_name, column_name, data_type, collation_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            (schema_of(postgres_url),),
        )
        columns = {
            (r["table_name"], r["column_name"]): (r["data_type"], r["collation_name"]) for r in await cur.fetchall()
        }
    assert columns[("backtest_trades", "pnl")] == ("double precision", None)
    assert columns[("orders", "seq")] == ("bigint", None)
    assert columns[("sessions", "owner")] == ("text", "C")  # byte order, as SQLite sorts text
    assert {table for table, _ in columns} >= {"backtests", "executions", "models", "studies", "sessions", "fills"}


async def test_the_dialect_translation() -> None:
    assert to_postgres("CREATE TABLE t (a TEXT PRIMARY KEY, b REAL, c INTEGER NOT NULL) WITHOUT ROWID") == (
        'CREATE TABLE t (a TEXT COLLATE "C" PRIMARY KEY, b DOUBLE PRECISION, c BIGINT NOT NULL)'
    )
    assert to_postgres("UPDATE t SET x = x * 100 WHERE typeof(x) IN ('real', 'integer')") == (
        "UPDATE t SET x = x * 100 WHERE x IS NOT NULL"
    )


async def insert_raw(conn: Any, table: str, row: dict[str, Any]) -> None:
    """A codec row inserted by hand, as an older version of the store wrote it (non-finite float text
    bound as the float, as the store does)."""
    names = ", ".join(f'"{name}"' for name in row)
    values = ", ".join(f"%({name})s" for name in row)
    nonfinite = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    bound = {key: nonfinite.get(value, value) if isinstance(value, str) else value for key, value in row.items()}
    await conn.execute(f"INSERT INTO {table} ({names}) VALUES ({values})", bound)


@pytest.mark.postgres
async def test_migrates_a_v4_schema_keeping_its_data(postgres_url: str) -> None:
    record, execution, study = make_record("from-v4", n_trades=3), make_execution("ex-v4"), make_study("st-v4")
    async with raw(postgres_url) as conn:
        assert await migrate(conn, schema_of(postgres_url), target=4) == 4
        await insert_raw(conn, "backtests", _codec.backtest_row(record))
        for trade in _codec.trade_rows(record):
            await insert_raw(conn, "backtest_trades", {"backtest_id": record.id, **trade})
        await insert_raw(conn, "executions", _codec.execution_row(execution))
        await insert_raw(conn, "studies", _codec.study_row(study))
        for trial in _codec.trial_rows(trials(range(3))):
            await insert_raw(conn, "study_trials", {"study_id": study.id, **trial})

    async with opened(postgres_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert same(await store.get_backtest("from-v4"), migrated(record))  # migration 7: return_pct in %
        assert same(await store.get_execution("ex-v4"), execution)
        assert same(await store.list_trials("st-v4"), trials(range(3)))
        for bar in two_bars():
            await store.commit_bar(*bar)
        assert (await store.get_session("sess-1")).last_bar == 1
    async with opened(postgres_url) as store:  # re-opening an up-to-date schema changes nothing
        assert await store.schema_version() == SCHEMA_VERSION
        assert [s.id for s in await store.list_studies()] == ["st-v4"]


@pytest.mark.postgres
async def test_migration_7_turns_stored_trade_returns_into_percent_and_keeps_nan(postgres_url: str) -> None:
    record = make_record("bt-old", n_trades=4)
    old = [attrs.evolve(t, return_pct=t.return_pct / 100) for t in record.trades]  # as v6 stored them
    old[0] = attrs.evolve(old[0], return_pct=math.nan)
    async with raw(postgres_url) as conn:
        assert await migrate(conn, schema_of(postgres_url), target=6) == 6
        await insert_raw(conn, "backtests", _codec.backtest_row(record))
        for row in _codec.trade_rows(attrs.evolve(record, trades=tuple(old))):
            await insert_raw(conn, "backtest_trades", {"backtest_id": "bt-old", **row})
    async with opened(postgres_url) as store:
        stored = await store.get_backtest("bt-old")
    assert math.isnan(stored.trades[0].return_pct)
    assert [t.return_pct for t in stored.trades[1:]] == [t.return_pct / 100 * 100 for t in record.trades[1:]]


@pytest.mark.postgres
async def test_refuses_a_schema_newer_than_the_code(postgres_url: str) -> None:
    async with opened(postgres_url):
        pass
    async with raw(postgres_url) as conn:
        await conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    store = PostgresStateStore.from_url(postgres_url)
    with pytest.raises(ConfigurationError, match="newer than this gpt-trader supports") as info:
        await store.open()
    one_line(info.value)
    with pytest.raises(RuntimeError, match="is not open"):
        await store.ping()


@pytest.mark.postgres
async def test_stores_opening_one_new_schema_at_once_migrate_it_once(postgres_url: str) -> None:
    stores = [PostgresStateStore.from_url(postgres_url) for _ in range(4)]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        assert [await store.schema_version() for store in stores] == [SCHEMA_VERSION] * 4
    finally:
        await asyncio.gather(*(store.close() for store in stores))


@pytest.mark.postgres
async def test_non_finite_floats_are_stored_as_native_doubles(postgres_url: str) -> None:
    async with opened(postgres_url) as store:
        await store.save_study(make_study("s"))
        await store.add_trials("s", trials(range(1)))
        await store.add_trials("s", [TrialRecord(number=9, params={}, stats={}, value=math.nan)])
        assert math.isnan((await store.list_trials("s"))[-1].value)
    async with raw(postgres_url) as conn:
        row = await (
            await conn.execute("SELECT value = 'NaN'::float8 AS nan FROM study_trials WHERE number = 9")
        ).fetchone()
    assert row == {"nan": True}


@pytest.mark.postgres
async def test_rolls_back_a_bar_that_fails_inside_the_transaction(postgres_url: str) -> None:
    import psycopg

    first, second = two_bars()
    async with opened(postgres_url) as store:
        await store.commit_bar(*first)
        before = await stored(store)
        async with raw(postgres_url) as conn:  # the equity row is the bar's last write
            await conn.execute(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql"
            )
            await conn.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON equity FOR EACH ROW WHEN (NEW.bar = 1) EXECUTE FUNCTION boom()"
            )
        with pytest.raises(psycopg.errors.RaiseException, match="boom"):
            await store.commit_bar(*second)
        assert same(await stored(store), before)
        async with raw(postgres_url) as conn:
            await conn.execute("DROP TRIGGER boom ON equity")
        await store.commit_bar(*second)  # the write connection survived the failed transaction
        session, _, fills, positions, equity = await stored(store)
        assert session.last_bar == 1 and len(fills) == 2 and len(positions) == 2 and [e.bar for e in equity] == [0, 1]


# -- several stores (workers) on one database ----------------------------------------------------------


@pytest.mark.postgres
async def test_two_stores_on_one_schema_see_each_others_writes_and_conflicts(postgres_url: str) -> None:
    async with opened(postgres_url) as first, opened(postgres_url) as second:
        await asyncio.gather(
            *(first.add_execution(make_execution(f"a{i}")) for i in range(20)),
            *(second.add_execution(make_execution(f"b{i}")) for i in range(20)),
        )
        assert len(await first.list_executions(limit=100)) == 40
        with pytest.raises(ConflictError):
            await second.add_execution(make_execution("a0"))
        # One backtest saved by both at once: each save lands whole, never a mix of their trades.
        await asyncio.gather(
            *(store.save_backtest(make_record("same", n_trades=n)) for store, n in ((first, 3), (second, 7)) * 5)
        )
        assert len((await first.get_backtest("same")).trades) in (3, 7)


@pytest.mark.postgres
async def test_one_order_id_claimed_by_two_sessions_at_once_is_a_conflict_for_one(postgres_url: str) -> None:
    session, orders, _, positions, equity = two_bars()[0]
    other = attrs.evolve(session, id="sess-2")
    async with opened(postgres_url) as first, opened(postgres_url) as second:
        results = await asyncio.gather(
            first.commit_bar(session, orders, [], positions, equity),
            second.commit_bar(other, orders, [], positions, equity),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["ConflictError", "NoneType"]
        winner = "sess-1" if results[0] is None else "sess-2"
        assert len(await first.list_orders(winner)) == len(orders)


# -- durability: SIGKILL the writing processes ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
async def test_acknowledged_writes_of_two_processes_survive_sigkill(postgres_url: str) -> None:
    survivors: list[tuple[str, str, int]] = []
    for round_no, kill_after in enumerate((30, 75)):
        prefixes = (f"r{round_no}a", f"r{round_no}b")  # two writer processes at once on one schema
        runs = await asyncio.gather(*(run_state_writer(postgres_url, p, kill_after) for p in prefixes))
        for prefix, acknowledged in zip(prefixes, runs, strict=True):
            assert len(acknowledged) >= kill_after
            survivors += [(kind, prefix, i) for kind, i in acknowledged]
        async with opened(postgres_url) as store:
            for kind, prefix, i in survivors:  # every acknowledged write of every round, intact
                if kind == "E":
                    expected: Any = state_writer.execution_for(prefix, i)
                    assert _same_with_nan(await store.get_execution(expected.id), expected)
                else:
                    expected = state_writer.backtest_for(prefix, i)
                    assert _same_with_nan(await store.get_backtest(expected.id), expected)
            # Atomic: a backtest is there with all its trades, or not at all (even unacknowledged ones).
            for listed in await store.list_backtests(limit=10_000):
                assert len((await store.get_backtest(listed.id)).trades) == state_writer.TRADES


@pytest.mark.postgres
@pytest.mark.slow
async def test_acknowledged_bars_survive_sigkill_whole_and_once(postgres_url: str) -> None:
    acknowledged: list[int] = []
    for round_no, kill_after in enumerate((40, 90)):
        bars = await run_trading_writer(postgres_url, kill_after)
        assert len(bars) >= kill_after
        if round_no:  # it resumed by re-committing the last stored bar
            assert bars[0] >= max(acknowledged)
        acknowledged += bars
        async with opened(postgres_url) as store:
            session, orders, fills, positions, equity = await stored(store, trading_writer.SESSION)
            last = session.last_bar
            assert last >= max(acknowledged)
            assert same(session, trading_writer.session_for(last))
            assert same(equity, [trading_writer.equity_for(bar) for bar in range(last + 1)])
            expected_fills = sorted(
                (f for bar in range(last + 1) for f in trading_writer.fills_for(bar)), key=lambda f: (f.bar, f.fill_id)
            )
            assert same(fills, expected_fills)
            assert same(positions, sorted(trading_writer.positions_for(last), key=lambda p: p.symbol))
            expected_orders = []
            for bar in range(last + 1):
                expected_orders.append(trading_writer.orders_for(bar)[-2])
                limit_state = (
                    trading_writer.final_limit_state(bar) if bar < last else trading_writer.orders_for(bar)[-1]
                )
                expected_orders.append(limit_state)
            assert same(orders, expected_orders)


# -- URLs and errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "conninfo", "schema"),
    [
        ("postgresql://u@db:5432/state", "postgresql://u@db:5432/state", "public"),
        ("postgres://u:pw@db/state?schema=gpt_trader", "postgresql://u:pw@db/state", "gpt_trader"),
        ("postgresql://db/state?sslmode=require&schema=s1", "postgresql://db/state?sslmode=require", "s1"),
    ],
)
def test_from_url_accepts(url: str, conninfo: str, schema: str) -> None:
    store = PostgresStateStore.from_url(url)
    assert (store._conninfo, store.schema) == (conninfo, schema)
    assert "pw" not in repr(store)


@pytest.mark.parametrize(
    "url", ["", "sqlite:///x.db", "postgresql://", "postgresql://db", "postgresql://db/", "postgresql://db/s?schema=a-b",
            "postgresql://db/s?schema=1x", "postgresql://db/s?schema=a&schema=b", "mysql://db/s"],
)  # fmt: skip
def test_from_url_refuses_with_the_accepted_form(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        PostgresStateStore.from_url(url)
    message = one_line(info.value)
    assert "postgresql://user[:password]@host[:port]/database[?schema=name]" in message


async def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    store = PostgresStateStore.from_url("postgresql://u:secret@127.0.0.1:1/state")
    store._timeout = 1.0
    with pytest.raises(ConfigurationError, match="cannot open the PostgreSQL state store") as info:
        await store.open()
    assert "secret" not in one_line(info.value)
    with pytest.raises(RuntimeError, match="is not open"):
        await store.ping()


# -- chosen by settings ----------------------------------------------------------------------------------


@pytest.mark.postgres
async def test_a_postgresql_state_url_chooses_this_store_in_the_container(tmp_path: Path, postgres_url: str) -> None:
    settings = load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url={postgres_url}"]).settings
    container = build_container(settings, executor="inline")
    await container.init_resources()
    try:
        backtester = await container.services.backtester()
        run = await backtester.run(BacktestRequest(symbol="AAPL", strategy="breakout"), save=True)
        store = await container.adapters.state_store()
        assert isinstance(store, PostgresStateStore) and store.schema == schema_of(postgres_url)
        assert [r.id for r in await store.list_backtests()] == [run.record_id]
    finally:
        await container.shutdown_resources()


def test_the_settings_accept_postgresql_urls_and_refuse_unknown_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def state_url(url: str) -> str:
        return load_settings(env={}, cwd=tmp_path, home=tmp_path, overrides=[f"state.url={url}"]).settings.state.url

    assert state_url("postgresql://app@db:5432/gpt?schema=prod") == "postgresql://app@db:5432/gpt?schema=prod"
    with pytest.raises(InvalidSettingsError, match=r"state\.url: unknown state store 'mysql'.*postgresql://") as info:
        state_url("mysql://app:pa55@db/gpt")
    assert "pa55" not in str(info.value) and info.value.exit_code == 2
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra were not installed
    with pytest.raises(InvalidSettingsError, match=r'state\.url: .*pip install "gpt-trader\[postgres\]"'):
        state_url("postgresql://db/gpt")


@pytest.mark.postgres
async def test_connections_killed_by_the_server_are_replaced(postgres_url: str) -> None:
    async with opened(postgres_url) as store:
        await store.save_backtest(make_record("before"))
        async with raw(postgres_url) as conn:
            cur = await conn.execute(
                "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = %s",
                (f"gpt-trader:{schema_of(postgres_url)}",),
            )
            assert len(await cur.fetchall()) >= 2  # the write connection and a read one
        await store.save_backtest(make_record("after"))  # the pool checks a connection before handing it out
        assert sorted(r.id for r in await store.list_backtests()) == ["after", "before"]
