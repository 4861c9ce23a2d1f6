"""`gpt-trader optimize` regressions of issue 11 through the real CLI: Ctrl-C with every executor,
refused options, the size guard, terminal-wide heatmaps, and the studies / backtests commands."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER

Cli = Callable[..., subprocess.CompletedProcess[str]]
BIG_SPACE = ("--space", "lookback=2:250:1", "--space", "threshold=0:0.2:0.001")  # 50,049 trials


def _trials(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM study_trials").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("executor", ["inline", "local", "dask"])
def test_ctrl_c_prints_the_study_and_the_resume_command(
    executor: str, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    if executor == "dask":
        pytest.importorskip("distributed")
    db = tmp_path / "s.db"
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "optimize", "-s", "momentum", *BIG_SPACE, "--executor", executor,
         "--set", f"state.url=sqlite:///{db}", "--set", "executor.workers=2"],
        cwd=tmp_path, env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: the signal reaches workers too, as Ctrl-C does
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _trials(db) == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert _trials(db) > 0, proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1 and lines[0].startswith("interrupted: study study_"), err
    study_id = lines[0].split()[2]
    assert lines[0].endswith(f"resume with: gpt-trader optimize --resume {study_id}")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    with sqlite3.connect(db) as conn:
        status = conn.execute("SELECT status FROM studies WHERE id = ?", (study_id,)).fetchone()[0]
    assert status == "cancelled"


def test_ctrl_c_stops_a_walk_forward_with_one_line(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    # The first Ctrl-C cancels through the token (the chunks running finish, queued ones are dropped).
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    proc = subprocess.Popen(
        [*command, "optimize", "-s", "momentum", *BIG_SPACE, "--method", "walk-forward", "--executor", "local",
         "--set", "executor.workers=2"],
        cwd=tmp_path, env=isolated_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(4)  # 50,049 sets × 5 windows: minutes of work, well under way by now
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        signalled = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        stopped_after = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert lines == ["interrupted: walk-forward stopped; nothing was saved"], err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert stopped_after < 30, stopped_after


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--method", "random", "--trials", "0"), "whole number >= 1"),
        (("--method", "random", "--trials=-5"), "whole number >= 1"),
        (("--trials", "10"), "random and bayes"),
        (("--method", "walk-forward", "--windows", "0"), "--windows must be a whole number >= 1"),
        (("--method", "walk-forward", "--windows", "1000"), "cannot fit 1000 walk-forward windows"),
        (("--executor", "bogus"), "--executor must be one of inline, local, dask"),
    ],
)
def test_bad_options_are_refused_with_the_reason(cli: Cli, args: tuple[str, ...], reason: str) -> None:
    proc = cli("optimize", "-s", "breakout", "--executor", "inline", *args)
    assert proc.returncode != 0 and reason in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_more_trials_than_the_space_says_why(cli: Cli, tmp_path: Path) -> None:
    proc = cli("optimize", "-s", "breakout", "--method", "random", "--trials", "60", "--executor", "inline",
               "--set", f"state.url=sqlite:///{tmp_path / 's.db'}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "60 trials asked but the space has only 50 valid points" in proc.stdout
    assert "50/50 trials" in proc.stdout


def test_a_huge_grid_is_refused_with_its_size_and_the_way_on(cli: Cli) -> None:
    proc = cli("optimize", "-s", "momentum", "--space", "lookback=2:250:1", "--space", "threshold=0:0.5:0.0001",
               "--executor", "inline")  # fmt: skip
    assert proc.returncode != 0
    assert "1,245,249 trials, above the limit of 100,000" in proc.stderr and "--yes" in proc.stderr


def test_heatmap_fits_the_terminal(cli: Cli, tmp_path: Path) -> None:
    proc = cli("optimize", "-s", "sma_cross", "--space", "fast=2:60:2", "--space", "slow=62:200:2",
               "--executor", "inline", "--set", f"state.url=sqlite:///{tmp_path / 's.db'}",
               env={"COLUMNS": "100"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    heat = proc.stdout[proc.stdout.index("best per cell") :]
    assert "ranges merged" in proc.stdout and max(len(line) for line in heat.splitlines()) <= 100


def test_studies_and_backtests_commands(cli: Cli, tmp_path: Path) -> None:
    db = ("--set", f"state.url=sqlite:///{tmp_path / 's.db'}")
    assert (
        cli("optimize", "-s", "breakout", "--space", "lookback=10:30:10", "--executor", "inline", *db).returncode == 0
    )
    listed = json.loads(cli("studies", "list", "--format", "json", *db).stdout)
    assert len(listed) == 1 and listed[0]["total"] == 3
    study_id = listed[0]["id"]
    shown = cli("studies", "show", study_id, *db)
    assert shown.returncode == 0 and "3/3 trials" in shown.stdout and "lookback" in shown.stdout
    assert cli("studies", "delete", study_id, *db).returncode == 0
    assert json.loads(cli("studies", "list", "--format", "json", *db).stdout) == []
    missing = cli("studies", "delete", study_id, *db)
    assert missing.returncode != 0 and "not found" in missing.stderr
    assert cli("backtest", "-s", "sma_cross", *db).returncode == 0
    dry = cli("backtests", "prune", "--keep", "0", "--dry-run", *db)
    assert "would delete 1 saved backtests; 0 kept" in dry.stdout
    assert "deleted 1 saved backtests; 0 kept" in cli("backtests", "prune", "--keep", "0", *db).stdout
    bad = cli("backtests", "prune", "--older-than", "soon", *db)
    assert bad.returncode != 0 and "30d" in bad.stderr


def test_the_guard_is_a_setting(cli: Cli, tmp_path: Path) -> None:
    db = ("--set", f"state.url=sqlite:///{tmp_path / 's.db'}")
    grid = ("optimize", "-s", "breakout", "--space", "lookback=10:60:10", "--executor", "inline", *db)
    refused = cli(*grid, "--set", "optimize.max_trials=5")
    assert refused.returncode != 0 and "6 trials, above the limit of 5" in refused.stderr
    assert cli(*grid, "--set", "optimize.max_trials=5", "--yes").returncode == 0
    assert cli(*grid, "--set", "optimize.max_trials=0").returncode == 0
