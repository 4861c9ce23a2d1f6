"""``gpt-trader monitor --dashboard``: the server of ``serve --mode api`` with its browser dashboard,
announced by its address once it listens. Same rules as ``serve``: bound to api.host (loopback by
default; anything else needs auth on), SIGTERM or Ctrl-C stops it cleanly."""

from __future__ import annotations

import shlex
from typing import Any

from cleo.io.inputs.string_input import StringInput
from cleo.io.io import IO

from entrypoints.cli.commands.serve import ServeCommand

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}


def dashboard_url(settings: Any) -> str:
    """The address a browser on this machine opens: ``http(s)://HOST:PORT/dashboard/``."""
    scheme = "https" if settings.api.tls.cert_file is not None else "http"
    host = settings.api.host
    host = _ANY_ADDRESS.get(host, f"[{host}]" if ":" in host else host)
    return f"{scheme}://{host}:{settings.api.port}/dashboard/"


class DashboardServer(ServeCommand):
    """``serve --mode api`` that prints the dashboard's address when the server listens."""

    name = "monitor"
    hidden = True

    def serving(self, app: Any, settings: Any) -> None:
        url = dashboard_url(settings)
        login = "log in as a user of `gpt-trader users`" if settings.api.auth.enabled else "auth off: loopback only"
        io = self.io

        async def announce(_app: Any) -> None:
            io.write_line(f"<info>Dashboard:</info> {url}  ({login}; Ctrl-C stops)")

        app.after_server_start(announce)


def serve_dashboard(io: IO, application: Any, container_factory: Any, options: dict[str, Any]) -> int:
    """Run the dashboard's server with monitor's global options (``--config``, ``--set``) and
    ``--host``/``--port``; returns its exit code."""
    args = ["--mode", "api"]
    for name in ("host", "port", "config"):
        if options.get(name) is not None:
            args += [f"--{name}", str(options[name])]
    for item in options.get("set") or []:
        args += ["--set", item]
    command = DashboardServer(container_factory)
    command.set_application(application)
    return command.run(io.with_input(StringInput(shlex.join(args))))
