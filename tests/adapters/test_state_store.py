"""The StateStore contract, run against both adapters (SQLite on a real file, and memory), plus the
persistence codec (property-tested) and what only SQLite has (schema, migrations, URLs, threading)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import math
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.state import SCHEMA_VERSION, SqliteStateStore, _codec
from adapters.state.migrations import MIGRATIONS, migrate
from gpt_trader_core.domain.records import BacktestRecord, Execution, ExecutionStatus
from gpt_trader_core.domain.trading import ExitReason, Trade
from gpt_trader_core.errors import (
    ConfigurationError,
    ConflictError,
    GptTraderError,
    InvalidParameterError,
    NotFoundError,
)

T0 = dt.datetime(2024, 3, 1, 9, 30)


# -- helpers -----------------------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Exact equality, where NaN equals NaN and types must match (a tuple is not a list)."""
    if attrs.has(type(a)):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in attrs.fields(type(a)))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset() and (a.tzinfo is None) == (b.tzinfo is None)
    return type(a) is type(b) and a == b


def make_trade(k: int, *, symbol: str = "AAPL") -> Trade:
    entry = T0 + dt.timedelta(days=3 * k, microseconds=k)
    size = 10.0 if k % 2 else -7.5
    entry_price, exit_price = 100.0 + k * 0.37, 101.5 - k * 0.11
    commission = 0.001 * abs(size) * (entry_price + exit_price)
    pnl = size * (exit_price - entry_price) - commission
    return Trade(
        symbol=symbol,
        size=size,
        entry_bar=3 * k,
        exit_bar=3 * k + 2,
        entry_time=entry,
        exit_time=entry + dt.timedelta(days=2, hours=6),
        entry_price=entry_price,
        exit_price=exit_price,
        pnl=pnl if k != 3 else math.nan,  # a broken fill price upstream: must still round-trip
        return_pct=math.copysign(1, size) * (exit_price / entry_price - 1) - commission / (abs(size) * entry_price),
        commission=commission,
        exit_reason=list(ExitReason)[k % len(ExitReason)],
    )


def make_stats(n_trades: int) -> dict[str, Any]:
    return {
        "start": T0,
        "end": T0 + dt.timedelta(days=365),
        "duration": dt.timedelta(days=365),
        "exposure_time_pct": 63.2,
        "equity_final": 11_234.5678,
        "return_pct": 12.345678901234567,
        "sharpe_ratio": math.nan,
        "profit_factor": math.inf,
        "calmar_ratio": -math.inf,
        "max_drawdown_duration": dt.timedelta(days=41, hours=3),
        "avg_trade_duration": None,
        "num_trades": n_trades,
        "win_rate_pct": 0.0,
        "beta": -0.0,
    }


def migrated(record: BacktestRecord) -> BacktestRecord:
    """``record`` saved before migration 7 and read after it: a trade's return_pct, stored as a
    fraction until then, reads in percent."""
    return attrs.evolve(record, trades=tuple(attrs.evolve(t, return_pct=t.return_pct * 100) for t in record.trades))


def make_record(
    record_id: str = "bt-1",
    *,
    created_at: dt.datetime = T0,
    strategy: str = "sma_cross",
    symbol: str = "AAPL",
    n_trades: int = 12,
) -> BacktestRecord:
    return BacktestRecord(
        id=record_id,
        created_at=created_at,
        strategy=strategy,
        params={"fast": 10, "slow": 30, "band": (0.5, 1.5), "use_stop": True, "note": None},
        symbol=symbol,
        timeframe="1d",
        source="synthetic(seed=0)",
        synthetic=True,
        data_fingerprint="sha256:9f2c",
        start=T0,
        end=T0 + dt.timedelta(days=365),
        config={"cash": 10_000.0, "commission": 0.001, "slippage": {"bps": 2.5}, "sizes": [1, 2, 3]},
        stats=make_stats(n_trades),
        trades=tuple(make_trade(k, symbol=symbol) for k in range(n_trades)),
    )


def make_execution(
    execution_id: str = "ex-1",
    *,
    kind: str = "optimise",
    status: ExecutionStatus = ExecutionStatus.PENDING,
    created_at: dt.datetime = T0,
) -> Execution:
    return Execution(
        id=execution_id,
        kind=kind,
        name=f"{kind} sma_cross on AAPL",
        status=status,
        params={"strategy": "sma_cross", "grid": {"fast": [5, 10], "slow": (20, 40)}, "since": T0},
        created_at=created_at,
    )


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message
    return message


