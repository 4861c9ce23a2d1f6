"""Issue 11.1/11.2 end to end: a session resumes on exactly the data it started on (or refuses, saying
why), `--speed` applies on resume, a session that fails to start is marked failed, and a killed
session shows as interrupted."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import gpt_trader_core as gt
from tests.e2e.test_run_cli import COMMAND

Cli = Callable[..., subprocess.CompletedProcess[str]]


def write_csv(directory: Path, symbol: str, seed: int, start: str = "2015-01-01", end: str = "2020-12-31") -> int:
    """A CSV of (synthetic-generated, but read back as a file) daily bars; returns its bar count."""
    bars = gt.synthetic(symbol, start, end, seed=seed)
    directory.mkdir(exist_ok=True)
    lines = ["date,open,high,low,close,volume"]
    for i in range(len(bars)):
        day = str(bars.timestamps[i].astype("datetime64[D]"))
        lines.append(
            f"{day},{bars.open[i]:.6f},{bars.high[i]:.6f},{bars.low[i]:.6f},{bars.close[i]:.6f},{bars.volume[i]:.0f}"
        )
    (directory / f"{symbol}.csv").write_text("\n".join(lines) + "\n")
    return len(bars)


def session(cli: Cli, db: str, session_id: str | None = None) -> dict[str, object]:
    listed = json.loads(cli("sessions", "list", "--format", "json", "--set", db).stdout)
    return listed[0] if session_id is None else next(s for s in listed if s["id"] == session_id)


RUN = ["run", "-s", "sma_cross", "--symbol", "GOOG", "--feed", "replay", "--data-dir", "./csv", "--speed", "0"]


def test_a_resumed_replay_continues_on_the_csv_it_started_on(cli: Cli, tmp_path: Path) -> None:
    bars = write_csv(tmp_path / "csv", "GOOG", seed=11)
    whole_db, db = f"state.url=sqlite:///{tmp_path / 'whole.db'}", f"state.url=sqlite:///{tmp_path / 's.db'}"
    whole = cli(*RUN, "--set", whole_db)
    assert whole.returncode == 0, whole.stderr
    expected = session(cli, whole_db)
    assert expected["status"] == "finished" and expected["last_bar"] == bars - 1

    first = cli(*RUN, "--bars", "300", "--set", db)
    assert first.returncode == 0, first.stderr
    paused = session(cli, db)
    assert paused["status"] == "stopped" and paused["last_bar"] == 299
    resumed = cli("run", "--resume", str(paused["id"]), "--set", db)  # no --data-dir: the session knows
    assert resumed.returncode == 0, resumed.stderr
    assert "SYNTHETIC" not in resumed.stdout
    done = session(cli, db)
    assert done["status"] == "finished"
    assert (done["last_bar"], done["last_time"], done["equity"]) == (
        expected["last_bar"],
        expected["last_time"],
        expected["equity"],
    )


def test_a_changed_file_is_refused_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11)
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    assert cli(*RUN, "--bars", "100", "--set", db).returncode == 0
    paused = session(cli, db)
    write_csv(tmp_path / "csv", "GOOG", seed=12)  # same dates, other prices
    refused = cli("run", "--resume", str(paused["id"]), "--set", db)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "GOOG data of session" in refused.stderr and "changed since it started" in refused.stderr
    assert session(cli, db)["last_bar"] == 99  # nothing traded on the other data


def test_resume_options_that_would_change_the_session_are_refused(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11)
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    assert cli(*RUN, "--bars", "50", "--set", db).returncode == 0
    refused = cli("run", "--resume", str(session(cli, db)["id"]), "--data-dir", "./other", "--set", db)
    assert refused.returncode != 0 and "--data-dir cannot change them" in refused.stderr


def test_speed_given_on_resume_is_honoured(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11)
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    slow = [a if a != "0" else "86400" for a in RUN]  # one daily bar per second
    assert cli(*slow, "--bars", "2", "--set", db).returncode == 0
    paused = session(cli, db)
    started = time.monotonic()
    resumed = cli("run", "--resume", str(paused["id"]), "--speed", "0", "--set", db, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert session(cli, db)["status"] == "finished" and time.monotonic() - started < 120


def test_a_session_that_cannot_start_is_failed_not_running(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11)
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    proc = cli(*[a if a != "GOOG" else "NODATA" for a in RUN], "--set", db)
    assert proc.returncode != 0 and "no csv file for symbol 'NODATA'" in proc.stderr
    listed = json.loads(cli("sessions", "list", "--format", "json", "--set", db).stdout)
    assert [s["status"] for s in listed] == ["failed"]
    assert "failed to start" in str(listed[0]["error"]) and "NODATA" in str(listed[0]["error"])


def test_a_killed_session_shows_as_interrupted(tmp_path: Path, isolated_env: dict[str, str], cli: Cli) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11)
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    slow = [a if a != "0" else "8640000" for a in RUN]  # 100 daily bars a second
    proc = subprocess.Popen([*COMMAND, *slow, "--set", db], env=isolated_env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = json.loads(cli("sessions", "list", "--format", "json", "--set", db).stdout or "[]")
            if listed and listed[0]["last_bar"] > 10:
                break
            time.sleep(0.3)
        assert listed and listed[0]["status"] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    killed = session(cli, db)
    assert killed["status"] == "interrupted"
    resumed = cli("run", "--resume", str(killed["id"]), "--speed", "0", "--set", db)
    assert resumed.returncode == 0, resumed.stderr
    assert session(cli, db)["status"] == "finished"


def test_run_and_backtest_apply_one_rule_for_too_little_data(cli: Cli, tmp_path: Path) -> None:
    write_csv(tmp_path / "csv", "GOOG", seed=11, start="2020-01-01", end="2020-01-07")  # 5 bars
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    backtest = cli("backtest", "-s", "sma_cross", "--symbol", "GOOG", "--data-dir", "./csv", "--set", db)
    run = cli(*RUN, "--set", db)
    assert backtest.returncode != 0 and run.returncode == backtest.returncode
    needs = backtest.stderr.split("needs at least ")[1].split(" bars")[0]
    assert f"needs at least {needs} bars, got 5 for GOOG" in run.stderr, run.stderr


def test_run_without_a_terminal_prints_progress_lines(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    run = ["run", "-s", "momentum", "--symbol", "AAPL", "--speed", "600", "--set", db]  # 10 bars a second
    proc = subprocess.Popen(
        [*COMMAND, *run], env=isolated_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        first = lines.get(timeout=20)  # while it runs: a live session never ends unless stopped
        second = lines.get(timeout=5)
        assert proc.poll() is None
    except queue.Empty:
        raise AssertionError("no progress line on a pipe while the session runs") from None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert first.startswith("bar ") and "equity" in first and second.startswith("bar ")
    deadline = time.monotonic() + 5
    rest = []
    while time.monotonic() < deadline and not any("stopped" in line for line in rest):
        with contextlib.suppress(queue.Empty):
            rest.append(lines.get(timeout=1))
    assert any("stopped" in line for line in rest)


def _stored_sessions(db: Path) -> dict[str, dict[str, object]]:
    """The sessions in the SQLite file, read directly (polling through a `gpt-trader` process per look
    costs a second or more of a loaded machine each time)."""
    if not db.exists():
        return {}
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute("SELECT id, symbols, status, last_bar FROM sessions").fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return {}
    return {row["id"]: dict(row) for row in rows}


def _wait_for(condition: Callable[[], object], what: str, timeout: float = 180.0) -> object:
    """Poll ``condition`` until it is truthy (the deadline only catches a hang, it paces nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_recovers_a_killed_session_only_on_its_own_data(
    tmp_path: Path, isolated_env: dict[str, str], cli: Cli
) -> None:
    from tests.e2e.conftest import free_port
    from tests.e2e.test_serve import _wait_healthy

    write_csv(tmp_path / "csv", "GOOG", seed=11)
    write_csv(tmp_path / "csv", "MSFT", seed=13)
    path = tmp_path / "s.db"
    db = f"state.url=sqlite:///{path}"
    slow = [a if a != "0" else "8640000" for a in RUN]  # 100 daily bars a second
    ids = []
    for symbol in ("GOOG", "MSFT"):
        proc = subprocess.Popen(
            [*COMMAND, *[a if a != "GOOG" else symbol for a in slow], "--set", db], env=isolated_env, cwd=tmp_path
        )

        def trading(symbol: str = symbol) -> str | None:
            found = [i for i, s in _stored_sessions(path).items() if symbol in str(s["symbols"]) and s["last_bar"] > 10]
            return found[0] if found else None

        ids.append(str(_wait_for(trading, f"the {symbol} session to trade")))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    write_csv(tmp_path / "csv", "MSFT", seed=14)  # MSFT's data changed while nothing ran it
    killed = {s["id"]: s for s in json.loads(cli("sessions", "list", "--format", "json", "--set", db).stdout)}
    assert {killed[i]["status"] for i in ids} == {"interrupted"}

    port = free_port()
    server = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--set", db, "--set", "api.shutdown_timeout=3"],
        env=isolated_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/api/v1/system/health/live", server, timeout=120)
        # recovered: GOOG trades on past the bar it was killed at; MSFT is marked failed
        _wait_for(
            lambda: (
                (s := _stored_sessions(path))[ids[0]]["last_bar"] > killed[ids[0]]["last_bar"]
                and s[ids[1]]["status"] == "failed"
            ),
            "the recovery",
        )
    finally:
        server.send_signal(signal.SIGTERM)
        log, _ = server.communicate(timeout=60)
    after = {s["id"]: s for s in json.loads(cli("sessions", "list", "--format", "json", "--set", db).stdout)}
    goog, msft = after[ids[0]], after[ids[1]]
    assert goog["last_bar"] > killed[ids[0]]["last_bar"]  # recovered and traded on, on its own data
    assert msft["status"] == "failed" and msft["last_bar"] == killed[ids[1]]["last_bar"]  # never traded
    assert "not recovered" in msft["error"] and "changed since it started" in msft["error"]
    assert "changed since it started" in log
