"""`gpt-trader run --remote URL` learns that the server's session ended from the server's WebSocket: the
session's end (``session_finished``/``session_stopped``/``session_failed``, published through its outbox once
stored) arrives on ``system:events`` and the command reads the session's REST status then — at once, not at
the next poll. A stream cut mid-session is resumed and still ends it; a refused stream falls back to polling
the status, said once on stderr; Ctrl-C still stops the session on the server.

A real `gpt-trader serve` (auth on; the server fixture of `test_cli_remote`), the installed console script, and
the TCP proxy of `test_cli_remote_follow` (refuses WebSocket handshakes, cuts a stream, holds a reconnection).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
import statistics
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.e2e.test_cli_remote import COMMAND, Server
from tests.e2e.test_cli_remote import server as server  # the module's own server (auth on)
from tests.e2e.test_cli_remote_follow import NOTICE, Proxy, _through
from tests.e2e.test_cli_remote_follow import proxy as proxy

#: A paper session of 10 synthetic one-minute bars at 600 x real time: it trades about one second, then stops.
RUN = ("run", "--strategy", "momentum", "--symbol", "AAPL", "--mode", "paper", "--bars", "10")
#: Far beyond the time a session takes here: a follow that returns sooner was told by the stream.
NEVER_POLLED_S = 60.0


def _session(out: str) -> str:
    found = re.search(r"session (ses_[0-9a-f]+) stopped \(SYNTHETIC DATA\): 10 bars", out)
    assert found, out
    return found[1]


def _ended_at(server: Server, session: str) -> dt.datetime:
    """When the server stored the session's end (naive UTC, as it stamps)."""
    view = server.request("GET", f"/api/v1/sessions/{session}", token=server.token())["session"]
    assert view["status"] in ("stopped", "finished"), view
    return dt.datetime.fromisoformat(str(view["updated_at"]).rstrip("Z")).replace(tzinfo=None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _end_to_exit(server: Server, proxy: Proxy, speed: float = 600) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds from the session's end on the server to the command's exit here."""
    proc = _through(server, proxy, *RUN, "--speed", f"{speed:g}")
    exited = _now()
    assert proc.returncode == 0, proc.stderr
    return (exited - _ended_at(server, _session(proc.stdout))).total_seconds(), proc


def test_run_ends_from_the_stream_when_the_session_ends_on_the_server(server: Server, proxy: Proxy) -> None:
    latency, proc = _end_to_exit(server, proxy)
    assert NOTICE not in proc.stderr, proc.stderr  # followed on the stream, not polled
    assert proxy.ws_connections >= 2, proxy.ws_connections  # the status line's stream and the end's
    assert 0 <= latency < 5, latency
    # `run --resume ID --remote URL` continues it there, followed to its end the same way
    session = _session(proc.stdout)
    resumed = _through(server, proxy, "run", "--resume", session, "--speed", "600", "--bars", "10")
    exited = _now()
    assert resumed.returncode == 0 and NOTICE not in resumed.stderr, resumed.stderr
    assert f"session {session} stopped (SYNTHETIC DATA): 20 bars" in resumed.stdout, resumed.stdout
    assert 0 <= (exited - _ended_at(server, session)).total_seconds() < 5


def _follow(server: Server, proxy: Proxy, **feed: Any) -> tuple[Any, float, Any]:
    """``RemoteSessions.run`` (what `run --remote` calls) through the proxy, never polling in time: the
    session's record at the end, seconds from its stored end to ``run`` returning, and the adapter."""
    from adapters.remote.client import RemoteClient
    from adapters.remote.services import RemoteSessions
    from gpt_trader_core.domain.specs import FeedSpec
    from gpt_trader_core.services.sessions import SessionRequest

    spec = FeedSpec("synthetic", "1m", **{"speed": 600.0, "stop_after": 10, **feed})
    request = SessionRequest("momentum", ("AAPL",), feed=spec)

    async def run() -> tuple[Any, dt.datetime, RemoteSessions]:
        client = RemoteClient(proxy.url, api_key=server.api_key, use_environment=False)
        sessions = RemoteSessions(client, poll_interval=NEVER_POLLED_S)
        record = await sessions.run(request)
        returned = _now()
        client.close()
        return record, returned, sessions

    record, returned, sessions = asyncio.run(run())
    return record, (returned - _ended_at(server, record.id)).total_seconds(), sessions


def test_the_session_end_is_told_by_the_stream_not_found_by_polling(server: Server, proxy: Proxy) -> None:
    """Polling every minute, the follow still returns within moments of the end: the stream told it. (The
    status read after a quiet 5 s cannot have either: the session ends about 1 s after the subscription.)"""
    record, latency, sessions = _follow(server, proxy)
    assert record.status.value == "stopped" and record.last_bar == 9
    assert not sessions.polled and sessions.stream.last_seq > 0
    assert 0 <= latency < 2, latency


def test_a_stream_cut_mid_session_resumes_and_still_ends_it(server: Server, proxy: Proxy) -> None:
    """The first stream is cut right after the subscription (hello, subscribed) and the reconnection reaches
    the server only once the session has ended there: the replay from the last number seen carries the end."""
    proxy.drop_after_frames = 2
    proxy.hold_s = 2.0
    from adapters.remote.client import RemoteClient
    from adapters.remote.services import RemoteSessions
    from gpt_trader_core.domain.specs import FeedSpec
    from gpt_trader_core.services.sessions import SessionRequest

    request = SessionRequest("momentum", ("AAPL",), feed=FeedSpec("synthetic", "1m", 600.0, stop_after=10))

    async def run() -> tuple[Any, float, RemoteSessions]:
        client = RemoteClient(proxy.url, api_key=server.api_key, use_environment=False)
        sessions = RemoteSessions(client, poll_interval=NEVER_POLLED_S)
        started = time.monotonic()
        record = await sessions.run(request)
        took = time.monotonic() - started
        client.close()
        return record, took, sessions

    record, took, sessions = asyncio.run(run())
    assert record.status.value == "stopped" and record.last_bar == 9
    assert proxy.dropped.is_set() and sessions.stream.reconnects >= 1 and not sessions.polled
    assert took < 4.5, took  # before the quiet status read (5 s after subscribing): the resumed stream told it


def test_a_refused_stream_falls_back_to_polling_and_says_so_once(server: Server, proxy: Proxy) -> None:
    proxy.refuse_ws = True
    latency, proc = _end_to_exit(server, proxy)
    assert proc.stderr.count(NOTICE) == 1 and "HTTP 403" in proc.stderr, proc.stderr
    assert 0 <= latency < 5, latency
    stored = server.request("GET", f"/api/v1/sessions/{_session(proc.stdout)}", token=server.token())
    assert stored["session"]["last_bar"] == 9 and stored["running"] is False


@pytest.mark.parametrize("refused", [False, True], ids=["stream", "polled"])
def test_ctrl_c_stops_the_session_on_the_server(server: Server, proxy: Proxy, refused: bool) -> None:
    """A session with no end of its own (one synthetic bar a second): SIGINT once it trades stops it there."""
    proxy.refuse_ws = refused
    proc = subprocess.Popen(
        [*COMMAND, "run", "--strategy", "momentum", "--symbol", "AAPL", "--mode", "paper", "--remote", proxy.url],
        cwd=server.home, env={**server.env, "GPT_TRADER_API_KEY": server.api_key},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    guard = threading.Timer(60, proc.kill)  # nothing within a minute: fail, do not hang
    guard.start()
    # trading and followed: the status line (from the server's stream), or the notice that it is polled
    first = proc.stderr.readline() if refused else proc.stdout.readline()
    guard.cancel()
    assert (NOTICE in first) if refused else first.startswith("bar "), first
    token = server.token()
    running = server.request("GET", "/api/v1/sessions?status=running", token=token)["items"]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    session = re.search(r"session (ses_[0-9a-f]+) stopped \(SYNTHETIC DATA\)", out)
    assert session and [s["id"] for s in running] == [session[1]], (out, running)
    assert (first + err).count(NOTICE) == int(refused), err
    stored = server.request("GET", f"/api/v1/sessions/{session[1]}", token=token)
    assert stored["session"]["status"] == "stopped" and stored["running"] is False


@pytest.mark.slow
def test_the_command_exits_sooner_after_the_end_on_the_stream_than_by_polling(server: Server, proxy: Proxy) -> None:
    """The figure: seconds from the session's stored end to the command's exit, median of 10 runs each, on
    the stream and by polling the status twice a second (what `run --remote` did before; interleaved, so
    the machine's load weighs on both alike). The sessions last 1.00 to 1.45 s, so that they end at every
    phase of the polling, as sessions do."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for run in range(10):
        for refused in (False, True):
            proxy.refuse_ws = refused
            latency, proc = _end_to_exit(server, proxy, speed=60 / (0.1 + 0.005 * run))
            assert (NOTICE in proc.stderr) is refused, proc.stderr
            times[refused].append(latency)
    stream, polled = statistics.median(times[False]), statistics.median(times[True])
    print(f"\nend → exit, median of 10: stream {stream * 1000:.0f} ms, polled {polled * 1000:.0f} ms")
    print(f"  stream {sorted(round(t * 1000) for t in times[False])}")
    print(f"  polled {sorted(round(t * 1000) for t in times[True])}")
    assert stream < polled