# -- the two adapters --------------------------------------------------------------------------------


# -- BacktestStore contract --------------------------------------------------------------------------


async def test_save_then_get_round_trips_exactly(store: Any) -> None:
    record = make_record(n_trades=25)
    await store.save_backtest(record)
    got = await store.get_backtest(record.id)
    assert same(got, record)
    assert math.isnan(got.stats["sharpe_ratio"]) and got.stats["profit_factor"] == math.inf
    assert isinstance(got.stats["duration"], dt.timedelta) and isinstance(got.stats["start"], dt.datetime)
    assert math.isnan(got.trades[3].pnl) and got.trades[2].exit_reason is ExitReason.TAKE_PROFIT
    assert got.params["band"] == (0.5, 1.5) and isinstance(got.params["band"], tuple)


async def test_get_unknown_backtest_is_a_clear_not_found(store: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.get_backtest("nope")
    assert "backtest 'nope' not found" in one_line(info.value)


async def test_list_is_newest_first_then_by_id_and_without_trades(store: Any) -> None:
    ids_and_times = [("a", 0), ("b", 2), ("c", 1), ("d", 2), ("e", -1)]
    for record_id, minutes in ids_and_times:
        await store.save_backtest(make_record(record_id, created_at=T0 + dt.timedelta(minutes=minutes)))
    listed = await store.list_backtests()
    assert [r.id for r in listed] == ["d", "b", "c", "a", "e"]
    assert all(r.trades == () for r in listed)
    assert same(attrs.evolve(make_record("c", created_at=T0 + dt.timedelta(minutes=1)), trades=()), listed[2])


async def test_list_orders_sub_second_times_chronologically(store: Any) -> None:
    # isoformat() drops ".000000": the store must not compare "…:00" with "…:00.5" as text wrongly.
    times = [T0, T0 + dt.timedelta(microseconds=500_000), T0 + dt.timedelta(seconds=1), T0.replace(year=999)]
    for i, created_at in enumerate(times):
        await store.save_backtest(make_record(f"r{i}", created_at=created_at, n_trades=0))
    assert [r.id for r in await store.list_backtests()] == ["r2", "r1", "r0", "r3"]


async def test_list_filters_and_limit(store: Any) -> None:
    combos = [("sma_cross", "AAPL"), ("sma_cross", "MSFT"), ("rsi", "AAPL"), ("rsi", "MSFT"), ("rsi", "AAPL")]
    for i, (strategy, symbol) in enumerate(combos):
        created_at = T0 + dt.timedelta(hours=i)
        await store.save_backtest(make_record(f"r{i}", created_at=created_at, strategy=strategy, symbol=symbol))
    assert [r.id for r in await store.list_backtests(strategy="rsi")] == ["r4", "r3", "r2"]
    assert [r.id for r in await store.list_backtests(symbol="AAPL")] == ["r4", "r2", "r0"]
    assert [r.id for r in await store.list_backtests(strategy="rsi", symbol="AAPL", limit=1)] == ["r4"]
    assert [r.id for r in await store.list_backtests(limit=2)] == ["r4", "r3"]
    assert await store.list_backtests(limit=0) == []
    assert await store.list_backtests(strategy="unknown") == []
    with pytest.raises(InvalidParameterError, match="limit"):
        await store.list_backtests(limit=-1)


async def test_saving_an_existing_id_replaces_it_trades_included(store: Any) -> None:
    await store.save_backtest(make_record("x", n_trades=9))
    replacement = attrs.evolve(make_record("x", n_trades=2, strategy="rsi"), stats={"return_pct": 1.0})
    await store.save_backtest(replacement)
    assert same(await store.get_backtest("x"), replacement)
    assert [r.id for r in await store.list_backtests()] == ["x"]


async def test_delete_removes_the_record_and_its_trades(store: Any) -> None:
    await store.save_backtest(make_record("x", n_trades=7))
    await store.save_backtest(make_record("y", n_trades=3))
    await store.delete_backtest("x")
    with pytest.raises(NotFoundError):
        await store.get_backtest("x")
    with pytest.raises(NotFoundError, match="backtest 'x' not found"):
        await store.delete_backtest("x")
    assert len((await store.get_backtest("y")).trades) == 3
    if isinstance(store, SqliteStateStore):
        with sqlite3.connect(store.path) as conn:
            counts = dict(conn.execute("SELECT backtest_id, count(*) FROM backtest_trades GROUP BY 1"))
        assert counts == {"y": 3}


async def test_stored_state_cannot_be_mutated_through_callers(store: Any) -> None:
    params: dict[str, Any] = {"fast": 10, "grid": [1, 2]}
    record = attrs.evolve(make_record("x"), params=params)
    await store.save_backtest(record)
    params["fast"] = 99
    params["grid"].append(3)
    got = await store.get_backtest("x")
    assert got.params == {"fast": 10, "grid": [1, 2]}
    got.params["grid"].append(4)
    got.stats["num_trades"] = -1
    again = await store.get_backtest("x")
    assert again.params == {"fast": 10, "grid": [1, 2]} and again.stats["num_trades"] == 12


async def test_an_unstorable_value_is_refused_and_nothing_is_stored(store: Any) -> None:
    record = attrs.evolve(make_record("x"), params={"fast": 10, "callback": [object()]})
    with pytest.raises(TypeError, match=r"cannot store a object at \$\.callback\[0\]"):
        await store.save_backtest(record)
    with pytest.raises(NotFoundError):
        await store.get_backtest("x")


# -- ExecutionStore contract -------------------------------------------------------------------------


async def test_execution_add_get_update(store: Any) -> None:
    execution = make_execution()
    await store.add_execution(execution)
    assert same(await store.get_execution("ex-1"), execution)

    finished = attrs.evolve(
        execution,
        status=ExecutionStatus.SUCCEEDED,
        progress=1.0,
        message="done: 2 × 2 grid",
        started_at=T0 + dt.timedelta(seconds=1),
        finished_at=T0 + dt.timedelta(seconds=42, microseconds=7),
        result={"best": {"fast": 10, "slow": 40}, "sharpe": math.nan, "elapsed": dt.timedelta(seconds=41)},
    )
    await store.update_execution(finished)
    got = await store.get_execution("ex-1")
    assert same(got, finished) and got.status is ExecutionStatus.SUCCEEDED

    failed = attrs.evolve(finished, status=ExecutionStatus.FAILED, result=None, error="data source down")
    await store.update_execution(failed)
    assert same(await store.get_execution("ex-1"), failed)


async def test_adding_an_existing_execution_is_a_conflict(store: Any) -> None:
    await store.add_execution(make_execution())
    with pytest.raises(ConflictError) as info:
        await store.add_execution(attrs.evolve(make_execution(), name="other"))
    assert "execution 'ex-1' already exists" in one_line(info.value)
    assert (await store.get_execution("ex-1")).name == make_execution().name


async def test_unknown_executions_are_clear_not_founds(store: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.get_execution("ghost")
    assert "execution 'ghost' not found" in one_line(info.value)
    with pytest.raises(NotFoundError, match="execution 'ghost' not found"):
        await store.update_execution(make_execution("ghost"))
    with pytest.raises(NotFoundError):
        await store.get_execution("ghost")  # the failed update created nothing


async def test_list_executions_filters_orders_and_limits(store: Any) -> None:
    specs = [
        ("e0", "optimise", ExecutionStatus.SUCCEEDED, 0),
        ("e1", "workflow", ExecutionStatus.RUNNING, 1),
        ("e2", "optimise", ExecutionStatus.RUNNING, 2),
        ("e3", "backtest", ExecutionStatus.FAILED, 3),
        ("e4", "optimise", ExecutionStatus.PENDING, 3),
    ]
    for execution_id, kind, status, minutes in specs:
        created_at = T0 + dt.timedelta(minutes=minutes)
        await store.add_execution(make_execution(execution_id, kind=kind, status=status, created_at=created_at))
    assert [e.id for e in await store.list_executions()] == ["e4", "e3", "e2", "e1", "e0"]
    assert [e.id for e in await store.list_executions(kind="optimise")] == ["e4", "e2", "e0"]
    assert [e.id for e in await store.list_executions(status=ExecutionStatus.RUNNING)] == ["e2", "e1"]
    running_optimise = await store.list_executions(kind="optimise", status="running")  # a plain str works
    assert [e.id for e in running_optimise] == ["e2"]
    assert [e.id for e in await store.list_executions(limit=2)] == ["e4", "e3"]
    assert await store.list_executions(kind="nothing") == []
    with pytest.raises(InvalidParameterError, match="unknown execution status 'done'"):
        await store.list_executions(status="done")


# -- lifecycle -----------------------------------------------------------------------------------------


async def test_lifecycle_open_is_idempotent_and_data_survives_reopen(store: Any) -> None:
    await store.open()
    await store.ping()
    await store.save_backtest(make_record("x"))
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match="is not open"):
        await store.ping()
    with pytest.raises(RuntimeError, match="is not open"):
        await store.get_backtest("x")
    await store.open()
    assert same(await store.get_backtest("x"), make_record("x"))


# -- concurrency -------------------------------------------------------------------------------------


async def test_fifty_concurrent_writes_all_land(store: Any) -> None:
    writes = [store.save_backtest(make_record(f"bt-{i:02d}", n_trades=i % 5)) for i in range(25)]
    writes += [store.add_execution(make_execution(f"ex-{i:02d}")) for i in range(25)]
    await asyncio.gather(*writes)
    assert len(await store.list_backtests(limit=100)) == 25
    assert len(await store.list_executions(limit=100)) == 25
    for i in range(25):
        assert len((await store.get_backtest(f"bt-{i:02d}")).trades) == i % 5
    # Concurrent updates of one execution: each lands whole, the last submitted wins.
    updates = [
        store.update_execution(attrs.evolve(make_execution("ex-00"), progress=p / 10, message=f"step {p}"))
        for p in range(10)
    ]
    await asyncio.gather(*updates)
    last = await store.get_execution("ex-00")
    assert (last.progress, last.message) == (0.9, "step 9")


async def test_sqlite_work_runs_on_one_thread_and_never_blocks_the_event_loop(
    sqlite_store: SqliteStateStore,
) -> None:
    big = [make_record(f"big-{i}", n_trades=300) for i in range(60)]
    ticks: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    burst = asyncio.gather(*(sqlite_store.save_backtest(record) for record in big))
    await asyncio.sleep(0.01)
    workers = [t for t in threading.enumerate() if t.name.startswith("sqlite-state")]
    await burst
    for record in big[:3]:
        await sqlite_store.get_backtest(record.id)
    elapsed = time.perf_counter() - started
    stop.set()
    await beat

    during = [t for t in ticks if t >= started]
    max_gap = max(b - a for a, b in itertools.pairwise(during))
    assert len(workers) == 1
    assert elapsed > 0.15, "the burst must be long enough to show a blocked loop"
    # A loop blocked by SQLite would stall for about the whole burst; GIL hand-offs and GC pauses
    # on a busy machine cost milliseconds, so allow a third of it.
    assert max_gap < elapsed / 3, f"event loop stalled {max_gap * 1000:.0f} ms in a {elapsed:.2f} s burst"
    assert len(during) > 20


# -- SQLite only: schema, pragmas, migrations, files, URLs ---------------------------------------------


async def test_sqlite_connection_settings(sqlite_store: SqliteStateStore) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[Any, ...]:
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        return tuple(conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names)

    assert await sqlite_store._call(pragmas) == ("wal", 2, 1, 5000, SCHEMA_VERSION)  # 2 = FULL
    assert await sqlite_store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1].version


