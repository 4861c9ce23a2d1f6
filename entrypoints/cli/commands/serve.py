"""``gpt-trader serve``: the HTTP API and/or the WebSocket server, until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from gpt_trader_core.domain.symbols import shown
from gpt_trader_core.errors import ConfigurationError


class ServeCommand(AppCommand):
    name = "serve"
    description = "Run the HTTP API and/or the WebSocket server (stops gracefully on SIGTERM/Ctrl-C)."
    help = """Modes: <info>api</info> (HTTP on api.port), <info>websocket</info> (WebSocket on websocket.port) or
<info>all</info> (both, one process). SIGTERM or Ctrl-C stops accepting connections, lets requests in
flight finish within api.shutdown_timeout seconds, releases the state store, cache and executor,
and exits 0.

  <comment>gpt-trader serve --mode api --port 8000</comment>
  <comment>GPT_TRADER__API__AUTH__JWT_SECRET=... gpt-trader serve --mode all</comment>"""
    options: ClassVar[list[Option]] = [
        option("mode", "m", "api, websocket or all (default: system.mode, or api when that is cli)", flag=False),
        option("host", None, "Interface to listen on (default: api.host)", flag=False),
        option("port", "p", "HTTP port (default: api.port)", flag=False),
        option("ws-port", None, "WebSocket port (default: websocket.port)", flag=False),
    ]
    executor = "local"

    def settings_overrides(self) -> list[str]:
        overrides = []
        for opt, key in (("host", "api.host"), ("port", "api.port"), ("ws-port", "websocket.port")):
            if self.option(opt) is not None:
                overrides.append(f"{key}={self.option(opt)}")
        return overrides

    def handle(self) -> int:
        from sanic import Sanic

        from entrypoints.container import build_container
        from entrypoints.http.app import BACKLOG, check_bind, create_app, create_ws_app, install_lifecycle
        from entrypoints.logs import configure_logging

        loaded = self.load_settings()
        settings = loaded.settings
        mode = self.option("mode") or (settings.system.mode if settings.system.mode != "cli" else "api")
        if mode not in ("api", "websocket", "all"):
            raise ConfigurationError(f"--mode must be api, websocket or all, got {shown(mode)}")
        if settings.api.workers > 1:
            raise ConfigurationError(
                f"api.workers is {settings.api.workers}: several server workers would each recover and trade the "
                "same paper sessions; they need the Redis event bus and a session leader (the scale-out issue). "
                "Set api.workers to 1, or run one server per port behind a proxy"
            )
        check_bind(settings.api.host, settings)
        configure_logging(settings.system.log_level, settings.system.log_format)
        container = build_container(settings)
        apps = []
        ports = []
        if mode in ("api", "all"):
            api = create_app(container, settings)  # owns the container's lifecycle
            api.prepare(
                host=settings.api.host,
                port=settings.api.port,
                backlog=BACKLOG,
                single_process=True,
                motd=False,
                access_log=False,
            )
            apps.append(api)
            ports.append(settings.api.port)
        if mode in ("websocket", "all"):
            ws = create_ws_app(container, settings)
            ws.prepare(
                host=settings.api.host,
                port=settings.websocket.port,
                single_process=True,
                motd=False,
                access_log=False,
            )
            apps.append(ws)
            ports.append(settings.websocket.port)
        for app, scheme, port in zip(
            apps, [s for m, s in (("api", "http"), ("websocket", "ws")) if mode in (m, "all")], ports, strict=True
        ):
            _announce(app, f"{scheme}://{settings.api.host}:{port}")
        if mode == "websocket":  # create_app installs it on the API app
            install_lifecycle(apps[0], container)
        Sanic.serve_single(primary=apps[0])
        return 0


def _announce(app: Any, address: str) -> None:
    """Log the address once the server really listens on it (after the socket is bound)."""

    async def listening(_: Any) -> None:
        logging.getLogger("gpt_trader.serve").info("%s listening on %s", app.name, address)

    app.after_server_start(listening)
