"""`--remote` follows the server's long work on its WebSocket (`/ws/v1`): a workflow execution on
`workflow:ID`, an optimisation on `optimize:ID` — every step and progress update, the same final output as
a local run, a dropped connection resumed with no gap and no duplicate, and the REST status polled instead
(said once on stderr) when the WebSocket is refused.

A real `gpt-trader serve` (auth on; the server fixture of `test_cli_remote`), the installed console script,
and a small TCP proxy in front of the server that can refuse WebSocket handshakes, cut a stream after a
number of frames and hold the reconnection back while the server goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_cli_remote import Server, _stable, _unstamped
from tests.e2e.test_cli_remote import server as server  # the module's own server (auth on)

NOTICE = "by polling its status instead"
ENSEMBLE = ("workflow", "execute", "multi_strategy_ensemble", "-p", "symbol=MSFT", "-p", "timeframe=1h")
OPTIMIZE = ("optimize", "-s", "sma_cross", "--space", "fast=2:60:1", "--space", "slow=20:200:5", "--yes")


class Proxy:
    """127.0.0.1:PORT → the server. WebSocket handshakes can be refused (HTTP 403: a proxy without
    WebSocket support); the first stream can be held back ``hold_first_s`` seconds before it reaches the
    server and cut after ``drop_after_frames`` frames from it, and later ones held back ``hold_s``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.refuse_ws = False
        self.drop_after_frames: int | None = None
        self.hold_s = 0.0
        self.hold_first_s = 0.0
        self.ws_connections = 0
        self.dropped = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        for sock in self._open:
            _shut(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        head = client.recv(65536)
        limit = None
        if b"upgrade: websocket" in head.lower():
            self.ws_connections += 1
            if self.refuse_ws:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                client.close()
                return
            if self.ws_connections == 1:
                limit = self.drop_after_frames
                time.sleep(self.hold_first_s)
            else:
                time.sleep(self.hold_s)
        upstream = socket.create_connection(("127.0.0.1", self.target))
        self._open += [client, upstream]
        upstream.sendall(head)
        threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
        self._pipe(upstream, client, limit)

    def _pipe(self, source: socket.socket, sink: socket.socket, frames: int | None) -> None:
        counter = _FrameCounter() if frames is not None else None
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if counter is not None and frames is not None:
                    cut = counter.feed(chunk, frames)
                    if cut is not None:  # the first ``frames`` frames reach the client, then the line is cut
                        sink.sendall(chunk[:cut])
                        self.dropped.set()
                        break
                sink.sendall(chunk)
        _shut(source)
        _shut(sink)


class _FrameCounter:
    """Counts the WebSocket frames a server sends after its ``101`` answer."""

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0  # of the next frame in ``buffer`` (after the HTTP head)
        self.upgraded = False
        self.frames = 0

    def feed(self, chunk: bytes, limit: int) -> int | None:
        """Where in ``chunk`` the ``limit``-th frame ends, once it does."""
        start = len(self.buffer)
        self.buffer += chunk
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return None
            self.upgraded, self.offset = True, end + 4
        while len(self.buffer) >= self.offset + 2:
            length, header = self.buffer[self.offset + 1] & 0x7F, 2
            if length == 126:
                length, header = int.from_bytes(self.buffer[self.offset + 2 : self.offset + 4]), 4
            elif length == 127:
                length, header = int.from_bytes(self.buffer[self.offset + 2 : self.offset + 10]), 10
            if len(self.buffer) < self.offset + header + length:
                return None
            self.offset += header + length
            self.frames += 1
            if self.frames == limit:
                return self.offset - start
        return None


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    port = int(server.url.rsplit(":", 1)[1])
    front = Proxy(port)
    yield front
    front.close()


def _through(server: Server, proxy: Proxy, *args: str) -> subprocess.CompletedProcess[str]:
    """A remote command through the proxy (credentials: the API key, the stored login is the server's URL's)."""
    return server.cli(*args, "--remote", proxy.url, env={"GPT_TRADER_API_KEY": server.api_key})


def _progress(out: str) -> list[str]:
    """The step lines of a table run, without their times and durations."""
    lines = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in out.splitlines() if re.match(r"^\d\d:\d\d:\d\d ", line)]
    return [re.sub(r"(wf_[0-9a-f]+|in \d+\.\d\d s)", "X", line) for line in lines]


def _every_step_once(out: str, steps: list[str]) -> None:
    lines = _progress(out)
    assert len(lines) == len(set(lines)), lines  # nothing twice
    assert sum("started (X)" in line for line in lines) == 1, lines
    for step in steps:
        assert lines.count(f"▶ {step} started") == 1, (step, lines)
        assert lines.count(f"✓ {step} finished X") == 1, (step, lines)
    assert len(lines) == 1 + 2 * len(steps), lines