async def test_sqlite_migrates_a_v1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    record = make_record("from-v1", n_trades=4)
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == 1

    def insert(table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(f'"{name}"' for name in row)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", [*row.values()])

    insert("backtests", _codec.backtest_row(record))
    for trade in _codec.trade_rows(record):
        insert("backtest_trades", {"backtest_id": record.id, **trade})
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "backtests",
        "backtest_trades",
    }
    conn.close()

    store = SqliteStateStore(path)
    await store.open()
    try:
        assert await store.schema_version() == SCHEMA_VERSION
        assert same(await store.get_backtest("from-v1"), migrated(record))
        await store.add_execution(make_execution())  # the v2 table exists
        assert [e.id for e in await store.list_executions()] == ["ex-1"]
    finally:
        await store.close()
    await store.open()  # re-opening an up-to-date database changes nothing
    assert await store.schema_version() == SCHEMA_VERSION
    await store.close()


async def test_sqlite_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SqliteStateStore(path)
    with pytest.raises(ConfigurationError, match="newer than this gpt-trader supports") as info:
        await store.open()
    one_line(info.value)
    with pytest.raises(RuntimeError, match="is not open"):
        await store.ping()


async def test_sqlite_open_creates_parent_directories(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "a" / "b" / "state.db")
    await store.open()
    await store.save_backtest(make_record())
    await store.close()
    assert (tmp_path / "a" / "b" / "state.db").is_file()


