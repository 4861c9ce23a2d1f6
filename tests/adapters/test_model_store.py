"""The ModelStore contract (trained models by name), run against both state adapters, plus the
SQLite migration that adds the ``models`` table (schema version 2 → 3)."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.state import SCHEMA_VERSION, InMemoryStateStore, SqliteStateStore, _codec
from adapters.state.migrations import migrate
from gpt_trader_core.domain.records import ModelRecord
from gpt_trader_core.errors import NotFoundError
from gpt_trader_core.ports import ModelStore, StateStore
from tests.adapters.test_state_store import make_execution, make_record, migrated, one_line, same

T0 = dt.datetime(2024, 5, 1, 12, 0)


def make_model(
    name: str = "selector-v1", *, kind: str = "strategy_selector", created_at: dt.datetime = T0
) -> ModelRecord:
    return ModelRecord(
        name=name,
        kind=kind,
        created_at=created_at,
        params={"horizon": 20, "n_splits": 5, "strategies": ["sma_cross", "momentum"], "alpha": 1.0},
        payload={
            "feature_names": ["ret_5", "ret_20", "vol_20"],
            "means": [0.001, -0.0025, 0.1873],
            "stds": [0.02, 0.05, 0.0712],
            "coef": [[0.1, -0.2, 1e-17], [2.5e300, -0.0, 0.3333333333333333]],
            "intercepts": [0.01, -0.02],
            "horizon": 20,
            "trained_on": (dt.datetime(2010, 1, 4), dt.datetime(2024, 4, 30)),
        },
        metrics={
            "oos_mean_return": 0.0042,
            "oos_sharpe": math.nan,
            "best_ratio": math.inf,
            "splits": [{"start": dt.datetime(2015, 1, 2), "hit_rate": 0.31}, {"hit_rate": -math.inf}],
            "elapsed": dt.timedelta(seconds=1.25),
        },
    )


def test_both_adapters_satisfy_the_model_store_port() -> None:
    def takes_model_store(store: ModelStore) -> ModelStore:
        return store

    def takes_state_store(store: StateStore) -> StateStore:
        return store

    for adapter in (SqliteStateStore(":memory:"), InMemoryStateStore()):
        assert takes_model_store(adapter) is adapter and takes_state_store(adapter) is adapter
        for method in ("save_model", "get_model", "list_models"):
            assert callable(getattr(adapter, method))


async def test_model_round_trips_exactly(store: Any) -> None:
    record = make_model()
    await store.save_model(record)
    got = await store.get_model(record.name)
    assert same(got, record)
    assert got.payload["coef"][1][0] == 2.5e300 and math.copysign(1, got.payload["coef"][1][1]) == -1
    assert got.payload["trained_on"] == (dt.datetime(2010, 1, 4), dt.datetime(2024, 4, 30))
    assert math.isnan(got.metrics["oos_sharpe"]) and got.metrics["best_ratio"] == math.inf
    assert got.metrics["elapsed"] == dt.timedelta(seconds=1.25)


async def test_saving_under_an_existing_name_replaces_the_model(store: Any) -> None:
    await store.save_model(make_model("m"))
    replacement = attrs.evolve(
        make_model("m", kind="other", created_at=T0 + dt.timedelta(days=1)),
        payload={"weights": [1.0]},
        metrics={},
    )
    await store.save_model(replacement)
    assert same(await store.get_model("m"), replacement)
    assert [m.name for m in await store.list_models()] == ["m"]


async def test_list_is_newest_first_with_payloads_and_a_kind_filter(store: Any) -> None:
    specs = [("a", "selector", 0), ("b", "regime", 2), ("c", "selector", 1), ("d", "selector", 2), ("e", "x", -1)]
    for name, kind, minutes in specs:
        await store.save_model(make_model(name, kind=kind, created_at=T0 + dt.timedelta(minutes=minutes)))
    listed = await store.list_models()
    assert [m.name for m in listed] == ["d", "b", "c", "a", "e"]  # ties: by name, descending
    assert same(listed[2], make_model("c", kind="selector", created_at=T0 + dt.timedelta(minutes=1)))
    assert [m.name for m in await store.list_models(kind="selector")] == ["d", "c", "a"]
    assert await store.list_models(kind="unknown") == []


async def test_list_orders_sub_second_times_chronologically(store: Any) -> None:
    times = [T0, T0 + dt.timedelta(microseconds=500_000), T0 + dt.timedelta(seconds=1), T0.replace(year=999)]
    for i, created_at in enumerate(times):
        await store.save_model(make_model(f"m{i}", created_at=created_at))
    assert [m.name for m in await store.list_models()] == ["m2", "m1", "m0", "m3"]


async def test_unknown_model_is_a_clear_not_found(store: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.get_model("ghost")
    message = one_line(info.value)
    assert "model 'ghost' not found" in message


async def test_stored_models_cannot_be_mutated_through_callers(store: Any) -> None:
    payload: dict[str, Any] = {"means": [1.0, 2.0]}
    await store.save_model(attrs.evolve(make_model("m"), payload=payload))
    payload["means"].append(3.0)
    got = await store.get_model("m")
    assert got.payload == {"means": [1.0, 2.0]}
    got.payload["means"].append(4.0)
    assert (await store.get_model("m")).payload == {"means": [1.0, 2.0]}


async def test_an_unstorable_payload_is_refused_and_nothing_is_stored(store: Any) -> None:
    with pytest.raises(TypeError, match=r"cannot store a object at \$\.blob"):
        await store.save_model(attrs.evolve(make_model("m"), payload={"blob": object()}))
    with pytest.raises(NotFoundError):
        await store.get_model("m")


async def test_models_survive_close_and_reopen(store: Any) -> None:
    await store.save_model(make_model("m"))
    await store.close()
    with pytest.raises(RuntimeError, match="is not open"):
        await store.get_model("m")
    await store.open()
    assert same(await store.get_model("m"), make_model("m"))


def test_codec_model_row_shape_is_stable() -> None:
    row = _codec.model_row(make_model())
    assert tuple(row) == _codec.MODEL_COLUMNS == ("name", "kind", "created_at", "params", "payload", "metrics")
    assert row["created_at"] == "2024-05-01T12:00:00.000000"
    assert _codec.loads(row["metrics"])["oos_sharpe"] == {"$float": "nan"}
    assert same(_codec.model_from_row(row), make_model())


async def test_sqlite_migrates_a_v2_database_to_v3_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    record, execution = make_record("from-v2", n_trades=3), make_execution("ex-v2")
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=2) == 2

    def insert(table: str, row: dict[str, Any]) -> None:
        columns = ", ".join(f'"{name}"' for name in row)
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", [*row.values()])

    insert("backtests", _codec.backtest_row(record))
    for trade in _codec.trade_rows(record):
        insert("backtest_trades", {"backtest_id": record.id, **trade})
    insert("executions", _codec.execution_row(execution))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "models" not in tables
    conn.close()

    store = SqliteStateStore(path)
    await store.open()
    try:
        assert SCHEMA_VERSION >= 3 and await store.schema_version() == SCHEMA_VERSION
        assert same(await store.get_backtest("from-v2"), migrated(record))  # migration 7: return_pct in %
        assert same(await store.get_execution("ex-v2"), execution)
        await store.save_model(make_model())
        assert same(await store.get_model("selector-v1"), make_model())
    finally:
        await store.close()

    with sqlite3.connect(path) as check:
        indexes = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(
            str(r[-1])
            for r in check.execute(
                "EXPLAIN QUERY PLAN SELECT name FROM models WHERE kind = ? ORDER BY created_at DESC, name DESC",
                ("x",),
            )
        )
    assert {"models_created", "models_kind_created"} <= indexes
    assert "models_kind_created" in plan
    await store.open()  # re-opening an up-to-date database changes nothing
    assert await store.schema_version() == SCHEMA_VERSION
    assert [m.name for m in await store.list_models()] == ["selector-v1"]
    await store.close()