def _steps(server: Server, out: str) -> list[str]:
    execution = re.search(r"started \((wf_[0-9a-f]+)\)", out)
    assert execution, out
    status = server.request("GET", f"/api/v1/workflows/status/{execution[1]}", token=server.token())
    assert status["status"] == "succeeded"
    return [step["name"] for step in status["result"]["steps"]]


def test_a_remote_workflow_follows_the_stream_and_prints_what_it_prints_here(server: Server, proxy: Proxy) -> None:
    local, remote = server.cli(*ENSEMBLE), _through(server, proxy, *ENSEMBLE)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert NOTICE not in remote.stderr and proxy.ws_connections >= 1  # followed on the stream, not polled
    _every_step_once(remote.stdout, _steps(server, remote.stdout))
    assert sorted(_progress(remote.stdout)) == sorted(_progress(local.stdout))  # parallel steps: any order
    # the final output: the same execution (JSON) as here
    here, there = server.cli(*ENSEMBLE, "--format", "json"), _through(server, proxy, *ENSEMBLE, "--format", "json")
    assert here.returncode == there.returncode == 0, there.stderr
    assert _stable(json.loads(there.stdout)) == _stable(json.loads(here.stdout))


def test_a_stream_dropped_mid_execution_resumes_with_no_gap(server: Server, proxy: Proxy) -> None:
    proxy.drop_after_frames = 5  # hello, subscribed, three messages; then the line is cut …
    proxy.hold_s = 2.0  # … and the reconnection reaches the server once the execution has finished there
    remote = _through(server, proxy, *ENSEMBLE)
    assert remote.returncode == 0, remote.stderr
    assert proxy.dropped.is_set() and proxy.ws_connections >= 2, proxy.ws_connections
    assert NOTICE not in remote.stderr, remote.stderr  # resumed on the stream, not polled
    _every_step_once(remote.stdout, _steps(server, remote.stdout))


