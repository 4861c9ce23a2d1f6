"""Issue 18 through a real ``gpt-trader serve --workers 4`` on the real Redis and PostgreSQL.

- SIGKILL the worker that leads a paper session: another worker takes it over within 5 s, and the
  session's final fills equal an uninterrupted run of the same request (no lost fill, no order twice);
  WebSocket clients of ``trades:live`` spread over the workers (those on the killed one reconnect and
  resume by ``last_seq``) see every fill once, in order, with channel numbers that have no gap.
- A rate limit holds across workers (requests answered by different worker processes share one count).
- A POST that starts a workflow with one Idempotency-Key, sent at once to several workers, starts one
  execution.
- An API key revoked (from the CLI, on the shared store) is refused by every worker within the record
  cache's second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import psutil
import pytest
import redis
import websockets

from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.feeds.factory import FeedFactory
from adapters.market_data.csv import CsvMarketData
from adapters.state.memory import InMemoryStateStore
from adapters.state.postgres import PostgresStateStore
from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
from gpt_trader_core.strategy import REGISTRY
from tests.e2e.conftest import free_port
from tests.e2e.test_run_cli import COMMAND
from tests.e2e.test_session_data import write_csv
from tests.e2e.ws_server import Client

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

WORKERS = 4
READ_LIMIT = 12
SESSION = {
    "strategy": "sma_cross",
    "symbols": ["GOOG"],
    "params": {"fast": 5, "slow": 20},
    "capital": 100_000,
    "tier_aware": False,
}
SPEED = 86_400 * 60  # 60 daily bars a second: ~13 s for the whole replay


@attrs.frozen
class Cluster:
    port: int
    process: subprocess.Popen[str]
    state_url: str
    redis_url: str
    data: Path
    key: str  # an admin API key
    env: dict[str, str]
    sets: list[str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args, *self.sets], env=self.env, cwd=self.data, capture_output=True, text=True, timeout=120
        )

    def http(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        not_on: int | None = None,
    ) -> tuple[int, dict[str, str], Any, int]:
        return http(self.port, method, path, body, {"X-API-Key": self.key, **(headers or {})}, not_on=not_on)


def http(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    not_on: int | None = None,
) -> tuple[int, dict[str, str], Any, int]:
    """One request on a NEW connection (so the kernel may hand it to any worker); returns status,
    headers, JSON body and the pid of the worker process that accepted the connection. ``not_on``:
    a worker pid the request must not be sent to (connections it accepts are closed unused)."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    while True:
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        worker = _acceptor(port, sock.getsockname()[1])  # before sending: the worker keeps it open till then
        if worker != not_on:
            break
        sock.close()
    with sock:
        sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, raw = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), parsed, json.loads(raw) if raw.strip() else None, worker


