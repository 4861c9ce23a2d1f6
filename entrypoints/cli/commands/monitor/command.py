"""``gpt-trader monitor``."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option
from cleo.io.outputs.output import Type

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_float
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container


class MonitorCommand(AppCommand):
    remote_capable = True  # the terminal view and --once; --dashboard serves this machine's
    name = "monitor"
    description = (
        "Live view of paper sessions, workflow executions and firing alerts (q or Ctrl-C leaves); "
        "--dashboard serves the browser dashboard."
    )
    help = """Redraws every <info>--interval</info> seconds from the state store, so it shows sessions and
workflows started by any process (<info>gpt-trader run</info>, <info>workflow execute</info>, the server).
<info>--once</info> prints one snapshot and exits (for scripts: <info>--format json</info>).
With <info>--remote URL</info> it shows what the server runs (its sessions, executions and alerts).

<info>--dashboard</info> serves the web dashboard instead (the same app as <info>serve --mode api</info>, on
<info>--port</info>, default api.port) and prints its address: the overview, live paper sessions and
the dashboard's other views, updated over the WebSocket. It binds api.host (127.0.0.1 by
default; any other address needs api.auth.enabled). Ctrl-C or SIGTERM stops it cleanly.

  <comment>gpt-trader monitor --once</comment>
  <comment>gpt-trader monitor --once --format json</comment>
  <comment>gpt-trader monitor --interval 2</comment>
  <comment>gpt-trader monitor --dashboard --port 8080</comment>"""
    options: ClassVar[list[Option]] = [
        option("once", None, "Print one snapshot and exit", flag=True),
        option("interval", "i", "Seconds between redraws", flag=False, default="1"),
        option("sessions", None, "How many sessions to show (newest first)", flag=False, default="10"),
        option("format", "f", "Output of --once: table or json", flag=False),
        option("dashboard", None, "Serve the web dashboard (and the API) instead of the terminal view", flag=True),
        option("port", "p", "Port of --dashboard (default: api.port)", flag=False),
        option("host", None, "Interface of --dashboard (default: api.host; not loopback needs auth)", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.cli.commands.monitor.snapshot import collect

        if self.option("dashboard"):
            return self.dashboard()
        for name in ("port", "host"):
            if self.option(name) is not None:
                raise InvalidParameterError(f"--{name} is for --dashboard (e.g. monitor --dashboard --port 8080)")

        fmt = self.output_format(choices=("table", "json"))
        if fmt == "csv":
            raise InvalidParameterError("--format must be table or json for monitor (it has several sections)")
        interval = parse_float("interval", self.option("interval")) or 0.0
        if not 0.1 <= interval <= 3600:
            raise InvalidParameterError(
                f"--interval must be between 0.1 and 3600 seconds, got {self.option('interval')}"
            )
        count = parse_float("sessions", self.option("sessions")) or 0
        if count < 1 or count != int(count):
            raise InvalidParameterError(f"--sessions must be a whole number ≥ 1, got {self.option('sessions')}")
        if fmt == "json" and not self.option("once"):
            raise InvalidParameterError("--format json needs --once (the live view is for people)")

        if self.option("once"):
            snapshot = self.run_with_container(lambda c: collect(c, sessions=int(count)))
            self.print_once(snapshot, fmt)
            return 0
        return self.run_with_container(lambda c: self.live(c, interval, int(count)))

    def dashboard(self) -> int:
        """``--dashboard``: ``serve --mode api`` with the dashboard's address printed (see dashboard.py)."""
        from entrypoints.cli.commands.monitor.dashboard import serve_dashboard

        for name in ("once", "format"):
            if self.option(name):
                raise InvalidParameterError(f"--{name} is for the terminal view, not --dashboard")
        if self.option("remote"):  # a server serves its own dashboard: nothing to start here
            url = str(self.option("remote")).rstrip("/")
            raise InvalidParameterError(
                f"--dashboard serves this machine's dashboard; the server's is at {url}/dashboard/ "
                "(open it in a browser), or drop --remote"
            )
        options = {name: self.option(name) for name in ("host", "port", "config", "set")}
        return serve_dashboard(self.io, self.application, self.container_factory, options)

    def print_once(self, snapshot: dict[str, Any], fmt: str) -> None:
        from entrypoints.cli.commands.monitor.screen import render
        from entrypoints.serialization import dumps

        if fmt == "json":
            self.line(dumps(snapshot))
        else:
            text = render(snapshot, decorated=self.io.output.is_decorated(), live=False, interval=0)
            self.io.write(text, type=Type.RAW)

    async def live(self, container: Container, interval: float, count: int) -> int:
        """Redraw until ``q`` (exit 0) or Ctrl-C (130, from the application)."""
        from entrypoints.cli.commands.monitor import screen
        from entrypoints.cli.commands.monitor.snapshot import collect

        out = self.io.output
        quit_ = asyncio.Event()
        loop = asyncio.get_running_loop()
        with screen.keys(self.io.input.stream) as fd:
            if fd is not None:

                def on_key() -> None:
                    data = os.read(fd, 32)
                    if not data:  # the terminal went away: stop reading it, Ctrl-C still works
                        loop.remove_reader(fd)
                    elif data.lower().startswith(b"q"):
                        quit_.set()

                loop.add_reader(fd, on_key)
            out.write("\x1b[2J" + screen.HIDE_CURSOR, type=Type.RAW)
            try:
                while not quit_.is_set():
                    snapshot = await collect(container, sessions=count)
                    text = screen.render(snapshot, decorated=out.is_decorated(), live=True, interval=interval)
                    out.write(screen.frame(text), type=Type.RAW)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(quit_.wait(), interval)
            finally:
                if fd is not None:
                    loop.remove_reader(fd)
                out.write(screen.SHOW_CURSOR, type=Type.RAW)
        return 0