async def test_sqlite_open_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(ConfigurationError, match="cannot use the state database"):
        await SqliteStateStore(path).open()


async def test_sqlite_in_memory_database_works() -> None:
    store = SqliteStateStore.from_url("sqlite::memory:")
    await store.open()
    await store.save_backtest(make_record())
    assert same(await store.get_backtest("bt-1"), make_record())
    await store.close()


async def test_sqlite_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    first, second = SqliteStateStore(tmp_path / "s.db"), SqliteStateStore(tmp_path / "s.db")
    await first.open()
    await second.open()
    try:
        await asyncio.gather(
            *(first.add_execution(make_execution(f"a{i}")) for i in range(20)),
            *(second.add_execution(make_execution(f"b{i}")) for i in range(20)),
        )
        assert len(await first.list_executions(limit=100)) == 40
        with pytest.raises(ConflictError):
            await second.add_execution(make_execution("a0"))
    finally:
        await first.close()
        await second.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-state")]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/lib/gpt-trader/state.db", "/var/lib/gpt-trader/state.db"),
        ("sqlite:////var/state.db", "/var/state.db"),  # SQLAlchemy's absolute form
        ("sqlite:///~/gpt/state.db", str(Path.home() / "gpt" / "state.db")),
        ("sqlite:relative/state.db", str(Path.cwd() / "relative" / "state.db")),
        ("sqlite:state.db", str(Path.cwd() / "state.db")),
        ("sqlite::memory:", ":memory:"),
    ],
)
def test_from_url_accepts(url: str, expected: str) -> None:
    assert SqliteStateStore.from_url(url).path == expected


