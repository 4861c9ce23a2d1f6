"""The StudyStore contract (optimisation studies and their finished trials), run against both state
adapters (SQLite on a real file, and memory), plus the study/trial codec and the SQLite migration that
adds the ``studies`` and ``study_trials`` tables (schema version 3 → 4)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.state import SCHEMA_VERSION, InMemoryStateStore, SqliteStateStore, _codec
from adapters.state.migrations import migrate
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.domain.records import ExecutionStatus, StudyRecord, TrialRecord
from gpt_trader_core.errors import InvalidParameterError, NotFoundError
from gpt_trader_core.ports import StudyStore
from tests.adapters.test_model_store import make_model
from tests.adapters.test_state_store import FLOATS, STR_MAPPINGS, make_execution, make_record, migrated, one_line, same

T0 = dt.datetime(2024, 6, 3, 8, 15)


def make_study(
    study_id: str = "study-1", *, created_at: dt.datetime = T0, status: ExecutionStatus = ExecutionStatus.RUNNING
) -> StudyRecord:
    """A study as ``Optimizer.run`` saves it: still running, nothing best yet, open-ended start."""
    return StudyRecord(
        id=study_id,
        created_at=created_at,
        strategy="sma_cross",
        symbol="AAPL",
        timeframe="1d",
        start=None,
        end=dt.datetime(2024, 5, 31),
        method="bayes",
        objective="sharpe_ratio",
        maximize=True,
        space={"fast": [5, 10, 15, 20], "slow": [30, 50, 100], "stop": [0.01, 0.025, 0.05], "band": [0.5, -0.0]},
        fixed={"use_trailing": False, "label": "v2", "weight": 1e-300},
        config=attrs.asdict(BacktestConfig(cash=25_000.0, commission=0.001, mode="long_only")),
        n_trials=None,
        seed=42,
        total=36,
        status=status,
    )


def finished(study: StudyRecord) -> StudyRecord:
    """The same study once the search ended: every optional field set."""
    return attrs.evolve(
        study,
        status=ExecutionStatus.FAILED,
        n_trials=24,
        start=dt.datetime(2015, 1, 2, 0, 0, 0, 1),
        best_params={"fast": 10, "slow": 50, "stop": 0.025, "band": (0.5, 1.5)},
        best_value=1.8372910938475612,
        finished_at=T0 + dt.timedelta(minutes=7, microseconds=3),
        error="ValueError: data source went away",
    )


def make_stats(number: int) -> dict[str, Any]:
    return {
        "start": dt.datetime(2015, 1, 2),
        "end": dt.datetime(2024, 5, 31),
        "duration": dt.timedelta(days=3437),
        "return_pct": 12.5 + number / 7,
        "sharpe_ratio": math.nan if number % 3 == 0 else 0.1 * number,
        "profit_factor": math.inf,
        "calmar_ratio": -math.inf,
        "max_drawdown_duration": dt.timedelta(days=41, hours=3, microseconds=number),
        "avg_trade_duration": None,
        "num_trades": number,
        "beta": -0.0,
    }


def make_trial(number: int, *, value: float | None = None) -> TrialRecord:
    return TrialRecord(
        number=number,
        params={"fast": 5 + number, "slow": 30, "stop": 0.025, "band": (0.5, 1.5)},
        stats=make_stats(number),
        value=(math.nan if number % 3 == 0 else 0.1 * number) if value is None else value,
    )


def trials(numbers: Sequence[int]) -> list[TrialRecord]:
    return [make_trial(number) for number in numbers]


# -- the contract ------------------------------------------------------------------------------------


def test_both_adapters_satisfy_the_study_store_port() -> None:
    def takes_study_store(store: StudyStore) -> StudyStore:
        return store

    for adapter in (SqliteStateStore(":memory:"), InMemoryStateStore()):
        assert takes_study_store(adapter) is adapter
        for method in ("save_study", "get_study", "list_studies", "add_trials", "list_trials"):
            assert callable(getattr(adapter, method))


async def test_study_and_trials_round_trip_exactly(store: Any) -> None:
    study = make_study()
    await store.save_study(study)
    got = await store.get_study(study.id)
    assert same(got, study)
    assert got.status is ExecutionStatus.RUNNING and got.maximize is True
    assert got.start is None and got.n_trials is None and got.best_params is None and got.best_value is None
    assert got.space["stop"] == [0.01, 0.025, 0.05] and math.copysign(1, got.space["band"][1]) == -1
    assert got.config == attrs.asdict(BacktestConfig(cash=25_000.0, commission=0.001, mode="long_only"))
    assert BacktestConfig(**got.config) == BacktestConfig(cash=25_000.0, commission=0.001, mode="long_only")

    batch = trials(range(6))
    await store.add_trials(study.id, batch)
    listed = await store.list_trials(study.id)
    assert same(listed, batch)
    assert math.isnan(listed[0].value) and math.isnan(listed[3].stats["sharpe_ratio"])
    assert listed[1].stats["profit_factor"] == math.inf and listed[1].stats["calmar_ratio"] == -math.inf
    assert listed[5].stats["max_drawdown_duration"] == dt.timedelta(days=41, hours=3, microseconds=5)
    assert isinstance(listed[2].stats["start"], dt.datetime) and listed[2].params["band"] == (0.5, 1.5)

    done = finished(study)
    await store.save_study(done)
    got = await store.get_study(study.id)
    assert same(got, done) and got.status is ExecutionStatus.FAILED


async def test_non_finite_and_extreme_values_round_trip(store: Any) -> None:
    values = [math.nan, math.inf, -math.inf, 0.0, 5e-324, -1.7976931348623157e308, 1 / 3]
    for i, value in enumerate(values):
        study = attrs.evolve(finished(make_study(f"s{i}")), best_value=value)
        await store.save_study(study)
        assert same(await store.get_study(study.id), study)
    await store.add_trials("s0", [make_trial(i, value=value) for i, value in enumerate(values)])
    assert same([t.value for t in await store.list_trials("s0")], values)


async def test_a_negative_zero_value_reads_back_as_zero_in_both_adapters(store: Any) -> None:
    # SQLite's REAL columns cannot keep the sign of a zero; the memory store agrees (-0.0 == 0.0).
    await store.save_study(attrs.evolve(make_study("s"), best_value=-0.0))
    await store.add_trials("s", [make_trial(0, value=-0.0)])
    assert same((await store.get_study("s")).best_value, 0.0)
    assert same((await store.list_trials("s"))[0].value, 0.0)


async def test_save_study_upserts_and_keeps_the_studys_trials(store: Any) -> None:
    study = make_study()
    await store.save_study(study)
    await store.add_trials(study.id, trials(range(4)))
    done = attrs.evolve(finished(study), status=ExecutionStatus.SUCCEEDED, error=None)
    await store.save_study(done)
    assert same(await store.get_study(study.id), done)
    assert [s.id for s in await store.list_studies()] == [study.id]
    assert same(await store.list_trials(study.id), trials(range(4)))  # replacing a study keeps its trials
    resumed = attrs.evolve(done, status=ExecutionStatus.RUNNING, finished_at=None)  # what resume() saves
    await store.save_study(resumed)
    assert same(await store.get_study(study.id), resumed)
    assert len(await store.list_trials(study.id)) == 4


async def test_add_trials_is_idempotent_per_number_and_keeps_the_first(store: Any) -> None:
    await store.save_study(make_study("s"))
    await store.save_study(make_study("other"))
    await store.add_trials("s", trials([0, 1]))
    retry = [make_trial(1, value=99.0), make_trial(2)]  # a retried batch overlapping the stored one
    await store.add_trials("s", retry)
    await store.add_trials("s", [make_trial(3), make_trial(3, value=-1.0)])  # a duplicate within a batch
    await store.add_trials("s", [])
    await store.add_trials("s", trials([0, 1]))  # the same batch again changes nothing
    assert same(await store.list_trials("s"), trials([0, 1, 2, 3]))
    await store.add_trials("other", [make_trial(1, value=7.0)])  # numbers are per study
    assert same(await store.list_trials("other"), [make_trial(1, value=7.0)])
    assert same(await store.list_trials("s"), trials([0, 1, 2, 3]))


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (
            attrs.evolve(make_trial(7), stats={"ok": 1.0, "blob": object()}),
            TypeError,
            r"cannot store a object at \$\.blob",
        ),
        (attrs.evolve(make_trial(7), params={"grid": {1, 2}}), TypeError, r"cannot store a set at \$\.grid"),
        (attrs.evolve(make_trial(7), value=None), TypeError, None),  # type: ignore[arg-type]
        (attrs.evolve(make_trial(7), number=7.0), TypeError, r"trials\[2\]\.number=7\.0: expected an integer"),  # type: ignore[arg-type]
        (attrs.evolve(make_trial(7), number=True), TypeError, "not a bool"),
        (attrs.evolve(make_trial(7), number=2**63), ValueError, "outside the 64-bit integer range"),
        ({"number": 7, "params": {}, "stats": {}, "value": 1.0}, TypeError, r"trials\[2\]: expected a TrialRecord"),
    ],
    ids=["stats-object", "params-set", "value-none", "number-float", "number-bool", "number-huge", "not-a-record"],
)
async def test_add_trials_is_all_or_none_when_a_trial_cannot_be_stored(
    store: Any, bad: Any, error: type[Exception], match: str | None
) -> None:
    await store.save_study(make_study("s"))
    await store.add_trials("s", trials([0]))
    with pytest.raises(error, match=match):
        await store.add_trials("s", [make_trial(1), make_trial(2), bad, make_trial(3)])
    assert same(await store.list_trials("s"), trials([0]))
    await store.add_trials("s", trials([1, 2, 3]))  # the store still works, the numbers are free
    assert [t.number for t in await store.list_trials("s")] == [0, 1, 2, 3]


async def test_a_numpy_integer_number_is_stored_as_an_int(store: Any) -> None:
    np = pytest.importorskip("numpy")
    await store.save_study(make_study("s"))
    await store.add_trials("s", [attrs.evolve(make_trial(4), number=np.int64(4), value=np.float64(0.5))])
    (got,) = await store.list_trials("s")
    assert type(got.number) is int and got.number == 4 and type(got.value) is float and got.value == 0.5


async def test_sqlite_add_trials_rolls_back_a_batch_that_fails_inside_the_transaction(
    sqlite_store: SqliteStateStore,
) -> None:
    await sqlite_store.save_study(make_study("s"))
    await sqlite_store.add_trials("s", trials([0]))

    def trigger(sql: str) -> Any:
        return lambda conn: conn.execute(sql)

    # Fails the 4th INSERT of the batch, after 3 rows were written inside the transaction.
    await sqlite_store._call(
        trigger(
            "CREATE TRIGGER boom BEFORE INSERT ON study_trials WHEN NEW.number = 4 "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    )
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        await sqlite_store.add_trials("s", trials([1, 2, 3, 4, 5]))
    assert [t.number for t in await sqlite_store.list_trials("s")] == [0]
    await sqlite_store._call(trigger("DROP TRIGGER boom"))
    await sqlite_store.add_trials("s", trials([1, 2, 3, 4, 5]))
    assert same(await sqlite_store.list_trials("s"), trials(range(6)))


async def test_list_trials_is_by_number_whatever_the_insertion_order(store: Any) -> None:
    await store.save_study(make_study("s"))
    for batch in ([5, 1], [12, 3, 0], [4, 2, 100, 10]):
        await store.add_trials("s", trials(batch))
    assert [t.number for t in await store.list_trials("s")] == [0, 1, 2, 3, 4, 5, 10, 12, 100]
    await store.save_study(make_study("empty"))
    assert await store.list_trials("empty") == []


async def test_concurrent_batches_all_land_once(store: Any) -> None:
    await store.save_study(make_study("s"))
    # 20 overlapping batches (a worker retrying, another persisting) race; every number lands once.
    batches = [trials(range(start, start + 10)) for start in range(0, 100, 5)]
    await asyncio.gather(*(store.add_trials("s", batch) for batch in batches))
    assert same(await store.list_trials("s"), trials(range(105)))


async def test_list_studies_is_newest_first_then_by_id_with_a_limit(store: Any) -> None:
    for study_id, minutes in [("a", 0), ("b", 2), ("c", 1), ("d", 2), ("e", -1)]:
        await store.save_study(make_study(study_id, created_at=T0 + dt.timedelta(minutes=minutes)))
    listed = await store.list_studies()
    assert [s.id for s in listed] == ["d", "b", "c", "a", "e"]
    assert same(listed[2], make_study("c", created_at=T0 + dt.timedelta(minutes=1)))
    assert [s.id for s in await store.list_studies(limit=2)] == ["d", "b"]
    assert await store.list_studies(limit=0) == []
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(InvalidParameterError, match="limit must be an integer >= 0"):
            await store.list_studies(limit=bad)


async def test_list_studies_orders_sub_second_times_chronologically_and_defaults_to_50(store: Any) -> None:
    times = [T0, T0 + dt.timedelta(microseconds=500_000), T0 + dt.timedelta(seconds=1), T0.replace(year=999)]
    for i, created_at in enumerate(times):
        await store.save_study(make_study(f"s{i}", created_at=created_at))
    assert [s.id for s in await store.list_studies()] == ["s2", "s1", "s0", "s3"]
    for i in range(50):
        await store.save_study(make_study(f"new{i:02d}", created_at=T0 + dt.timedelta(days=1, seconds=i)))
    listed = await store.list_studies()
    assert len(listed) == 50 and listed[0].id == "new49" and listed[-1].id == "new00"


async def test_unknown_studies_are_clear_not_founds(store: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.get_study("ghost")
    assert "study 'ghost' not found" in one_line(info.value)
    with pytest.raises(NotFoundError) as info:
        await store.add_trials("ghost", trials([0, 1]))
    message = one_line(info.value)
    assert "study 'ghost' not found" in message and "save_study" in message
    with pytest.raises(NotFoundError, match="study 'ghost' not found"):
        await store.add_trials("ghost", [])
    with pytest.raises(NotFoundError, match="study 'ghost' not found"):
        await store.list_trials("ghost")
    with pytest.raises(NotFoundError):
        await store.get_study("ghost")  # the refused trials created nothing
    assert await store.list_studies() == []


async def test_stored_studies_cannot_be_mutated_through_callers(store: Any) -> None:
    space: dict[str, Any] = {"fast": [5, 10]}
    stats: dict[str, Any] = {"runs": [1, 2]}
    await store.save_study(attrs.evolve(make_study("s"), space=space))
    await store.add_trials("s", [attrs.evolve(make_trial(0), stats=stats)])
    space["fast"].append(15)
    stats["runs"].append(3)
    got, (trial,) = await store.get_study("s"), await store.list_trials("s")
    assert got.space == {"fast": [5, 10]} and trial.stats == {"runs": [1, 2]}
    got.space["fast"].append(20)
    trial.stats["runs"].append(4)
    assert (await store.get_study("s")).space == {"fast": [5, 10]}
    assert (await store.list_trials("s"))[0].stats == {"runs": [1, 2]}


async def test_an_unstorable_study_is_refused_and_nothing_is_stored(store: Any) -> None:
    with pytest.raises(TypeError, match=r"cannot store a object at \$\.fast\[1\]"):
        await store.save_study(attrs.evolve(make_study("s"), space={"fast": [5, object()]}))
    with pytest.raises(ValueError, match=r"seed=.*outside the 64-bit integer range"):
        await store.save_study(attrs.evolve(make_study("s"), seed=2**64))
    with pytest.raises(NotFoundError):
        await store.get_study("s")


async def test_studies_and_trials_survive_close_and_reopen(store: Any) -> None:
    await store.save_study(make_study("s"))
    await store.add_trials("s", trials(range(3)))
    await store.close()
    with pytest.raises(RuntimeError, match="is not open"):
        await store.add_trials("s", trials([3]))
    with pytest.raises(RuntimeError, match="is not open"):
        await store.list_studies()
    await store.open()
    assert same(await store.get_study("s"), make_study("s"))
    assert same(await store.list_trials("s"), trials(range(3)))


# -- the codec ---------------------------------------------------------------------------------------


def test_codec_study_and_trial_rows_have_a_stable_shape() -> None:
    row = _codec.study_row(attrs.evolve(finished(make_study()), best_value=math.nan))
    assert tuple(row) == _codec.STUDY_COLUMNS
    assert row["created_at"] == "2024-06-03T08:15:00.000000" and row["start"] == "2015-01-02T00:00:00.000001"
    assert row["maximize"] == 1 and row["status"] == "failed" and row["best_value"] == "nan"
    assert _codec.loads(row["best_params"])["band"] == {"$tuple": [0.5, 1.5]}
    (trial,) = _codec.trial_rows([make_trial(0)])
    assert tuple(trial) == _codec.TRIAL_COLUMNS == ("number", "params", "stats", "value")
    assert trial["value"] == "nan" and _codec.loads(trial["stats"])["sharpe_ratio"] == {"$float": "nan"}
    assert same(_codec.trial_from_row(trial), make_trial(0))


async def test_sqlite_keeps_nan_values_as_text_not_null(sqlite_store: SqliteStateStore) -> None:
    await sqlite_store.save_study(attrs.evolve(make_study("s"), best_value=math.nan))
    await sqlite_store.add_trials("s", [make_trial(0), make_trial(1), make_trial(2, value=math.inf)])

    def types(conn: sqlite3.Connection) -> tuple[Any, ...]:
        values = conn.execute("SELECT value, typeof(value) FROM study_trials ORDER BY number").fetchall()
        best = conn.execute("SELECT best_value, typeof(best_value) FROM studies").fetchone()
        return tuple(tuple(r) for r in values), tuple(best)

    assert await sqlite_store._call(types) == (
        (("nan", "text"), (0.1, "real"), ("inf", "text")),
        ("nan", "text"),
    )


def signless_zero(value: float) -> float:
    """What a REAL column gives back: -0.0 becomes 0.0 (in both adapters, see ``_codec._real``)."""
    return 0.0 if value == 0.0 else value


STATUSES = st.sampled_from(ExecutionStatus)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(
    st.builds(
        StudyRecord,
        id=st.text(min_size=1, max_size=8),
        created_at=st.datetimes(),
        strategy=st.text(max_size=8),
        symbol=st.text(max_size=5),
        timeframe=st.sampled_from(["1m", "1h", "1d"]),
        start=st.none() | st.datetimes(),
        end=st.none() | st.datetimes(),
        method=st.sampled_from(["grid", "random", "bayes"]),
        objective=st.text(max_size=8),
        maximize=st.booleans(),
        space=STR_MAPPINGS,
        fixed=STR_MAPPINGS,
        config=STR_MAPPINGS,
        n_trials=st.none() | INT64,
        seed=INT64,
        total=INT64,
        status=STATUSES,
        best_params=st.none() | STR_MAPPINGS,
        best_value=st.none() | FLOATS,
        finished_at=st.none() | st.datetimes(),
        error=st.none() | st.text(max_size=8),
    )
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_codec_study_rows_round_trip_exactly(study: StudyRecord) -> None:
    expected = attrs.evolve(study, best_value=None if study.best_value is None else signless_zero(study.best_value))
    assert same(_codec.study_from_row(_codec.study_row(study)), expected)


@given(
    st.lists(st.builds(TrialRecord, number=INT64, params=STR_MAPPINGS, stats=STR_MAPPINGS, value=FLOATS), max_size=3)
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
def test_codec_trial_rows_round_trip_exactly(batch: list[TrialRecord]) -> None:
    back = [_codec.trial_from_row(row) for row in _codec.trial_rows(batch)]
    assert same(back, [attrs.evolve(trial, value=signless_zero(trial.value)) for trial in batch])


# -- SQLite only: the migration ----------------------------------------------------------------------


async def test_sqlite_migrates_a_v3_database_to_v4_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    record, execution, model = make_record("from-v3", n_trades=3), make_execution("ex-v3"), make_model("m-v3")
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=3) == 3

    def insert(table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(f'"{name}"' for name in row)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", [*row.values()])

    insert("backtests", _codec.backtest_row(record))
    for trade in _codec.trade_rows(record):
        insert("backtest_trades", {"backtest_id": record.id, **trade})
    insert("executions", _codec.execution_row(execution))
    insert("models", _codec.model_row(model))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "models" in tables and not {"studies", "study_trials"} & tables
    conn.close()

    store = SqliteStateStore(path)
    await store.open()
    try:
        assert SCHEMA_VERSION >= 4 and await store.schema_version() == SCHEMA_VERSION
        assert same(await store.get_backtest("from-v3"), migrated(record))  # migration 7: return_pct in %
        assert same(await store.get_execution("ex-v3"), execution)
        assert same(await store.get_model("m-v3"), model)
        await store.save_study(make_study("s"))
        await store.add_trials("s", trials(range(3)))
        assert same(await store.list_trials("s"), trials(range(3)))
    finally:
        await store.close()

    with sqlite3.connect(path) as check:
        indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plans = [
            " ".join(str(r[-1]) for r in check.execute(f"EXPLAIN QUERY PLAN {sql}", args))
            for sql, args in [
                ("SELECT id FROM studies ORDER BY created_at DESC, id DESC LIMIT ?", (50,)),
                ("SELECT number FROM study_trials WHERE study_id = ? ORDER BY number", ("s",)),
            ]
        ]
        check.execute("PRAGMA foreign_keys = ON")
        check.execute("DELETE FROM studies WHERE id = 's'")
        orphans = check.execute("SELECT count(*) FROM study_trials").fetchone()[0]
    assert "studies_created" in indexes
    assert "studies_created" in plans[0] and "TEMP B-TREE" not in plans[0]
    assert "sqlite_autoindex_study_trials_1" in plans[1] and "TEMP B-TREE" not in plans[1]
    assert orphans == 0  # deleting a study deletes its trials (ON DELETE CASCADE)

    await store.open()  # re-opening an up-to-date database changes nothing
    assert await store.schema_version() == SCHEMA_VERSION
    assert [m.name for m in await store.list_models()] == ["m-v3"]
    await store.close()
