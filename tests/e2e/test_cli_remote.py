"""`gpt-trader --remote URL` against a real `gpt-trader serve` (auth on), through the installed console script.

One server per module, in its own home: users added with `gpt-trader users add`, an API key with `keys
create`. The CLI process shares the home (so local and remote runs read the same state store) but not the
credentials logic: remote runs go through HTTP, with the token `gpt-trader login` stored.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import GPT_TRADER, free_port

COMMAND = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
PASSWORD = "a-long-password-1"


class Server:
    """The server, its URL and the environment of CLI processes beside it."""

    def __init__(self, home: Path, url: str, env: dict[str, str], api_key: str) -> None:
        self.home, self.url, self.env, self.api_key = home, url, env, api_key

    def cli(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            input=stdin,
            cwd=self.home,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def remote(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.cli(*args, "--remote", self.url, **kw)

    @property
    def credentials(self) -> Path:
        return self.home / ".gpt-trader" / "credentials.json"

    def login(self, user: str = "alice") -> None:
        proc = self.cli("login", self.url, "-n", "-u", user, "--password-stdin", stdin=PASSWORD + "\n")
        assert proc.returncode == 0, proc.stderr

    def token(self) -> str:
        answer = self.request("POST", "/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
        return str(answer["access_token"])

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("remote-home")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GPT_TRADER")}
    env.update(HOME=str(home), NO_COLOR="1")
    # one client address sends everything: the login rate limit would refuse the tests' logins
    env["GPT_TRADER__API__RATE_LIMITS__ENABLED"] = "false"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    probe = Server(home, url, env, "")
    for user, role in (("alice", "trader"), ("victor", "viewer"), ("ada", "admin")):
        added = probe.cli("users", "add", user, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    created = probe.cli("keys", "create", "--name", "ci", "--role", "trader")
    key = next(line for line in created.stdout.splitlines() if line.startswith("gtk_"))
    proc = subprocess.Popen(
        [*COMMAND, "serve", "--mode", "api", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                urllib.request.urlopen(url + "/api/v1/system/health/live", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        server = Server(home, url, env, key)
        server.login()
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _same(server: Server, *args: str) -> str:
    local, remote = server.cli(*args), server.remote(*args)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout, args
    return remote.stdout


def test_login_stores_the_token_in_a_0600_file(server: Server) -> None:
    mode = stat.S_IMODE(server.credentials.stat().st_mode)
    assert mode == 0o600
    stored = json.loads(server.credentials.read_text())
    assert set(stored) == {server.url} and stored[server.url]["username"] == "alice"


@pytest.mark.parametrize(
    "args",
    [
        ("strategies", "--format", "json"),
        ("strategies",),
        ("market", "data", "AAPL", "--from", "2024-01-01", "--to", "2024-03-31", "--format", "json"),
        ("market", "data", "MSFT", "--last", "5", "--format", "csv"),
        (
            "backtest",
            "-s",
            "sma_cross",
            "--symbol",
            "AAPL",
            "--from",
            "2023-01-01",
            "--to",
            "2024-12-31",
            "--format",
            "json",
            "--no-save",
        ),
        (
            "backtest",
            "-s",
            "breakout",
            "--symbol",
            "SPY",
            "--stop-loss",
            "0.05",
            "--spread",
            "0.001",
            "--mode",
            "long_only",
            "--trades",
            "--no-save",
        ),
        ("portfolio", "positions", "--format", "json"),
        ("workflow", "list", "--format", "json"),
        ("workflow", "list"),
        ("market", "regime", "AAPL", "--format", "json"),
        ("market", "regime", "SPY", "--from", "2022-01-01", "--recent", "3"),
        ("market", "regime", "MSFT", "--from", "2023-01-01", "--format", "csv"),
        ("market", "analyze", "AAPL", "--format", "json"),
        ("market", "analyze", "MSFT", "--from", "2023-01-01", "--to", "2024-06-30"),
        ("strategies", "recommend", "AAPL", "--format", "json"),
        ("strategies", "recommend", "SPY", "--to", "2024-06-30"),
        ("strategies", "compare", "AAPL", "--strategies", "sma_cross,momentum", "--from", "2023-01-01", "-f", "json"),
        ("strategies", "compare", "MSFT", "--from", "2024-01-01", "--rank-by", "return_pct", "-f", "csv"),
        ("backtest", "--from", "2024-01-01", "--to", "2024-12-31", "--strategy", "all"),
        ("portfolio", "size", "AAPL", "--capital", "10000", "--method", "fixed", "--amount", "2500", "-f", "json"),
        (
            "portfolio",
            "size",
            "AAPL",
            "--capital",
            "25000",
            "-m",
            "kelly",
            "--win-rate",
            "0.55",
            "--payoff-ratio",
            "1.5",
        ),
        (
            "portfolio",
            "size",
            "SPY",
            "--capital",
            "50000",
            "-m",
            "volatility_target",
            "--target-vol",
            "0.15",
            "-f",
            "csv",
        ),
    ],
)
def test_the_same_command_prints_the_same_locally_and_remotely(server: Server, args: tuple[str, ...]) -> None:
    _same(server, *args)


def test_a_saved_remote_backtest_is_saved_on_the_server(server: Server) -> None:
    proc = server.remote("backtest", "-s", "momentum", "--symbol", "GOOG", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)["id"]
    assert record.startswith("bt_")
    assert server.request("GET", f"/api/v1/backtests/{record}", token=server.token())["id"] == record


def _stable(execution: dict[str, Any]) -> dict[str, Any]:
    """An execution without what differs between two runs (ids, times, durations, the process)."""
    text = json.dumps(execution)
    text = re.sub(r'"(wf|bt)_[0-9a-f]+"', '"ID"', text)
    text = re.sub(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?"', '"TIME"', text)
    text = re.sub(r'"(duration_s|elapsed_s)": [0-9.e-]+', r'"\1": 0', text)
    stable = dict(json.loads(text))
    stable["result"].pop("runner")  # which process ran it (host, pid, engine)
    return stable


def test_workflow_execute_and_status_remotely(server: Server) -> None:
    args = ("workflow", "execute", "simple_backtest", "--param", "symbol=MSFT", "--format", "json")
    local, remote = server.cli(*args), server.remote(*args)
    assert local.returncode == remote.returncode == 0, remote.stderr
    ran_here, ran_there = json.loads(local.stdout), json.loads(remote.stdout)
    assert _stable(ran_there) == _stable(ran_here)
    # the status of the server's execution reads the same from here and through the server
    status = _same(server, "workflow", "status", ran_there["id"], "--format", "json")
    assert json.loads(status)["status"] == "succeeded"
    _same(server, "workflow", "status", "--format", "json")
    # the table run prints a line per step as the server's execution advances
    table = server.remote("workflow", "execute", "simple_backtest")
    assert table.returncode == 0, table.stderr
    for step in ("data", "analyze", "select", "backtest"):
        assert f"▶ {step} started" in table.stdout and f"✓ {step} finished" in table.stdout


def test_workflow_execute_async_remotely_prints_the_id_the_server_runs(server: Server) -> None:
    proc = server.remote("workflow", "execute", "multi_strategy_ensemble", "--async", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    started = json.loads(proc.stdout)
    assert started["server"] == server.url and started["status"] in ("pending", "running")
    token = server.token()
    deadline = time.monotonic() + 60
    while server.request("GET", f"/api/v1/workflows/status/{started['execution_id']}", token=token)["status"] != (
        "succeeded"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_workflow_cancel_remotely(server: Server) -> None:
    started = server.remote("workflow", "execute", "real_time_monitoring", "-p", "duration=120", "--async")
    assert started.returncode == 0, started.stderr
    execution = started.stdout.strip()
    cancelled = server.remote("workflow", "cancel", execution, "--format", "json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    again = server.remote("workflow", "cancel", execution)
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1  # 409: already finished


def test_status_reports_the_servers_components_and_sessions(server: Server) -> None:
    local, remote = server.cli("status", "--format", "json"), server.remote("status", "--format", "json")
    assert local.returncode == remote.returncode == 0, remote.stderr
    here, there = json.loads(local.stdout), json.loads(remote.stdout)
    assert set(there) == set(here)
    assert [c["name"] for c in there["components"]] == [c["name"] for c in here["components"]]
    assert [s["id"] for s in there["sessions"]] == [s["id"] for s in here["sessions"]]
    assert set(there["metrics"]) == set(here["metrics"])


def test_portfolio_rebalance_plans_and_executes_on_the_servers_session(server: Server) -> None:
    token = server.token()
    body = {"strategy": "sma_cross", "symbols": ["AAPL", "MSFT"], "feed": {"kind": "synthetic", "speed": 0}}
    session = server.request("POST", "/api/v1/sessions", body, token=token)["id"]
    try:
        deadline = time.monotonic() + 30
        while server.request("GET", f"/api/v1/sessions/{session}", token=token)["session"]["last_bar"] < 5:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        plan = server.remote("portfolio", "rebalance", session, "-w", "AAPL=0.3", "-w", "MSFT=0.2", "-f", "json")
        assert plan.returncode == 0, plan.stderr
        data = json.loads(plan.stdout)
        assert data["session_id"] == session and data["executed"] is False
        assert data["explanation"].startswith("rebalance (") and data["plan"]["tier"]
        performance = server.remote("portfolio", "performance", session, "--format", "json")
        assert performance.returncode == 0, performance.stderr
        assert json.loads(performance.stdout)["session_id"] == session
        risk = server.remote("portfolio", "risk", session)
        assert risk.returncode == 0 and f"Risk of {session}" in risk.stdout, risk.stderr
        executed = server.remote("portfolio", "rebalance", session, "-w", "AAPL=0.3", "--execute")
        assert executed.returncode == 0, executed.stderr
        assert "orders sent to the session" in executed.stdout
        # locally the session's prices are not in this process: one line that says why
        here = server.cli("portfolio", "rebalance", session, "-w", "AAPL=0.3")
        assert here.returncode == 1 and "not running in this process" in here.stderr
        bad = server.remote("portfolio", "rebalance", session, "-w", "AAPL=lots")
        assert bad.returncode == 1 and "must be a number" in bad.stderr
    finally:
        server.request("POST", f"/api/v1/sessions/{session}/stop", {}, token=token)


def test_a_viewer_is_refused_executing_a_rebalance_with_exit_3(server: Server, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    login = server.cli("login", server.url, "-n", "-u", "victor", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert login.returncode == 0, login.stderr
    refused = server.remote("portfolio", "rebalance", "ses_0123456789abcdef", "-w", "AAPL=0.5", "--execute", env=env)
    assert refused.returncode == 3 and "trader role" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_an_unreachable_server_is_exit_3_in_one_line(server: Server) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = server.cli("strategies", "--remote", url)
    assert proc.returncode == 3
    assert (
        proc.stderr.strip() == f"error: cannot reach {url}: connection refused (is `gpt-trader serve` running there?)"
    )


def test_no_or_refused_credentials_say_how_to_log_in(server: Server, tmp_path: Path) -> None:
    hint = f"log in with `gpt-trader login {server.url}`"
    fresh = server.remote("strategies", env={"HOME": str(tmp_path)})
    assert fresh.returncode == 3 and hint in fresh.stderr and len(fresh.stderr.strip().splitlines()) == 1
    # a token the server refuses, and a refresh token it refuses too
    (tmp_path / ".gpt-trader").mkdir()
    stored = json.loads(server.credentials.read_text())
    stored[server.url].update(access_token="not-a-token", refresh_token="not-a-refresh-token", expires_at=0)
    (tmp_path / ".gpt-trader" / "credentials.json").write_text(json.dumps(stored))
    refused = server.remote("market", "data", "AAPL", env={"HOME": str(tmp_path)})
    assert refused.returncode == 3 and hint in refused.stderr and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    wrong_key = server.remote("strategies", env={"GPT_TRADER_API_KEY": "gtk_0123456789ab_nope"})
    assert wrong_key.returncode == 3 and "GPT_TRADER_API_KEY" in wrong_key.stderr


def test_an_expired_access_token_is_renewed_with_the_refresh_token(server: Server, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    login = server.cli("login", server.url, "-n", "-u", "alice", "--password-stdin", stdin=PASSWORD + "\n", env=env)
    assert login.returncode == 0, login.stderr
    path = tmp_path / ".gpt-trader" / "credentials.json"
    stored = json.loads(path.read_text())
    before = stored[server.url]
    stored[server.url]["expires_at"] = 0  # as if 15 minutes had passed
    path.write_text(json.dumps(stored))
    proc = server.remote("strategies", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    after = json.loads(path.read_text())[server.url]
    assert after["refresh_token"] != before["refresh_token"] and after["expires_at"] > time.time()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_api_key_from_the_environment_needs_no_login(server: Server, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "GPT_TRADER_API_KEY": server.api_key}
    proc = server.remote("strategies", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    checked = server.cli("login", server.url, env=env)
    assert checked.returncode == 0 and "GPT_TRADER_API_KEY works" in checked.stdout
    assert not (tmp_path / ".gpt-trader" / "credentials.json").exists()


def test_cli_remote_setting_and_local_only_commands(server: Server) -> None:
    env = {"GPT_TRADER__CLI__REMOTE": server.url}
    assert json.loads(server.cli("strategies", "--format", "json", env=env).stdout)[0]["name"]
    # a command no server answers runs here when the setting (not --remote) names a server
    assert server.cli("backtests", "prune", "--keep", "1000", "--dry-run", env=env).returncode == 0
    refused = server.remote("backtests", "prune", "--keep", "1000", "--dry-run")
    assert refused.returncode == 1 and "runs on this machine only; drop --remote" in refused.stderr


def test_logout_ends_the_login_on_the_server(server: Server, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    login = server.cli("login", server.url, "-n", "-u", "alice", env={**env, "GPT_TRADER_PASSWORD": PASSWORD})
    assert login.returncode == 0, login.stderr
    path = tmp_path / ".gpt-trader" / "credentials.json"
    refresh = json.loads(path.read_text())[server.url]["refresh_token"]
    out = server.cli("logout", server.url, env=env)
    assert out.returncode == 0 and "logged out" in out.stdout
    assert server.url not in json.loads(path.read_text())
    with pytest.raises(urllib.error.HTTPError) as refused:
        server.request("POST", "/api/v1/auth/refresh", {"refresh_token": refresh})
    assert refused.value.code == 401
    assert server.cli("logout", server.url, env=env).stdout.strip() == f"not logged in to {server.url}"


def test_non_interactive_login_needs_its_flags(server: Server, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    proc = server.cli("login", server.url, "-n", env=env)
    assert proc.returncode == 1 and "--username is required" in proc.stderr
    wrong = server.cli("login", server.url, "-n", "-u", "alice", "--password-stdin", stdin="nope-nope-nope\n", env=env)
    assert wrong.returncode == 3 and len(wrong.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_a_remote_workflow_cancels_it_on_the_server(server: Server) -> None:
    proc = subprocess.Popen(
        [*COMMAND, "workflow", "execute", "real_time_monitoring", "-p", "duration=120", "--remote", server.url],
        cwd=server.home,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "HH:MM:SS real_time_monitoring started (wf_...)"
    execution = re.search(r"\((wf_[0-9a-f]+)\)", first)
    assert execution, first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    token = server.token()
    deadline = time.monotonic() + 30
    while (status := server.request("GET", f"/api/v1/workflows/status/{execution.group(1)}", token=token))[
        "status"
    ] not in ("cancelled", "succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status["status"] == "cancelled"


def _remote_examples() -> list[tuple[str, str]]:
    from tests.cli.test_help_examples import _examples, _needs_a_server

    return [(name, example) for name, example in _examples() if _needs_a_server(shlex.split(example)[1:])]


@pytest.mark.parametrize(("name", "example"), _remote_examples())
def test_remote_help_examples_work_as_written(server: Server, tmp_path: Path, name: str, example: str) -> None:
    """The examples of ``login``, ``logout`` and the ``--remote`` ones, against this server (its URL for the
    documented http://127.0.0.1:9000, a session it runs for ``ses_0123456789abcdef``)."""
    env = {"HOME": str(tmp_path), "GPT_TRADER__CLI__REMOTE": server.url, "GPT_TRADER_PASSWORD": PASSWORD}
    env["GPT_TRADER_USERNAME"] = "alice"  # what a person would type at the prompts
    login = server.cli("login", server.url, "-n", "-u", "alice", env=env)
    assert login.returncode == 0, login.stderr
    args = [arg.replace("http://127.0.0.1:9000", server.url) for arg in shlex.split(example)[1:]]
    session = None
    if "ses_0123456789abcdef" in args:
        token = server.token()
        body = {"strategy": "sma_cross", "symbols": ["AAPL", "MSFT"], "feed": {"kind": "synthetic", "speed": 0}}
        session = server.request("POST", "/api/v1/sessions", body, token=token)["id"]
        while server.request("GET", f"/api/v1/sessions/{session}", token=token)["session"]["last_bar"] < 5:
            time.sleep(0.2)
        args = [session if arg == "ses_0123456789abcdef" else arg for arg in args]
    try:
        stdin = PASSWORD + "\n" if "--password-stdin" in args else None
        proc = server.cli(*args, stdin=stdin, env=env)
        assert proc.returncode == 0, f"{example}\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr
    finally:
        if session is not None:
            server.request("POST", f"/api/v1/sessions/{session}/stop", {}, token=server.token())


def _admin(server: Server) -> dict[str, str]:
    """The environment of CLI runs that reach the server as an admin: an admin API key (created here, in the
    state store the server shares) — the home, and so the local state store, stays the server's."""
    created = server.cli("keys", "create", "--name", "admin-ci", "--role", "admin", "--expires", "1h")
    assert created.returncode == 0, created.stderr
    return {"GPT_TRADER_API_KEY": next(line for line in created.stdout.splitlines() if line.startswith("gtk_"))}


def _started_session(server: Server, token: str, bars: int = 5) -> str:
    body = {"strategy": "sma_cross", "symbols": ["AAPL", "MSFT"], "feed": {"kind": "synthetic", "speed": 0}}
    session = str(server.request("POST", "/api/v1/sessions", body, token=token)["id"])
    deadline = time.monotonic() + 30
    while server.request("GET", f"/api/v1/sessions/{session}", token=token)["session"]["last_bar"] < bars:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return session


def test_sessions_list_show_and_stop_remotely(server: Server) -> None:
    token = server.token()
    session = _started_session(server, token)
    # the server runs it: stopped through the server, which stops it after its current bar
    stopped = server.remote("sessions", "stop", session)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"session {session} is stopped"
    # stopped, it reads the same here (the shared state store) and through the server
    shown = json.loads(_same(server, "sessions", "show", session, "--format", "json"))
    assert shown["session"]["id"] == session and shown["running"] is False
    assert set(shown) == {"session", "running", "orders", "positions", "recent_fills", "performance"}
    listed = json.loads(_same(server, "sessions", "list", "--format", "json"))
    assert session in [s["id"] for s in listed] and "owner" not in listed[0]
    _same(server, "sessions", "list", "--status", "stopped", "--format", "csv")
    table = server.remote("sessions", "show", session)
    assert table.returncode == 0 and session in table.stdout, table.stderr
    missing = server.remote("sessions", "show", "ses_0123456789abcdef")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    bad = server.remote("sessions", "list", "--status", "sleeping")
    assert bad.returncode == 1 and "--status must be one of" in bad.stderr


def test_cache_stats_and_clear_on_the_server(server: Server, tmp_path: Path) -> None:
    # the server's cache fills with what it answers (its market data, cached reads)
    assert server.remote("market", "data", "AAPL", "--format", "json").returncode == 0
    stats = server.remote("cache", "stats", "--format", "json")
    assert stats.returncode == 0, stats.stderr
    there = json.loads(stats.stdout)
    assert there["backend"] == "memory" and there["sets"] > 0 and there["entries"]
    # clearing is for admins: a trader is refused (exit 3, the role it needs), an admin clears it
    refused = server.remote("cache", "clear")
    assert refused.returncode == 3 and "admin role" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    admin = _admin(server)
    cleared = server.remote("cache", "clear", "--kind", "http", env=admin)
    assert cleared.returncode == 0, cleared.stderr
    assert re.fullmatch(r"dropped \d+ entr(y|ies) of kind http", cleared.stdout.strip()), cleared.stdout
    after = json.loads(server.remote("cache", "stats", "--format", "json", env=admin).stdout)
    assert after["entries"].get("http", 0) == 0


def test_users_and_keys_administered_through_the_server(server: Server, tmp_path: Path) -> None:
    admin = _admin(server)
    listed = _same_env(server, admin, "users", "list", "--format", "json")
    assert {"alice", "victor", "ada"} <= {u["username"] for u in json.loads(listed)}
    added = server.remote(
        "users", "add", "bob", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n", env=admin
    )
    assert added.returncode == 0 and "user bob added with role viewer" in added.stdout, added.stderr
    # bob logs in with the password set on the server; a new one through the server replaces it
    bob = {"HOME": str(tmp_path / "bob")}
    (tmp_path / "bob").mkdir()
    assert (
        server.cli(
            "login", server.url, "-n", "-u", "bob", "--password-stdin", stdin=PASSWORD + "\n", env=bob
        ).returncode
        == 0
    )
    new = "another-long-password"
    changed = server.remote("users", "passwd", "bob", "--password-stdin", stdin=new + "\n", env=admin)
    assert changed.returncode == 0 and "password of bob changed" in changed.stdout, changed.stderr
    old = server.cli("login", server.url, "-n", "-u", "bob", "--password-stdin", stdin=PASSWORD + "\n", env=bob)
    assert old.returncode == 3
    removed = server.remote("users", "remove", "bob", env=admin)
    assert removed.returncode == 0 and "user bob removed" in removed.stdout
    again = server.remote("users", "remove", "bob", env=admin)
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1, again.stderr
    # a trader may not administer users: exit 3, one line naming the role
    refused = server.remote("users", "list")
    assert refused.returncode == 3 and "admin role" in refused.stderr

    created = server.remote("keys", "create", "--name", "remote-ci", "--role", "viewer", "--expires", "12h", env=admin)
    assert created.returncode == 0, created.stderr
    text = next(line for line in created.stdout.splitlines() if line.startswith("gtk_"))
    works = server.remote("strategies", "--format", "json", env={"GPT_TRADER_API_KEY": text})
    assert works.returncode == 0, works.stderr
    keys = json.loads(_same_env(server, admin, "keys", "list", "--format", "json"))
    mine = next(k for k in keys if k["name"] == "remote-ci")
    assert mine["role"] == "viewer" and mine["expires_at"] and mine["last_used_at"]
    revoked = server.remote("keys", "revoke", text, env=admin)  # by its text: only the id is sent
    assert revoked.returncode == 0 and f"API key {mine['id']} (remote-ci) revoked" in revoked.stdout
    refused_key = server.remote("strategies", env={"GPT_TRADER_API_KEY": text})
    assert refused_key.returncode == 3
    bad = server.remote("keys", "create", "--name", "x", "--role", "overlord", env=admin)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


def _same_env(server: Server, env: dict[str, str], *args: str) -> str:
    local, remote = server.cli(*args, env=env), server.remote(*args, env=env)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout == local.stdout, args
    return remote.stdout


def test_remote_intelligence_refuses_what_the_server_cannot_do_in_one_line(server: Server) -> None:
    model = server.remote("strategies", "recommend", "AAPL", "--model", "mine")
    assert model.returncode == 1 and "drop --model with --remote" in model.stderr
    assert len(model.stderr.strip().splitlines()) == 1
    timed = server.remote("market", "regime", "AAPL", "--from", "2024-01-01T10:00")
    assert timed.returncode == 1 and len(timed.stderr.strip().splitlines()) == 1, timed.stderr
    for args in (("market", "analyze", "AAPL", "-t", "7x"), ("market", "regime", "AAPL", "-t", "7x")):
        refused = server.remote(*args)  # the server's 422, said in one line with exit 1
        assert refused.returncode == 1 and "timeframe" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    sized = server.remote("portfolio", "size", "AAPL", "--capital", "10000", "--method", "fixed_fractional")
    assert sized.returncode == 1 and "stop" in sized.stderr and len(sized.stderr.strip().splitlines()) == 1


def test_studies_list_show_and_delete_through_the_server(server: Server) -> None:
    ran = server.cli(
        "optimize", "-s", "sma_cross", "--space", "fast=5:15:5", "--space", "slow=20:40:10", "--symbol", "MSFT",
        "--from", "2023-01-01", "--to", "2024-06-30", "--format", "json",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    study = json.loads(ran.stdout)["study_id"]
    listed = json.loads(_same(server, "studies", "list", "--limit", "5", "--format", "json"))
    assert study in [s["id"] for s in listed]
    shown = json.loads(_same(server, "studies", "show", study, "--top", "3", "--format", "json"))
    assert shown["study"]["id"] == study and shown["trials"] == 9 and len(shown["best"]) == 3
    _same(server, "studies", "show", study)
    deleted = server.remote("studies", "delete", study)
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted 1 study and their trials", deleted.stderr
    gone = server.cli("studies", "show", study)
    assert gone.returncode == 1 and len(gone.stderr.strip().splitlines()) == 1
    again = server.remote("studies", "delete", study)
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1, again.stderr
    bad = server.remote("studies", "list", "--limit", "lots")
    assert bad.returncode == 1 and "--limit expects a whole number" in bad.stderr


def test_monitor_once_shows_what_the_server_runs(server: Server) -> None:
    token = server.token()
    session = _started_session(server, token, bars=2)
    try:
        remote = server.remote("monitor", "--once", "--format", "json")
        assert remote.returncode == 0, remote.stderr
        there = json.loads(remote.stdout)
        assert set(there) == {"time", "sessions", "executions", "alerts"}
        mine = next(s for s in there["sessions"] if s["id"] == session)
        assert mine["status"] == "running" and mine["strategy"] == "sma_cross"
        # the same sessions and executions as here (one state store); the server knows the session's prices
        here = json.loads(server.cli("monitor", "--once", "--format", "json").stdout)
        assert [s["id"] for s in here["sessions"]] == [s["id"] for s in there["sessions"]]
        assert [e["id"] for e in here["executions"]] == [e["id"] for e in there["executions"]]
        table = server.remote("monitor", "--once")
        assert table.returncode == 0 and session in table.stdout, table.stderr
    finally:
        server.request("POST", f"/api/v1/sessions/{session}/stop", {}, token=token)
    dashboard = server.remote("monitor", "--dashboard", "--port", "1")
    assert dashboard.returncode == 1 and f"{server.url}/dashboard/" in dashboard.stderr
    assert len(dashboard.stderr.strip().splitlines()) == 1


def _unstamped(text: str) -> str:
    """An optimisation's output without what differs between two runs: its study id and elapsed time."""
    text = re.sub(r"(study|opt)_[0-9a-f]+", "STUDY", text)
    text = re.sub(r'"elapsed_s": [0-9.e-]+', '"elapsed_s": 0', text)
    return re.sub(r"\d+\.\d\d s, study", "N s, study", text)


def test_optimize_runs_on_the_server_and_prints_what_it_prints_here(server: Server) -> None:
    args = ["optimize", "-s", "sma_cross", "--space", "fast=5:20:5", "--space", "slow=20:50:10", "--symbol", "AAPL"]
    args += ["--from", "2022-01-01", "--to", "2024-06-30"]
    for fmt in ("json", "table", "csv"):
        local, remote = server.cli(*args, "--format", fmt), server.remote(*args, "--format", fmt)
        assert local.returncode == 0, local.stderr
        assert remote.returncode == 0, remote.stderr
        assert _unstamped(remote.stdout) == _unstamped(local.stdout), fmt
    ran = json.loads(server.remote(*args, "--format", "json").stdout)
    assert ran["total"] == ran["trials"] == 15 and ran["best_params"]  # 4 x 4, less fast=20 slow=20 (fast < slow)
    # the server stored the study under the id it printed
    assert server.request("GET", f"/api/v1/studies/{ran['study_id']}", token=server.token())["study"]["total"] == 15
    # the plan's example, as written
    plan = server.remote("optimize", "--strategy", "mean_reversion", "--metric", "sharpe", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["strategy"] == "mean_reversion"
    for refused, why in (
        (("optimize", "--resume", ran["study_id"]), "has no resume"),
        (("optimize", "-s", "sma_cross", "--method", "walk-forward"), "runs on this machine only"),
        (("optimize", "-s", "sma_cross", "--space", "nope=1,2"), "nope"),
    ):
        proc = server.remote(*refused)
        assert proc.returncode == 1 and why in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_a_remote_optimisation_cancels_it_on_the_server(server: Server) -> None:
    proc = subprocess.Popen(
        [*COMMAND, "optimize", "-s", "sma_cross", "--space", "fast=2:60:1", "--space", "slow=20:200:1", "--yes",
         "--remote", server.url],
        cwd=server.home, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    token = server.token()
    deadline = time.monotonic() + 60
    while not (running := [e for e in server.request("GET", "/api/v1/strategies/optimize", token=token)["items"]
                           if e["status"] == "running"]):  # fmt: skip
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    study = running[0]["id"]
    assert f"study {study} keeps" in err, err
    status = server.request("GET", f"/api/v1/strategies/optimize/{study}", token=token)["status"]
    assert status == "cancelled"


def test_run_trades_on_the_server_and_prints_what_it_prints_here(server: Server) -> None:
    args = ("run", "-s", "momentum", "--symbol", "AAPL", "--feed", "replay", "--speed", "0")
    args += ("--from", "2024-01-01", "--to", "2024-06-30")
    local, remote = server.cli(*args), server.remote(*args)
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    same = re.compile(r"ses_[0-9a-f]+")

    def summary(out: str) -> str:  # the report after the status lines: the session, its positions
        return same.sub("ID", out[out.index("session ses_") :])

    assert summary(remote.stdout) == summary(local.stdout)
    assert " finished (SYNTHETIC DATA): 130 bars" in remote.stdout
    session = same.search(remote.stdout[remote.stdout.index("session ses_") :])
    assert session
    stored = server.request("GET", f"/api/v1/sessions/{session[0]}", token=server.token())
    assert stored["session"]["status"] == "finished"
    for refused, why in (
        (("run", "--resume", session[0]), f"session {session[0]} has finished"),
        (("run", "-s", "momentum", "--commission", "0.01"), "trades with its own costs"),
        (("run", "-s", "no_such_strategy"), "no_such_strategy"),
    ):
        proc = server.remote(*refused)
        assert proc.returncode == 1 and why in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_run_resume_continues_the_servers_session_there_as_here(server: Server) -> None:
    """A session stopped after --bars is continued by `run --resume ID --remote URL` on the server, to the same
    end as a local resume of a local one; the hints name the server."""
    args = ("run", "-s", "momentum", "--symbol", "AAPL", "--feed", "replay", "--speed", "0", "--bars", "40")
    args += ("--from", "2024-01-01", "--to", "2024-06-30")
    ids = re.compile(r"ses_[0-9a-f]+")
    outputs = []
    for where in ((), ("--remote", server.url)):
        first = server.cli(*args, *where)
        assert first.returncode == 0, first.stderr
        assert " stopped (SYNTHETIC DATA): 40 bars" in first.stdout, first.stdout
        session = ids.search(first.stdout[first.stdout.index("session ses_") :])
        assert session
        assert f"resume with: gpt-trader run --resume {session[0]}{' '.join(('', *where))}\n" in first.stdout
        resumed = server.cli("run", "--resume", session[0], *where)
        assert resumed.returncode == 0, resumed.stderr
        assert " finished (SYNTHETIC DATA): 130 bars" in resumed.stdout, resumed.stdout
        outputs.append(ids.sub("ID", resumed.stdout[resumed.stdout.index("session ses_") :]))
        again = server.cli("run", "--resume", session[0], *where)
        assert again.returncode == 1 and "has finished" in again.stderr, again.stderr
        assert len(again.stderr.strip().splitlines()) == 1
    assert outputs[1] == outputs[0]
    stored = server.request("GET", f"/api/v1/sessions/{session[0]}", token=server.token())
    assert stored["session"]["status"] == "finished" and stored["session"]["last_bar"] == 129
    missing = server.remote("run", "--resume", "ses_0000000000000000")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr


def test_the_plans_run_example_trades_on_the_server_until_ctrl_c(server: Server) -> None:
    proc = subprocess.Popen(
        [*COMMAND, "run", "--strategy", "momentum", "--symbol", "AAPL", "--mode", "paper", "--remote", server.url],
        cwd=server.home, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    guard = threading.Timer(60, proc.kill)  # no status line within a minute: fail, do not hang
    guard.start()
    first = proc.stdout.readline()  # the status line, fed by the server's event stream (a bar a second)
    guard.cancel()
    assert first.startswith("bar ") and "| equity " in first, first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    session = re.search(r"session (ses_[0-9a-f]+) stopped \(SYNTHETIC DATA\)", out)
    assert session, out
    stored = server.request("GET", f"/api/v1/sessions/{session[1]}", token=server.token())
    assert stored["session"]["status"] == "stopped" and stored["running"] is False


def test_the_remote_event_bus_is_the_servers_stream(server: Server) -> None:
    """``RemoteEventBus`` (what ``run --remote`` follows): a publication on a custom topic comes back to a
    subscriber as the Event it was; a topic the stream does not carry is refused in one line."""
    import asyncio

    from adapters.remote.bus import RemoteEventBus
    from adapters.remote.client import RemoteClient
    from gpt_trader_core.errors import InvalidParameterError

    async def roundtrip() -> Any:
        client = RemoteClient(server.url, api_key=server.api_key, use_environment=False)
        bus = RemoteEventBus(client)
        subscription = bus.subscribe("custom:cli-remote")
        assert await subscription.get(0.5) is None  # connects and subscribes; nothing yet
        await bus.publish("custom:cli-remote", "signal", {"symbol": "AAPL", "side": "buy"})
        event = await subscription.get(10)
        with pytest.raises(InvalidParameterError, match="session:\\* \\(or session:ID\\) and custom:NAME"):
            bus.subscribe("execution:*")
        await bus.close()
        client.close()
        return event

    event = asyncio.run(roundtrip())
    assert event is not None and (event.topic, event.type) == ("custom:cli-remote", "signal")
    assert dict(event.data) == {"symbol": "AAPL", "side": "buy"} and event.seq >= 1


def test_the_resume_endpoint_is_documented_authorised_and_refuses_bad_input(server: Server) -> None:
    spec = server.request("GET", "/api/v1/openapi.json")
    operation = spec["paths"]["/api/v1/sessions/{session_id}/resume"]["post"]
    assert operation["x-required-role"] == "trader"
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "ResumeBody" in json.dumps(body) or set(body.get("properties", {})) == {"speed", "bars"}
    token = server.token()
    viewer = server.request("POST", "/api/v1/auth/login", {"username": "victor", "password": PASSWORD})["access_token"]
    path = "/api/v1/sessions/ses_0000000000000000/resume"
    for body_, who, status in (
        ({}, viewer, 403),  # a viewer may not trade
        ({}, None, 401),
        ({"speed": -1}, token, 400),
        ({"bars": 0}, token, 400),
        ({"speed": 0, "extra": 1}, token, 400),
        ({}, token, 404),
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            server.request("POST", path, body_, token=who)
        assert refused.value.code == status, (body_, refused.value.read())
