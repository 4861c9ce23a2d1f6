"""``--remote`` and ``login`` in-process: the refusals that need no gpt-trader server, the credentials file,
and the client's answers to a server that is not ours (a real HTTP server on loopback)."""

from __future__ import annotations

import http.server
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cleo.testers.command_tester import CommandTester

from adapters.remote import CredentialsFile, RemoteClient, StoredLogin, normalise_url
from adapters.remote.errors import RemoteRefusedError, RemoteUnreachableError
from entrypoints.cli.application import GptTraderApplication
from gpt_trader_core.errors import InvalidParameterError
from tests.cli.support import Cli, assert_one_line_error
from tests.e2e.conftest import free_port


def test_local_only_commands_refuse_remote(cli: Cli) -> None:
    proc = cli("backtests", "prune", "--keep", "10", "--remote", "http://127.0.0.1:9")
    assert_one_line_error(proc, 1, "`backtests prune` runs on this machine only; drop --remote")


def test_a_bad_remote_url_is_bad_input(cli: Cli) -> None:
    assert_one_line_error(cli("strategies", "--remote", "ftp://example.org"), 1, "is not a server URL")
    assert_one_line_error(cli("strategies", "--remote", "http://host:99999"), 1, "invalid port")
    bad_setting = cli("strategies", env={"GPT_TRADER__CLI__REMOTE": "example.org"})
    assert_one_line_error(bad_setting, 2, "cli.remote: expected http(s)://host:port")


