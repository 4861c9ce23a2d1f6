"""SIGKILL a process mid-write, three times on one file: no acknowledged write is lost, nothing is
half-written, the file stays intact and the store keeps working.

(A process kill does not drop the OS page cache, so this proves atomicity and acknowledgement order,
not fsync-on-commit; ``synchronous=FULL`` covers power loss and is checked in test_state_store.)
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import os
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from adapters.state import SqliteStateStore

HERE = Path(__file__).resolve().parent
WRITER = HERE / "_state_writer.py"
REPO = HERE.parents[1]


def _load_writer() -> ModuleType:
    # By path: works whether or not tests/ is a package.
    spec = importlib.util.spec_from_file_location("_state_writer", WRITER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


writer = _load_writer()


async def _run_and_kill(path: Path, prefix: str, acknowledged_before_kill: int) -> list[tuple[str, int]]:
    """Start a writer, let it acknowledge some writes, SIGKILL it; return every acknowledged write."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(WRITER), str(path), prefix,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[bytes] = []
    try:
        async with asyncio.timeout(5):
            while len(lines) < acknowledged_before_kill:
                line = await proc.stdout.readline()
                if not line:
                    stderr = (await proc.stderr.read()).decode(errors="replace")
                    raise AssertionError(f"writer exited early ({await proc.wait()}):\n{stderr}")
                lines.append(line)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: no cleanup, no close(), possibly mid-transaction
        await proc.wait()
    assert proc.returncode == -9
    # Lines already in the pipe were acknowledged too; a torn last line (no newline) was not printed whole.
    lines += (await proc.stdout.read()).splitlines(keepends=True)
    acknowledged = []
    for line in lines:
        if line.endswith(b"\n"):
            kind, line_prefix, i = line.decode().split()
            acknowledged.append((kind, int(i)))
            assert line_prefix == prefix
    return acknowledged


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "durable" / "state.db"
    survivors: list[tuple[str, str, int]] = []
    for round_no, kill_after in enumerate((30, 75, 140)):
        prefix = f"r{round_no}"
        survivors += [(kind, prefix, i) for kind, i in await _run_and_kill(path, prefix, kill_after)]
        assert len(survivors) >= kill_after

        with sqlite3.connect(path) as conn:  # before any store runs on it (WAL recovery by a reader)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

        store = SqliteStateStore(path)
        await store.open()
        try:
            for kind, prefix_, i in survivors:  # every acknowledged write of every round, intact
                if kind == "E":
                    expected = writer.execution_for(prefix_, i)
                    assert _same_with_nan(await store.get_execution(expected.id), expected)
                else:
                    expected = writer.backtest_for(prefix_, i)
                    assert _same_with_nan(await store.get_backtest(expected.id), expected)
            # Atomic: a backtest is there with all its trades, or not at all (even unacknowledged ones).
            for listed in await store.list_backtests(limit=10_000):
                assert len((await store.get_backtest(listed.id)).trades) == writer.TRADES
            after = writer.execution_for(f"after-{round_no}", 1)
            await store.add_execution(after)
            assert _same_with_nan(await store.get_execution(after.id), after)
        finally:
            await store.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _same_with_nan(a: object, b: object) -> bool:
    """Equality where NaN == NaN (stored records carry NaN stats)."""
    return _normalise(a) == _normalise(b)


def _normalise(value: Any) -> object:
    if attrs.has(type(value)):
        return (type(value), tuple(_normalise(getattr(value, f.name)) for f in attrs.fields(type(value))))
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_normalise(v) for v in value)
    return value