@pytest.mark.parametrize(
    "url",
    ["", "state.db", "postgres://db/state", "sqlite:", "sqlite:///", "sqlite://host/state.db", "sqlite:/x.db",
     "sqlite:///data/", "sqlite:x.db?mode=ro", "sqlite:///:memory:", "memory:"],
)  # fmt: skip
def test_from_url_refuses_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SqliteStateStore.from_url(url)
    message = one_line(info.value)
    assert repr(url) in message and "sqlite:///absolute/path.db" in message and "sqlite::memory:" in message
    assert isinstance(info.value, GptTraderError) and info.value.exit_code == 2


# -- the codec: exact round trips (property-tested) --------------------------------------------------

TAG_LIKE_KEYS = st.sampled_from(["$float", "$dict", "$tuple", "$items", "$datetime", "$date", "$timedelta", "$x"])
FIXED_OFFSETS = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23, minutes=-59), max_value=dt.timedelta(hours=23, minutes=59)),
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.datetimes(timezones=st.none() | FIXED_OFFSETS)
    | st.dates()
    | st.timedeltas()
)
HASHABLE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4) | st.datetimes(),
    lambda inner: st.tuples(inner, inner),
)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=6) | TAG_LIKE_KEYS, inner, max_size=4)
        | st.dictionaries(HASHABLE, inner, max_size=3)
    ),
    max_leaves=25,
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
TRADES = st.builds(
    Trade,
    symbol=st.text(min_size=1, max_size=6),
    size=FLOATS,
    entry_bar=st.integers(0, 10**6),
    exit_bar=st.integers(0, 10**6),
    entry_time=st.datetimes(),
    exit_time=st.datetimes(),
    entry_price=FLOATS,
    exit_price=FLOATS,
    pnl=FLOATS,
    return_pct=FLOATS,
    commission=FLOATS,
    exit_reason=st.sampled_from(ExitReason),
)
STR_MAPPINGS = st.dictionaries(st.text(max_size=8) | TAG_LIKE_KEYS, JSON_LIKE, max_size=5)