def _acceptor(port: int, client_port: int) -> int:
    """The worker holding the server side of the connection from ``client_port`` (it appears once accepted)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for conn in psutil.net_connections(kind="tcp4"):
            if conn.pid and conn.laddr and conn.raddr and conn.laddr.port == port and conn.raddr.port == client_port:
                return int(conn.pid)
        time.sleep(0.01)
    raise AssertionError(f"no worker accepted the connection from port {client_port}")


def _worker_pids(cluster: Cluster) -> set[int]:
    return {p.pid for p in psutil.Process(cluster.process.pid).children(recursive=True)}


def _serving(cluster: Cluster) -> int:
    """How many worker processes listen on the cluster's port."""
    count = 0
    for child in psutil.Process(cluster.process.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(
                c.laddr and c.laddr.port == cluster.port and c.status == "LISTEN" for c in child.net_connections("tcp")
            ):
                count += 1
    return count


def _owner_pid(owner: str | None) -> int | None:
    return None if not owner else int(owner.split(":")[1])


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scale")


@pytest.fixture(scope="module")
def cluster(module_tmp: Path, redis_url: str, postgres_server: str) -> Iterator[Cluster]:
    schema = f"t_{uuid.uuid4().hex}"
    state_url = f"{postgres_server}?schema={schema}"
    write_csv(module_tmp / "csv", "GOOG", seed=11, end="2017-12-31")
    (module_tmp / "home").mkdir(exist_ok=True)
    env = {k: v for k, v in __import__("os").environ.items() if not k.upper().startswith("GPT_TRADER__")}
    env["HOME"] = str(module_tmp / "home")
    port = free_port()
    settings = {
        "bus.backend": "redis",
        "bus.redis_url": redis_url,
        "bus.namespace": f"gpt-trader:test:{uuid.uuid4().hex[:8]}",
        "state.url": state_url,
        "market_data.source": "csv",
        "market_data.path": str(module_tmp / "csv"),
        "api.rate_limits.read": f"{READ_LIMIT}/minute",
        "api.rate_limits.heavy": "1000/minute",
        "api.shutdown_timeout": "5",
        "system.data_dir": str(module_tmp / "data"),
    }
    sets = [arg for key, value in settings.items() for arg in ("--set", f"{key}={value}")]
    created = subprocess.run(
        [*COMMAND, "keys", "create", "--name", "scale-test", "--role", "admin", *sets],
        env=env,
        cwd=module_tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[1].strip()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--workers", str(WORKERS), "--port", str(port), *sets],
        env=env,
        cwd=module_tmp,
        stdout=(module_tmp / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_workers(process, port, module_tmp / "serve.log")
        yield Cluster(port, process, state_url, redis_url, module_tmp, key, env, sets)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        import psycopg

        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _wait_for_workers(process: subprocess.Popen[str], port: int, log: Path, timeout: float = 120) -> None:
    """Every worker has logged that it listens (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        if log.read_text().count(f":{port} (worker pid") >= WORKERS:
            return
        time.sleep(0.2)
    raise AssertionError(f"the workers did not all start:\n{log.read_text()}")


@contextlib.asynccontextmanager
async def postgres(cluster: Cluster) -> AsyncIterator[PostgresStateStore]:
    store = PostgresStateStore.from_url(cluster.state_url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def uninterrupted_fills(data: Path) -> list[tuple[Any, ...]]:
    """The same request run start to end in one process, as fast as possible: what the cluster must match."""
    store = InMemoryStateStore()
    await store.open()
    sessions = TradingSessions(
        store, InMemoryEventBus(), REGISTRY, FeedFactory(CsvMarketData(data)), SimulatedBrokerFactory()
    )
    request = SessionRequest(
        **{**SESSION, "symbols": tuple(SESSION["symbols"]), "feed": {"kind": "replay", "speed": 0}}
    )  # type: ignore[arg-type]
    record = await sessions.run(request, asyncio.Event())
    assert record.status.value == "finished"
    return _fill_rows(await store.list_fills(record.id), record.id)


def _fill_rows(fills: list[Any], session_id: str) -> list[tuple[Any, ...]]:
    """Fills without their session's id (different ids for the two runs)."""
    strip = session_id + ":"
    return [
        (
            f.client_order_id.removeprefix(strip),
            f.fill_id.replace(session_id, "S"),
            f.symbol,
            f.side.value,
            f.quantity,
            f.price,
            f.commission,
            f.bar,
        )
        for f in fills
    ]


@attrs.define
class Follower:
    """A WebSocket client of ``trades:live`` on whichever worker accepts it; when its worker dies it
    reconnects (to any other) and resumes after the last number it saw, as a real client does."""

    port: int
    key: str
    pin: int | None = None  # the worker its first connection must reach
    after: int | None = None  # resume after this trades:live number at its first subscribe
    start: int | None = None  # the channel's number when it first subscribed
    seen: list[dict[str, Any]] = attrs.field(factory=list)
    workers: list[int] = attrs.field(factory=list)  # the worker of each connection
    ready: asyncio.Event = attrs.field(factory=asyncio.Event)
    stop: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                sock, worker = await asyncio.to_thread(self._connection)
                client = await Client.connect(
                    f"ws://127.0.0.1:{self.port}/ws/v1", sock=sock, additional_headers={"X-API-Key": self.key}
                )
            except OSError:
                await asyncio.sleep(0.1)
                continue
            try:
                self.workers.append(worker)
                last = self.seen[-1]["seq"] if self.seen else self.after
                subscribed = await client.subscribe(
                    "trades:live", **({"last_seq": {"trades:live": last}} if last is not None else {})
                )
                if self.start is None:
                    self.start = subscribed["seq"]["trades:live"]
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        message = await client.recv(0.5)
                    except TimeoutError:
                        continue
                    if message.get("channel") == "trades:live" and message.get("type") != "snapshot":
                        self.seen.append(message)
            except websockets.ConnectionClosed:
                continue  # its worker died: again, on another
            finally:
                await client.close()

    def _connection(self) -> tuple[socket.socket, int]:
        """A TCP connection and the worker that accepted it; the first reaches ``pin`` (others are
        closed before any request, so they count against no rate limit)."""
        while True:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            worker = _acceptor(self.port, sock.getsockname()[1])
            if self.pin is None or self.workers or worker == self.pin:
                return sock, worker
            sock.close()


async def test_killing_the_leader_moves_the_session_within_5_s_and_loses_no_fill(cluster: Cluster) -> None:
    expected = await uninterrupted_fills(cluster.data / "csv")
    followers = [Follower(cluster.port, cluster.key) for _ in range(4)]  # WebSocket handshakes count as reads
    tasks = [asyncio.create_task(f.run()) for f in followers]
    async with asyncio.timeout(30):
        for follower in followers:
            await follower.ready.wait()
    status, _, body, _ = cluster.http(
        "POST", "/api/v1/sessions", {**SESSION, "feed": {"kind": "replay", "speed": SPEED}}
    )
    assert status == 201, body
    session_id = body["id"]
    leases = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    key = f"gpt-trader:lease:session:{session_id}"
    async with postgres(cluster) as store:
        leader = _owner_pid((await store.get_session(session_id)).owner)
        assert leader is not None and leader in {
            p.pid for p in psutil.Process(cluster.process.pid).children(recursive=True)
        }
        # One client on the leader for sure (it must resume elsewhere), from where the others started.
        start = min(f.start for f in followers if f.start is not None)
        followers.append(Follower(cluster.port, cluster.key, pin=leader, after=start))
        tasks.append(asyncio.create_task(followers[-1].run()))
        async with asyncio.timeout(30):
            await followers[-1].ready.wait()
        while (await store.get_session(session_id)).last_bar < 60:  # trading, with fills behind it
            await asyncio.sleep(0.05)
        killed_at_bar = (await store.get_session(session_id)).last_bar
        killed = time.monotonic()
        psutil.Process(leader).send_signal(signal.SIGKILL)
        took_over = None
        while time.monotonic() - killed < 30:
            record = await store.get_session(session_id)
            owner = _owner_pid(record.owner)
            if owner not in (None, leader) and leases.get(key) == record.owner:
                took_over = time.monotonic() - killed
                break
            await asyncio.sleep(0.02)
        assert took_over is not None, "no worker took the session over within 30 s"
        assert took_over < 5.0, f"took {took_over:.2f} s"
        assert psutil.pid_exists(owner)  # a live worker leads now
        deadline = time.monotonic() + 120
        while (record := await store.get_session(session_id)).status.value == "running":
            assert time.monotonic() < deadline, "the session did not finish"
            await asyncio.sleep(0.2)
        assert record.status.value == "finished", record.error
        assert record.last_bar > killed_at_bar
        stored_fills = await store.list_fills(session_id)
        fills = _fill_rows(stored_fills, session_id)
        orders = await store.list_orders(session_id)
    assert fills == expected
    assert len({o.order.client_order_id for o in orders}) == len(orders)
    stored_fill_ids = [f.fill_id for f in stored_fills]
    deadline = time.monotonic() + 30
    while any(_fill_ids(f, session_id) != stored_fill_ids for f in followers) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for follower in followers:
        follower.stop.set()
    await asyncio.gather(*tasks)
    for follower in followers:
        numbers = [m["seq"] for m in follower.seen]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a gap or a duplicate"
        assert _fill_ids(follower, session_id) == stored_fill_ids  # every fill once, in order
    assert len({w for f in followers for w in f.workers}) >= 2, "all clients on one worker: proves little"
    resumed = sum(len(f.workers) > 1 for f in followers)
    assert len(followers[-1].workers) > 1, "the client on the killed worker did not resume elsewhere"
    assert leases.get(key) is None  # released when it finished
    deadline = time.monotonic() + 60
    while (serving := _serving(cluster)) != WORKERS or leader in _worker_pids(cluster):
        assert time.monotonic() < deadline, f"the dead worker was not started again ({serving} serving)"
        await asyncio.sleep(0.2)
    print(
        f"takeover after SIGKILL: {took_over:.2f} s; {len(fills)} fills, equal to an uninterrupted run; "
        f"{len(followers)} WebSocket clients saw each once in order ({resumed} resumed on another worker)"
    )


def _fill_ids(follower: Follower, session_id: str) -> list[str]:
    return [
        m["data"]["fill_id"] for m in follower.seen if m["type"] == "fill" and m["data"].get("session_id") == session_id
    ]


async def test_leader_only_calls_answer_on_every_worker(cluster: Cluster) -> None:
    """A rebalance (its preview needs the running engine's prices, its execution queues orders in the
    engine) works from a worker that does not run the session: the command goes to the one that does."""
    status, _, body, _ = cluster.http(
        "POST", "/api/v1/sessions", {**SESSION, "feed": {"kind": "replay", "speed": 86_400 * 4}}
    )
    assert status == 201, body
    session_id = body["id"]
    rebalance = {"session_id": session_id, "target_weights": {"GOOG": 0.5}}
    try:
        async with postgres(cluster) as store:
            leader = _owner_pid((await store.get_session(session_id)).owner)
            while (await store.get_session(session_id)).last_bar < 2:  # a price seen
                await asyncio.sleep(0.05)
            workers = set()
            for _ in range(3):
                status, _, body, worker = cluster.http(
                    "POST", "/api/v1/portfolio/rebalance", {**rebalance, "execute": False}, not_on=leader
                )
                assert status == 200, body
                assert body["executed"] is False and body["plan"]["orders"], body
                workers.add(worker)
            status, _, body, worker = cluster.http(
                "POST", "/api/v1/portfolio/rebalance", {**rebalance, "execute": True}, not_on=leader
            )
            assert status == 200, body
            assert body["executed"] is True and worker != leader
            deadline = time.monotonic() + 20
            while not any(":rebalance:" in o.order.client_order_id for o in await store.list_orders(session_id)):
                assert time.monotonic() < deadline, "the rebalance orders never reached the session"
                await asyncio.sleep(0.1)
            status, _, detail, _ = cluster.http("GET", f"/api/v1/sessions/{session_id}", not_on=leader)
            assert status == 200 and detail["session"]["status"] == "running" and detail["running"], detail
    finally:
        cluster.http("POST", f"/api/v1/sessions/{session_id}/stop")
    assert leader not in workers and len(workers | {leader}) >= 2


def test_a_rate_limit_holds_across_workers(cluster: Cluster) -> None:
    answered: list[tuple[int, int]] = []
    for _ in range(READ_LIMIT * 3):
        status, headers, _, worker = cluster.http("GET", "/api/v1/strategies/list")
        answered.append((status, worker))
        if status == 429:
            assert int(headers["retry-after"]) >= 1
        if sum(1 for s, _ in answered if s == 429) >= 8:
            break
    allowed = [w for s, w in answered if s == 200]
    refused = [w for s, w in answered if s == 429]
    assert len(allowed) <= READ_LIMIT  # one count for all workers (each alone would allow READ_LIMIT)
    assert answered[: len(allowed)] == [(200, w) for w in allowed]  # once refused, refused everywhere
    assert len(set(allowed + refused)) >= 2, "all requests reached one worker; the test proves nothing"
    assert len(set(refused)) >= 2 or len(set(allowed)) >= 2


def test_a_workflow_execution_starts_once_whichever_workers_get_the_request(cluster: Cluster) -> None:
    key = uuid.uuid4().hex
    body = {"params": {"symbol": "GOOG", "strategy": "sma_cross"}}
    results: list[tuple[int, Any, int]] = []

    def post() -> None:
        status, _, answer, worker = cluster.http(
            "POST", "/api/v1/workflows/execute/simple_backtest", body, {"Idempotency-Key": key}
        )
        results.append((status, answer, worker))

    import threading

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8
    assert {status for status, _, _ in results} == {202}, results
    ids = {answer["id"] for _, answer, _ in results}
    assert len(ids) == 1, ids
    assert len({worker for _, _, worker in results}) >= 2


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ([], "bus.backend=redis"),
        (["--set", "bus.backend=redis", "--set", "state.url=memory://"], "shared state store"),
        (["--set", "bus.backend=redis", "--mode", "all"], "--mode api"),
        (["--set", "bus.backend=redis", "--set", "executor.kind=dask"], "executor.scheduler_address"),
    ],
)
def test_serve_refuses_workers_it_cannot_share_with_the_reason(cli: Any, settings: list[str], named: str) -> None:
    result = cli("serve", "--workers", "2", "--port", str(free_port()), *settings, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr


def test_a_revoked_api_key_is_refused_by_every_worker_within_a_second(cluster: Cluster) -> None:
    created = cluster.cli("keys", "create", "--name", "to-revoke", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    key_id, key = created.stdout.split()[2], created.stdout.splitlines()[1].strip()
    answered = [http(cluster.port, "GET", "/api/v1/sessions", headers={"X-API-Key": key}) for _ in range(6)]
    assert {status for status, *_ in answered} == {200}
    revoked = cluster.cli("keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(1.2)  # api.auth.record_cache_ttl (1 s): how long a worker may reuse the record it read
    answered = [http(cluster.port, "GET", "/api/v1/sessions", headers={"X-API-Key": key}) for _ in range(12)]
    assert {status for status, *_ in answered} == {401}
    assert len({worker for *_, worker in answered}) >= 2
