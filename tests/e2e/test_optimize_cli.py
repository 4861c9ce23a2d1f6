"""`gpt-trader optimize` end to end, including a study killed with SIGKILL and resumed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gpt_trader_core as gt
from tests.e2e.conftest import GPT_TRADER

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_grid_ranking_json(cli: Cli, tmp_path: Path) -> None:
    proc = cli(
        "optimize",
        "-s",
        "sma_cross",
        "--space",
        "fast=5:25:5",
        "--space",
        "slow=10:65:5",
        "--format",
        "json",
        "--executor",
        "inline",
        "--set",
        f"state.url=sqlite:///{tmp_path / 's.db'}",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["trials"] == data["total"] == 50 and data["synthetic"] is True
    expected = gt.optimize(
        gt.synthetic("AAPL", "2015-01-01", "2024-12-31"), "sma_cross", fast=range(5, 30, 5), slow=range(10, 70, 5)
    )
    assert data["best_params"] == expected.best_params
    assert data["ranking"][0]["sharpe_ratio"] == expected.best.value


def test_table_output_with_progress_and_walk_forward(cli: Cli, tmp_path: Path) -> None:
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    proc = cli("optimize", "-s", "breakout", "--space", "lookback=10:60:10", "--executor", "inline", "--set", db)
    assert proc.returncode == 0, proc.stderr
    assert "best:" in proc.stdout and "SYNTHETIC" in proc.stdout and "study_" in proc.stdout
    grid = cli(
        "optimize",
        "-s",
        "sma_cross",
        "--space",
        "fast=5:15:5",
        "--space",
        "slow=20:40:10",
        "--executor",
        "inline",
        "--set",
        db,
    )
    assert "slow \\ fast" in grid.stdout and "best per cell" in grid.stdout
    wf = cli(
        "optimize",
        "-s",
        "breakout",
        "--space",
        "lookback=10:60:10",
        "--method",
        "walk-forward",
        "--windows",
        "4",
        "--executor",
        "inline",
        "--set",
        db,
    )
    assert wf.returncode == 0, wf.stderr
    assert "4 rolling windows" in wf.stdout and "out-of-sample" in wf.stdout


def test_bad_optimize_input(cli: Cli) -> None:
    for args, message in [
        (("-s", "sma_cross", "--space", "fast"), "--space expects"),
        (("-s", "sma_cross", "--space", "fast=5:1:1"), "needs step > 0 and stop >= start"),
        (("-s", "sma_cross", "--metric", "happiness"), "unknown objective 'happiness'"),
        (("-s", "sma_cross", "--method", "annealing"), "--method must be"),
        (("--resume", "study_nope"), "study_nope"),
        ((), "--strategy is required"),
    ]:
        proc = cli("optimize", "--executor", "inline", *args)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def _count_trials(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("select count(*) from study_trials").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_killed_study_resumes_without_recomputing(cli: Cli, tmp_path: Path, isolated_env: dict[str, str]) -> None:
    db = tmp_path / "state.db"
    args = [
        "optimize",
        "-s",
        "sma_cross",
        "--space",
        "fast=2:60:1",
        "--space",
        "slow=10:200:5",
        "--executor",
        "inline",
        "--set",
        f"state.url=sqlite:///{db}",
        "--format",
        "json",
    ]
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, *args], cwd=tmp_path, env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while _count_trials(db) < 300 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _count_trials(db)
    assert 300 <= finished < 1880, finished
    with sqlite3.connect(db) as conn:
        (study_id,) = conn.execute("select id from studies").fetchone()
        before = dict(conn.execute("select number, value from study_trials").fetchall())

    resumed = cli(
        "optimize",
        "--resume",
        study_id,
        "--executor",
        "inline",
        "--set",
        f"state.url=sqlite:///{db}",
        "--format",
        "json",
    )
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["study_id"] == study_id and data["trials"] == data["total"]
    assert data["resumed"] == finished and data["evaluated"] == data["total"] - finished
    with sqlite3.connect(db) as conn:
        after = dict(conn.execute("select number, value from study_trials").fetchall())
        status = conn.execute("select status from studies").fetchone()[0]
    assert status == "succeeded" and len(after) == data["total"]
    assert all(after[n] == v for n, v in before.items())  # finished trials kept, not rewritten
    fresh = gt.optimize(
        gt.synthetic("AAPL", "2015-01-01", "2024-12-31"), "sma_cross", fast=range(2, 61), slow=range(10, 201, 5)
    )
    assert data["best_params"] == fresh.best_params and data["best_value"] == fresh.best.value