def test_the_stream_replays_what_a_dropped_connection_missed_each_message_once(server: Server, proxy: Proxy) -> None:
    """The adapter under the CLI: every event it hands out came from the stream (``seq`` > 0: none had to
    be made up from the status) and the numbers run 1, 2, 3 … with no gap and no repeat across the cut."""
    from adapters.remote.client import RemoteClient
    from adapters.remote.services import RemoteWorkflows

    proxy.drop_after_frames = 4
    proxy.hold_s = 2.0

    async def follow() -> tuple[list[Any], Any, Any]:
        client = RemoteClient(proxy.url, api_key=server.api_key, use_environment=False)
        workflows = RemoteWorkflows(client)
        execution = await workflows.prepare("multi_strategy_ensemble", {"symbol": "AAPL", "timeframe": "1h"})
        events = workflows.events(execution.id)
        finished = await workflows.run_prepared(execution.id)
        await events.close()
        seen = [event async for event in events]
        follow = workflows._follows[execution.id]
        await workflows.shutdown()
        client.close()
        return seen, finished, follow

    events, finished, follow = asyncio.run(follow())
    assert finished.status.value == "succeeded"
    assert proxy.dropped.is_set() and follow.stream.reconnects >= 1 and not follow.polled
    seqs = [event.seq for event in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert events[0].type == "execution_started" and events[-1].type == "execution_finished"
    steps = [step["name"] for step in finished.result["steps"]]
    for kind in ("step_started", "step_finished"):
        assert sorted(e.data["step"] for e in events if e.type == kind) == sorted(steps)


def test_a_refused_websocket_falls_back_to_polling_and_says_so_once(server: Server, proxy: Proxy) -> None:
    proxy.refuse_ws = True
    remote = _through(server, proxy, *ENSEMBLE)
    assert remote.returncode == 0, remote.stderr
    assert remote.stderr.count(NOTICE) == 1 and "HTTP 403" in remote.stderr, remote.stderr
    _every_step_once(remote.stdout, _steps(server, remote.stdout))
    optimised = _through(server, proxy, *OPTIMIZE, "--symbol", "MSFT", "--format", "json")
    assert optimised.returncode == 0, optimised.stderr
    assert optimised.stderr.count(NOTICE) == 1, optimised.stderr
    local = server.cli(*OPTIMIZE, "--symbol", "MSFT", "--format", "json")
    assert _unstamped(optimised.stdout) == _unstamped(local.stdout)


def _last_frame(stderr: str) -> str:
    """The progress bar's last state, without its ETA."""
    frames = [line for line in stderr.replace("\r", "\n").splitlines() if "%" in line and "/" in line]
    assert frames, stderr
    return re.sub(r" eta [0-9.]+s", "", frames[-1]).strip()


def test_a_remote_optimisation_reports_progress_from_the_stream_as_here(server: Server, proxy: Proxy) -> None:
    args = (*OPTIMIZE, "--symbol", "AAPL")
    local, remote = server.cli(*args), _through(server, proxy, *args)
    assert local.returncode == remote.returncode == 0, remote.stderr
    assert NOTICE not in remote.stderr and proxy.ws_connections >= 1
    # the progress bar reaches the end with the best trial so far, as here (the stream carries it)
    assert _last_frame(remote.stderr) == _last_frame(local.stderr)
    assert " best " in _last_frame(remote.stderr)
    assert _unstamped(remote.stdout) == _unstamped(local.stdout)


def test_a_remote_optimisation_resumes_a_dropped_stream(server: Server, proxy: Proxy) -> None:
    from adapters.remote.client import RemoteClient
    from adapters.remote.optimize import RemoteOptimizer
    from gpt_trader_core.backtesting.config import BacktestConfig
    from gpt_trader_core.services.optimization import OptimizeRequest

    proxy.drop_after_frames = 3  # hello, subscribed, the first message
    proxy.hold_s = 0.5
    request = OptimizeRequest(
        symbol="GOOG",
        strategy="sma_cross",
        space={"fast": list(range(2, 61)), "slow": list(range(20, 201, 5))},
        config=BacktestConfig(),
        max_trials=None,
    )
    seen: list[Any] = []

    async def run() -> tuple[Any, RemoteOptimizer]:
        client = RemoteClient(proxy.url, api_key=server.api_key, use_environment=False)
        optimizer = RemoteOptimizer(client)
        result = await optimizer.run(request, progress=seen.append)
        client.close()
        return result, optimizer

    result, optimizer = asyncio.run(run())
    assert proxy.dropped.is_set() and optimizer.stream.reconnects >= 1 and not optimizer.polled
    done = [p.done for p in seen]
    assert done and done == sorted(set(done)) and done[-1] == result.total, done  # in order, each once, to the end
    assert seen[-1].best_params is not None and seen[-1].best_value == pytest.approx(result.best.value)


def test_a_stream_that_connects_after_the_execution_finished_still_tells_every_step(
    server: Server, proxy: Proxy
) -> None:
    """The first WebSocket reaches the server only once the execution has finished there: the channel's
    replay from message 1 tells every step (the REST status read at the start sees it unfinished)."""
    from adapters.remote.client import RemoteClient
    from adapters.remote.services import RemoteWorkflows

    proxy.hold_first_s = 2.0

    async def follow() -> tuple[list[Any], Any]:
        client = RemoteClient(proxy.url, api_key=server.api_key, use_environment=False)
        workflows = RemoteWorkflows(client)
        execution = await workflows.prepare("simple_backtest", {"symbol": "GOOG"})
        events = workflows.events(execution.id)
        finished = await workflows.run_prepared(execution.id)
        await events.close()
        seen = [event async for event in events]
        await workflows.shutdown()
        client.close()
        return seen, finished

    events, finished = asyncio.run(follow())
    assert finished.status.value == "succeeded" and proxy.ws_connections >= 1
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    steps = sorted(step["name"] for step in finished.result["steps"])
    assert sorted(e.data["step"] for e in events if e.type == "step_finished") == steps


def test_the_status_tells_only_what_the_stream_did_not_and_never_takes_a_step_back() -> None:
    """``StepTracker``: a status read (REST) after stream events adds the steps the stream missed, once, and
    a status that lags behind the stream (stored later than announced) adds nothing."""
    from adapters.remote.services import StepTracker
    from gpt_trader_core.domain.records import Event, Execution, ExecutionStatus

    def execution(*steps: tuple[str, str]) -> Execution:
        result = {"steps": [{"name": n, "status": s, "duration_s": 0.1} for n, s in steps]}
        return Execution(id="wf_1", kind="workflow", name="w", status=ExecutionStatus.RUNNING, result=result)

    tracker = StepTracker("wf_1")
    tracker.observe(Event("execution:wf_1", "execution_started", {"workflow": "w"}))
    tracker.observe(Event("execution:wf_1", "step_started", {"step": "a"}))
    tracker.observe(Event("execution:wf_1", "step_finished", {"step": "a"}))
    assert tracker.changes(execution(("a", "running"), ("b", "pending"))) == []  # behind the stream
    told = tracker.changes(execution(("a", "succeeded"), ("b", "succeeded"), ("c", "running")))
    assert [(e.type, e.data["step"]) for e in told] == [
        ("step_started", "b"),
        ("step_finished", "b"),
        ("step_started", "c"),
    ]
    assert tracker.changes(execution(("a", "succeeded"), ("b", "succeeded"), ("c", "running"))) == []