@given(JSON_LIKE)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_codec_tree_round_trips_any_json_like_value_exactly(value: Any) -> None:
    assert same(_codec.decode_tree(_codec.loads(_codec.dumps(_codec.encode_tree(value)))), value)


@given(st.timedeltas())
def test_codec_timedelta_round_trips_exactly_over_its_whole_range(value: dt.timedelta) -> None:
    encoded = _codec.converter.unstructure(value, dt.timedelta)
    assert _codec.converter.structure(_codec.loads(_codec.dumps(encoded)), dt.timedelta) == value
    if abs(value) < dt.timedelta(days=365 * 100):
        assert isinstance(encoded, float)  # seconds, as documented


@given(TRADES)
def test_codec_trade_round_trips_exactly(trade: Trade) -> None:
    data = _codec.loads(_codec.dumps(_codec.converter.unstructure(trade, Trade)))
    assert same(_codec.converter.structure(data, Trade), trade)


@given(
    st.builds(
        BacktestRecord,
        id=st.text(min_size=1, max_size=8),
        created_at=st.datetimes(),
        strategy=st.text(max_size=8),
        params=STR_MAPPINGS,
        symbol=st.text(max_size=5),
        timeframe=st.sampled_from(["1m", "1h", "1d"]),
        source=st.text(max_size=8),
        synthetic=st.booleans(),
        data_fingerprint=st.text(max_size=8),
        start=st.datetimes(),
        end=st.datetimes(),
        config=STR_MAPPINGS,
        stats=STR_MAPPINGS,
        trades=st.lists(TRADES, max_size=3).map(tuple),
    )
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_codec_backtest_rows_round_trip_exactly(record: BacktestRecord) -> None:
    back = _codec.backtest_from_row(_codec.backtest_row(record), _codec.trade_rows(record))
    assert same(back, record)


@given(
    st.builds(
        Execution,
        id=st.text(min_size=1, max_size=8),
        kind=st.text(max_size=8),
        name=st.text(max_size=8),
        status=st.sampled_from(ExecutionStatus),
        params=STR_MAPPINGS,
        progress=FLOATS,
        message=st.text(max_size=8),
        created_at=st.datetimes(),
        started_at=st.none() | st.datetimes(),
        finished_at=st.none() | st.datetimes(),
        result=st.none() | STR_MAPPINGS,
        error=st.none() | st.text(max_size=8),
    )
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_codec_execution_rows_round_trip_exactly(execution: Execution) -> None:
    assert same(_codec.execution_from_row(_codec.execution_row(execution)), execution)


def test_codec_on_disk_format_is_stable() -> None:
    # Changing these breaks every existing database: add a migration instead.
    stats = {
        "start": dt.datetime(2024, 1, 2),
        "duration": dt.timedelta(days=1, microseconds=500_000),
        "sharpe": math.nan,
        "best": -math.inf,
        "n": 3,
        "ratio": 0.1,
        "band": (1, 2),
        "by_year": {2024: 1.5},
        "$float": "user data",
        "nested": {"$tuple": [1]},
    }
    assert json.loads(_codec.dumps(_codec.encode_tree(stats))) == {
        "start": {"$datetime": "2024-01-02T00:00:00.000000"},
        "duration": {"$timedelta": 86400.5},
        "sharpe": {"$float": "nan"},
        "best": {"$float": "-inf"},
        "n": 3,
        "ratio": 0.1,
        "band": {"$tuple": [1, 2]},
        "by_year": {"$items": [[2024, 1.5]]},
        "$float": "user data",
        "nested": {"$dict": {"$tuple": [1]}},
    }
    trade = _codec.converter.unstructure(make_trade(3), Trade)
    assert trade["pnl"] == "nan" and trade["exit_reason"] == "trailing_stop"
    assert trade["entry_time"] == "2024-03-10T09:30:00.000003"


def test_codec_refuses_what_it_cannot_round_trip() -> None:
    with pytest.raises(TypeError, match=r"cannot store a set at \$\.tags"):
        _codec.encode_tree({"tags": {"a"}})
    with pytest.raises(ValueError, match="not a stored float"):
        _codec.converter.structure("1.5", float)
