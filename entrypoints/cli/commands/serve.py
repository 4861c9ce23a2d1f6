"""``gpt-trader serve``: the HTTP API and/or the WebSocket server, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from types import FrameType
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from gpt_trader_core.errors import ConfigurationError


class ServeCommand(AppCommand):
    name = "serve"
    description = "Run the HTTP API and/or the WebSocket server (stops gracefully on SIGTERM/Ctrl-C)."
    help = """Modes: <info>api</info> (HTTP on api.port), <info>websocket</info> (WebSocket on websocket.port) or
<info>all</info> (both, one process). SIGTERM or Ctrl-C stops accepting connections, lets requests in
flight finish within api.shutdown_timeout seconds, releases the state store, cache and executor,
and exits 0.

<info>--workers N</info> (or api.workers) runs N server processes on one port (mode api; the API port
serves the WebSocket streams too). They share one system through Redis — set bus.backend=redis:
events, trading-session leases (a session runs in one worker; when that worker dies another takes
it over within seconds) and rate limits — and the state store (SQLite on one machine, PostgreSQL
across machines).

  <comment>gpt-trader serve --mode api --port 8000</comment>
  <comment>gpt-trader serve --workers 4 --set bus.backend=redis</comment>
  <comment>gpt-trader serve --mode all</comment>
  <comment>gpt-trader serve --mode websocket --set websocket.port=8001</comment>"""
    options: ClassVar[list[Option]] = [
        option("mode", "m", "api, websocket or all (default: system.mode, or api when that is cli)", flag=False),
        option("host", None, "Interface to listen on (default: api.host)", flag=False),
        option("port", "p", "HTTP port (default: api.port)", flag=False),
        option("ws-port", None, "WebSocket port (default: websocket.port)", flag=False),
        option("workers", "w", "Server processes (default: api.workers; > 1 needs bus.backend=redis)", flag=False),
    ]
    executor = "local"

    def settings_overrides(self) -> list[str]:
        overrides = []
        for opt, key in (
            ("host", "api.host"),
            ("port", "api.port"),
            ("ws-port", "websocket.port"),
            ("workers", "api.workers"),
        ):
            if self.option(opt) is not None:
                overrides.append(f"{key}={self.option(opt)}")
        return overrides

    def serving(self, app: Any, settings: Any) -> None:
        """Called with the API app before it starts: commands that serve the same app add to it here
        (``monitor --dashboard`` prints the dashboard's address once the server listens)."""

    def handle(self) -> int:
        # From here on a SIGTERM/SIGINT is never lost, whatever phase the server is in (see _StopRequest).
        stop = _StopRequest()
        previous = {sig: signal.signal(sig, stop.request) for sig in _STOP_SIGNALS}
        try:
            return self._serve(stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _serve(self, stop: _StopRequest) -> int:
        from sanic import Sanic

        from entrypoints.container import build_container
        from entrypoints.http.app import BACKLOG, check_bind, create_app, create_ws_app, install_lifecycle
        from entrypoints.http.auth.tls import server_ssl
        from entrypoints.http.ws.deflate import StreamProtocol
        from entrypoints.logs import configure_logging
        from gpt_trader_core.domain.symbols import shown  # numpy: not for --help

        loaded = self.load_settings()
        settings = loaded.settings
        mode = self.option("mode") or (settings.system.mode if settings.system.mode != "cli" else "api")
        if mode not in ("api", "websocket", "all"):
            raise ConfigurationError(f"--mode must be api, websocket or all, got {shown(mode)}")
        check_bind(settings.api.host, settings)
        if settings.api.workers > 1:
            check_scalable(settings, mode)
            return _serve_workers(settings)
        configure_logging(settings.system.log_level, settings.system.log_format)
        container = build_container(settings)
        apps = []
        ports = []
        if mode in ("api", "all"):
            api = create_app(container, settings)  # owns the container's lifecycle
            api.prepare(
                ssl=server_ssl(settings),  # auth (issue 13): HTTPS from api.tls
                host=settings.api.host,
                port=settings.api.port,
                backlog=BACKLOG,
                single_process=True,
                motd=False,
                access_log=False,
                protocol=StreamProtocol,  # WebSocket with permessage-deflate (entrypoints/http/ws)
                register_sys_signals=False,  # _StopRequest handles them
            )
            apps.append(api)
            ports.append(settings.api.port)
        if mode in ("websocket", "all"):
            ws = create_ws_app(container, settings)
            ws.prepare(
                ssl=server_ssl(settings),  # auth (issue 13): HTTPS from api.tls
                host=settings.api.host,
                port=settings.websocket.port,
                single_process=True,
                motd=False,
                access_log=False,
                protocol=StreamProtocol,  # WebSocket with permessage-deflate (entrypoints/http/ws)
                register_sys_signals=False,
            )
            apps.append(ws)
            ports.append(settings.websocket.port)
        for app, scheme, port in zip(
            apps, [s for m, s in (("api", "http"), ("websocket", "ws")) if mode in (m, "all")], ports, strict=True
        ):
            _announce(app, f"{scheme}://{settings.api.host}:{port}")
        if mode in ("api", "all"):
            self.serving(apps[0], settings)
        if mode == "websocket":  # create_app installs it on the API app
            install_lifecycle(apps[0], container)
        stop.install(apps[0])
        Sanic.serve_single(primary=apps[0])
        return 0


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def check_scalable(settings: Any, mode: str) -> None:
    """Refuse, with what to change, a configuration several workers cannot share.

    - The event bus must be Redis: it carries every worker's events (WebSocket clients connected to
      any worker see every session's events), the trading-session leases live on it (one worker per
      session, failover when a worker dies) and so do the shared rate-limit counters.
    - The state store must be shared: SQLite (one file, WAL; several processes of ONE machine read
      concurrently and take turns writing, each write waiting up to the busy timeout — fine for one
      machine, not for a network file system) or PostgreSQL (several machines). An in-memory store
      would give each worker its own system.
    - Mode ``api``: Sanic runs one primary app per worker; the API port serves the WebSocket streams too.
    - A Dask executor needs a scheduler address: one shared cluster, not a local one per worker.
    """
    workers = f"{settings.api.workers} workers (api.workers / --workers)"
    if mode != "api":
        raise ConfigurationError(
            f"{workers} run the API only: use --mode api (the API port serves the WebSocket streams "
            "at /ws/v1 too), or --workers 1 for a separate WebSocket port"
        )
    if settings.bus.backend != "redis":
        raise ConfigurationError(
            f"{workers} need bus.backend=redis: the workers share events, trading-session leases and "
            "rate limits through Redis (e.g. --set bus.backend=redis --set bus.redis_url=redis://127.0.0.1:6379/0); "
            "or use --workers 1"
        )
    if settings.executor.kind == "dask" and not settings.executor.scheduler_address:
        raise ConfigurationError(
            f"{workers} with executor.kind=dask need executor.scheduler_address (tcp://HOST:8786): "
            "without it every worker would start a Dask cluster of its own on this machine"
        )
    if settings.state.url.strip() in ("memory://", "memory"):
        raise ConfigurationError(
            f"{workers} need a shared state store, not state.url={settings.state.url}: each worker would "
            "have its own; use sqlite:///PATH (one machine) or postgresql://… (several)"
        )


def worker_app(settings: Any) -> Any:
    """One server worker's app (Sanic calls this in each worker process): its own container, so the
    state store's connections, the cache, the executor and the bus are per worker; the app's listeners
    start them in the worker and release them when it stops."""
    from entrypoints.container import build_container
    from entrypoints.http.app import create_app
    from entrypoints.logs import configure_logging

    configure_logging(settings.system.log_level, settings.system.log_format)
    app = create_app(build_container(settings), settings)

    @app.after_server_start
    async def revive(app: Any) -> None:
        from entrypoints.supervisor import revive_dead_workers, supervise

        multiplexer = getattr(app, "multiplexer", None)
        if multiplexer is not None:  # in a worker process of Sanic's manager
            app.ctx.revive_task = asyncio.create_task(
                supervise("revive-workers", functools.partial(revive_dead_workers, multiplexer)),
                name="gpt-trader:revive-workers",
            )

    @app.before_server_stop
    async def stop_reviving(app: Any) -> None:
        from entrypoints.supervisor import cancelled

        await cancelled(getattr(app.ctx, "revive_task", None))

    scheme = "https" if settings.api.tls.cert_file is not None else "http"
    _announce(app, f"{scheme}://{settings.api.host}:{settings.api.port} (worker pid {os.getpid()})")
    return app


def _serve_workers(settings: Any) -> int:
    """``api.workers`` server processes on one port (SO_REUSEPORT), supervised by Sanic's worker manager
    in this process: SIGTERM/Ctrl-C stop every worker gracefully (each pauses its sessions, which the
    next start resumes); a worker that dies leaves the others serving, and its sessions are taken over."""
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from entrypoints.container import build_container
    from entrypoints.http.app import BACKLOG
    from entrypoints.http.auth.tls import server_ssl
    from entrypoints.http.ws.deflate import StreamProtocol
    from entrypoints.logs import configure_logging

    configure_logging(settings.system.log_level, settings.system.log_format)
    # Made once here, before the workers start: the JWT secret file (else each worker could write its own).
    build_container(settings).adapters.token_codec()
    loader = AppLoader(factory=functools.partial(worker_app, settings))
    app = loader.load()
    app.prepare(
        ssl=server_ssl(settings),
        host=settings.api.host,
        port=settings.api.port,
        backlog=BACKLOG,
        workers=settings.api.workers,
        motd=False,
        access_log=False,
        protocol=StreamProtocol,
    )
    Sanic.serve(primary=app, app_loader=loader)
    return 0


class _StopRequest:
    """SIGTERM/SIGINT at any moment after ``serve`` starts → one clean stop, once the server serves.

    Sanic binds the port before the startup listeners run (container resources, session recovery)
    and installs its signal handlers only after that: a signal in between killed the process
    (default action), and one during the ``after_server_start`` listeners reached ``loop.stop()``
    while Sanic was still in ``run_until_complete``, where the stop was consumed and the server
    then ran forever. So a Python handler records the request from the start; once Sanic has
    (unconditionally) ignored the signals, the first ``after_server_start`` listener routes them to
    the loop; a task stops the server only after Sanic marks it running (``state.is_running``, set
    just before ``run_forever``), where ``app.stop`` is honoured. The only gap left is Sanic's own
    two system calls between ignoring the signals and running that listener.
    """

    def __init__(self) -> None:
        self.requested = False
        self._event: asyncio.Event | None = None

    def request(self, _signum: int | None = None, _frame: FrameType | None = None) -> None:
        self.requested = True
        if self._event is not None:
            self._event.set()

    def install(self, app: Any) -> None:
        async def route_signals(app: Any) -> None:
            loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            if self.requested:
                self._event.set()
            for sig in _STOP_SIGNALS:
                loop.add_signal_handler(sig, self.request)
            app.add_task(self._stop_when_requested(app), name="gpt-trader:stop-on-signal")

        async def forget(_app: Any) -> None:
            self._event = None  # a later signal changes nothing: the server is already stopping

        app.after_server_start(route_signals, priority=1_000_000)  # before every other listener
        app.before_server_stop(forget, priority=1_000_000)

    async def _stop_when_requested(self, app: Any) -> None:
        event = self._event
        if event is None:
            return
        await event.wait()
        while not app.state.is_running:  # still in the after_server_start listeners
            await asyncio.sleep(0.01)
        if self._event is event:
            app.stop(terminate=False)


def _announce(app: Any, address: str) -> None:
    """Log the address once the server really listens on it (after the socket is bound)."""

    async def listening(_: Any) -> None:
        logging.getLogger("gpt_trader.serve").info("%s listening on %s", app.name, address)

    app.after_server_start(listening)
