"""`gpt-trader run` end to end: a paper session to completion, refusal of live mode, Ctrl-C, and a
session killed with SIGKILL three times that loses no acknowledged fill and duplicates no order."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY
from tests.e2e.conftest import GPT_TRADER

Cli = Callable[..., subprocess.CompletedProcess[str]]
COMMAND = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
REPLAY = ["--feed", "replay", "--speed", "0", "--from", "2000-01-01", "--to", "2024-12-31", "--commission", "0.001"]


def test_replay_session_runs_to_the_end(cli: Cli, tmp_path: Path) -> None:
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    proc = cli("run", "-s", "breakout", "--symbol", "SPY", *REPLAY, "--set", db)
    assert proc.returncode == 0, proc.stderr
    assert "finished" in proc.stdout and "orders" in proc.stdout
    listed = cli("sessions", "list", "--format", "json", "--set", db)
    (session,) = json.loads(listed.stdout)
    assert session["status"] == "finished" and session["symbols"] == ["SPY"]
    shown = json.loads(cli("sessions", "show", session["id"], "--format", "json", "--set", db).stdout)
    assert shown["performance"]["num_trades"] > 3 and shown["orders"] > 3


def test_live_mode_is_refused_until_a_live_broker_exists(cli: Cli) -> None:
    proc = cli("run", "-s", "momentum", "--symbol", "AAPL", "--mode", "live")
    assert proc.returncode != 0 and "live trading needs a live broker adapter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tier_rules_and_bad_input(cli: Cli) -> None:
    proc = cli("run", "-s", "volatility", "--symbol", "AAPL", "--capital", "1000")
    assert proc.returncode != 0 and "not allowed in the micro capital tier" in proc.stderr
    proc = cli("run", "-s", "momentum", "--feed", "carrier-pigeon")
    assert proc.returncode != 0 and "--feed must be synthetic or replay" in proc.stderr


def test_ctrl_c_stops_cleanly_and_the_session_resumes(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    db = f"state.url=sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen(
        [*COMMAND, "run", "-s", "momentum", "--symbol", "AAPL", "--speed", "0", "--set", db],
        env=isolated_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out and "resume with" in out
    out.split("session ")[1].split()[0]
    with sqlite3.connect(tmp_path / "s.db") as conn:
        status, last_bar = conn.execute("select status, last_bar from sessions").fetchone()
    assert status == "stopped" and last_bar > 10


def _last_bar(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("select last_bar from sessions").fetchone()
            return int(row[0]) if row else -1
    except sqlite3.Error:
        return -1


async def _uninterrupted_fills() -> list[tuple[str, float, float, int]]:
    store = InMemoryStateStore()
    await store.open()
    sessions = TradingSessions(
        store, InMemoryEventBus(), REGISTRY, FeedFactory(SyntheticMarketData()), SimulatedBrokerFactory()
    )
    feed = {
        "kind": "replay",
        "timeframe": "1d",
        "speed": 0.0,
        "start": "2000-01-01T00:00:00",
        "end": "2024-12-31T00:00:00",
    }
    from gpt_trader_core.backtesting.config import BacktestConfig

    record = await sessions.run(
        SessionRequest(
            "sma_cross", ("AAPL",), {"fast": 5, "slow": 20}, 10_000, "paper", feed, BacktestConfig(commission=0.001)
        ),
        asyncio.Event(),
    )
    return [(f.fill_id or "", f.quantity, f.price, f.bar) for f in await store.list_fills(record.id)]


@pytest.mark.slow
def test_sigkill_three_times_loses_no_fill_and_duplicates_no_order(
    tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    db = tmp_path / "state.db"
    base = [
        *COMMAND,
        "run",
        "-s",
        "sma_cross",
        "-p",
        "fast=5",
        "-p",
        "slow=20",
        "--symbol",
        "AAPL",
        *REPLAY,
        "--set",
        f"state.url=sqlite:///{db}",
    ]
    session_id = None
    previous: set[tuple[str]] = set()
    for round_ in range(3):
        args = (
            base
            if session_id is None
            else [*COMMAND, "run", "--resume", session_id, "--set", f"state.url=sqlite:///{db}"]
        )
        start = _last_bar(db)
        proc = subprocess.Popen(
            args, env=isolated_env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while _last_bar(db) < start + 400 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"round {round_}: the session ended before it was killed"
        with sqlite3.connect(db) as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
            session_id = conn.execute("select id from sessions").fetchone()[0]
            acknowledged = set(conn.execute("select fill_id from fills").fetchall())
        assert _last_bar(db) > start
        assert acknowledged >= previous  # every fill acknowledged before a kill survives it
        previous = acknowledged
    final = subprocess.run(
        [*COMMAND, "run", "--resume", session_id, "--set", f"state.url=sqlite:///{db}"],
        env=isolated_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr
    with sqlite3.connect(db) as conn:
        fills = conn.execute("select fill_id, quantity, price, bar from fills order by bar, fill_id").fetchall()
        orders = conn.execute("select client_order_id, status, filled_quantity from orders").fetchall()
        status = conn.execute("select status from sessions").fetchone()[0]
    assert status == "finished"
    assert len({o[0] for o in orders}) == len(orders)  # no order twice
    assert all(o[1] in ("filled", "rejected", "accepted") for o in orders)
    expected = asyncio.run(_uninterrupted_fills())
    ours = [(fid.split(":", 1)[1], q, p, b) for fid, q, p, b in fills]
    theirs = sorted(((fid.split(":", 1)[1], q, p, b) for fid, q, p, b in expected), key=lambda r: (r[3], r[0]))
    assert ours == theirs  # the same fills as a run that was never interrupted