def test_an_unreachable_server_is_exit_3(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (
        ("strategies",),
        ("backtest", "-s", "sma_cross"),
        ("workflow", "list"),
        ("status",),
        ("market", "regime", "AAPL"),
        ("market", "analyze", "AAPL"),
        ("strategies", "recommend", "AAPL"),
        ("strategies", "compare", "AAPL"),
        ("portfolio", "size", "AAPL", "--capital", "1000", "-m", "fixed", "--units", "1"),
        ("sessions", "list"),
        ("sessions", "show", "ses_0123456789abcdef"),
        ("sessions", "stop", "ses_0123456789abcdef"),
        ("cache", "stats"),
        ("cache", "clear"),
        ("users", "list"),
        ("users", "remove", "bob"),
        ("keys", "list"),
        ("keys", "revoke", "0123456789ab"),
        ("studies", "list"),
        ("optimize", "-s", "sma_cross"),
        ("monitor", "--once"),
        ("run", "-s", "momentum"),
    ):
        proc = cli(*args, "--remote", url)
        assert_one_line_error(proc, 3, f"cannot reach {url}: connection refused")
    assert_one_line_error(cli("strategies", env={"GPT_TRADER__CLI__REMOTE": url}), 3, "connection refused")


def test_cli_remote_leaves_local_only_commands_local(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    proc = cli("backtests", "prune", "--keep", "10", "--dry-run", env={"GPT_TRADER__CLI__REMOTE": url})
    assert proc.returncode == 0, proc.stderr


def test_login_without_a_terminal_names_what_is_missing(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert_one_line_error(cli("login", url, "-n"), 1, "--username is required without a terminal")
    assert_one_line_error(cli("login", url, "-n", "-u", "alice"), 1, "use --password-stdin")
    assert_one_line_error(cli("login", "-n"), 1, "URL is required")
    unreachable = cli("login", url, "-n", "-u", "alice", env={"GPT_TRADER_PASSWORD": "pw-pw-pw-pw"})
    assert_one_line_error(unreachable, 3, "connection refused")


def test_login_command_tester_reads_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GPT_TRADER_PASSWORD", "pw-pw-pw-pw")
    tester = CommandTester(GptTraderApplication().find("login"))
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteUnreachableError, match="connection refused"):
        tester.execute(f"{url} -n -u alice", interactive=False)
    assert not (tmp_path / ".gpt-trader" / "credentials.json").exists()


def test_logout_when_not_logged_in(cli: Cli) -> None:
    proc = cli("logout", "http://127.0.0.1:9000")
    assert proc.returncode == 0 and proc.stdout.strip() == "not logged in to http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ("  HTTP://LOCALHOST:9000 ", "http://localhost:9000"),
        ("https://trader.example.org/gpt/", "https://trader.example.org/gpt"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_server_urls_are_normalised(given: str, normal: str) -> None:
    assert normalise_url(given) == normal


@pytest.mark.parametrize("bad", ["127.0.0.1:9000", "ftp://host", "http://", "http://host:9000/?x=1", "http://h:x"])
def test_bad_server_urls_are_refused_with_an_example(bad: str) -> None:
    with pytest.raises(InvalidParameterError, match=r"http://127\.0\.0\.1:9000"):
        normalise_url(bad)


def _login(url: str, refresh: str = "r1") -> StoredLogin:
    return StoredLogin(url, "alice", "a1", refresh, 2e9)


def test_the_credentials_file_is_0600_and_keyed_by_server(tmp_path: Path) -> None:
    store = CredentialsFile(tmp_path / "cfg" / "credentials.json")
    store.put(_login("http://127.0.0.1:9000"))
    store.put(_login("http://127.0.0.1:9001", "other"))
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert store.get("http://127.0.0.1:9000/") == _login("http://127.0.0.1:9000")
    assert set(json.loads(store.path.read_text())) == {"http://127.0.0.1:9000", "http://127.0.0.1:9001"}
    assert store.remove("http://127.0.0.1:9000") and not store.remove("http://127.0.0.1:9000")
    assert store.get("http://127.0.0.1:9000") is None and store.get("http://127.0.0.1:9001") is not None
    assert [p.name for p in store.path.parent.iterdir() if p.name.startswith(".credentials-")] == []


def test_a_refresh_token_is_used_once_even_when_two_commands_renew(tmp_path: Path) -> None:
    store = CredentialsFile(tmp_path / "credentials.json")
    stale = _login("http://127.0.0.1:9000")
    store.put(stale)
    renewed = store.replace(stale, lambda current: StoredLogin(current.url, "alice", "a2", "r2", 2e9))
    assert renewed is not None and renewed.refresh_token == "r2"
    # a second command holding the same stale login gets the first one's pair instead of reusing r1
    again = store.replace(stale, lambda current: pytest.fail("the used refresh token was presented again"))
    assert again == renewed


def test_a_broken_credentials_file_says_how_to_mend_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{not json")
    with pytest.raises(Exception, match="delete it and log in again"):
        CredentialsFile(path).get("http://127.0.0.1:9000")


class _NotOurs(http.server.BaseHTTPRequestHandler):
    """A web server that is not gpt-trader: HTML for everything, 401 under /locked."""

    def do_GET(self) -> None:
        status = 401 if self.path.startswith("/locked") else 200
        body = b"<html>hello</html>" if status == 200 else b'{"detail": "who are you"}'
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if status == 200 else "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_ours() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOurs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_is_not_ours_is_named(cli: Cli, not_ours: str) -> None:
    proc = cli("strategies", "--remote", not_ours)
    assert_one_line_error(proc, 3, f"{not_ours} is not a gpt-trader API server (it answered 200 with text/html)")


def test_a_refusal_says_how_to_log_in(not_ours: str) -> None:
    client = RemoteClient(not_ours, use_environment=False)
    try:
        with pytest.raises(RemoteRefusedError, match=f"log in with `gpt-trader login {not_ours}`"):
            client.request("GET", "/locked")
        # a second request on the same client: answered, and named as not ours
        with pytest.raises(RemoteUnreachableError):
            client.request("GET", "/page")
        assert client.requests == 2
    finally:
        client.close()


def test_values_read_back_from_the_json_edge_print_as_computed_here() -> None:
    """What the remote adapters rebuild from a server's JSON (analysis, regime, recommendation, sizing, a
    comparison with its full results) writes the same JSON again — so a command prints it as it prints the
    value computed here; and a comparison survives pickling (the server computes it on a process pool)."""
    import asyncio
    import pickle

    from adapters.remote.converter import structure
    from adapters.remote.intelligence import _comparison
    from entrypoints.container import build_container, start_resources, stop_resources
    from entrypoints.serialization import dumps, to_plain
    from entrypoints.settings import load_settings
    from gpt_trader_core.analysis import MarketAnalysis
    from gpt_trader_core.ml import StrategyRecommendation
    from gpt_trader_core.regime import RegimeAnalysis
    from gpt_trader_core.sizing import SizingDecision

    async def values() -> list[tuple[object, object]]:
        container = build_container(load_settings(overrides=["state.url=memory://"]).settings, executor="inline")
        await start_resources(container)
        try:
            intelligence = await container.services.intelligence()
            market = await container.services.market()
            return [
                (await intelligence.analyze("AAPL"), MarketAnalysis),
                (await intelligence.recommend("AAPL"), StrategyRecommendation),
                (await intelligence.size("AAPL", capital=10_000.0, method="fixed", amount=2500.0), SizingDecision),
                (await market.regime("AAPL", None, None, "1d", "hmm"), RegimeAnalysis),
                (await intelligence.compare("MSFT", ["sma_cross", "momentum"], None, None, "1d"), None),
            ]
        finally:
            await stop_resources(container)

    for value, cls in asyncio.run(values()):
        sent = json.loads(dumps(to_plain(value)))  # what the server writes
        back = _comparison(sent) if cls is None else structure(sent, cls)
        assert dumps(to_plain(back)) == dumps(to_plain(value)), type(value).__name__
    comparison = value
    assert dumps(to_plain(pickle.loads(pickle.dumps(comparison)))) == dumps(to_plain(comparison))
    rebuilt = _comparison(json.loads(dumps(to_plain(comparison))))
    assert [type(r.stats["num_trades"]) for r in rebuilt.rows] == [int, int]  # a count, as compare keeps it


def test_remote_compare_refuses_settings_the_server_does_not_take() -> None:
    from adapters.remote.intelligence import _compare_costs

    assert _compare_costs({"cash": 5000.0, "commission": 0.001, "spread": 0.0, "mode": "long_short"}) == {
        "cash": 5000.0,
        "commission": 0.001,
    }
    with pytest.raises(InvalidParameterError, match="default spread, stop_loss: drop those options"):
        _compare_costs({"cash": 5000.0, "spread": 0.001, "stop_loss": 0.05})
