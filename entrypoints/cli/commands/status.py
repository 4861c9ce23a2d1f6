"""``gpt-trader status``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import SYNTHETIC_BANNER, write_table
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container


class StatusCommand(AppCommand):
    remote_capable = True
    name = "status"
    description = "Version, data source, component health, sessions, recent executions, system metrics and alerts."
    help = """Runs in this process against the configured state store and cache: no server is needed.
CPU, memory and disk are the machine's; RSS and event-loop lag are this command's own. A server's
request rates and latencies are at <info>GET /metrics</info> and <info>GET /api/v1/system/metrics</info>.
Alerts are the alert rules breached right now. Exits 1 when a component does not answer.

  <comment>gpt-trader status</comment>
  <comment>gpt-trader status --format json</comment>"""
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table or json", flag=False)]

    def handle(self) -> int:
        from entrypoints.serialization import dumps

        fmt = self.output_format(choices=("table", "json"))
        if fmt == "csv":
            raise InvalidParameterError("--format must be table or json for status (it has several sections)")
        loaded = self.load_settings()

        async def work(container: Container) -> dict[str, Any]:
            monitoring = await container.services.monitoring()
            snapshot = await monitoring.status()
            report: dict[str, Any] = {"snapshot": snapshot}
            try:
                sessions = await container.services.session_reads()  # read-only: no trading engine
                report["sessions"] = await sessions.list(limit=10)
            except Exception as exc:  # a status reports a broken part and goes on with the others
                report["sessions_error"] = f"{type(exc).__name__}: {exc}"
            return report

        report = self.run_with_container(work)
        data = _report(loaded, report)
        if fmt == "json":
            self.line(dumps(data))
        else:
            self._table(data)
        return 0 if data["status"] == "ok" else 1

    def _table(self, data: dict[str, Any]) -> None:
        system = data["system"]
        market = system["market_data"]
        self.line(f"<info>gpt-trader {system['version']}</info> · Python {system['python']}")
        write_table(
            self,
            ("setting", "value"),
            [
                ("data dir", system["data_dir"]),
                ("config file", system["config_file"] or "(none: defaults)"),
                ("market data", market["label"]),
            ],
        )
        if market["synthetic"]:
            self.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
        self.line(f"\n<info>Components</info> ({data['status']})")
        write_table(
            self,
            ("component", "status", "latency_ms", "error"),
            [(c["name"], "ok" if c["ok"] else "DOWN", c["latency_ms"], c["error"] or "") for c in data["components"]],
        )
        if "sessions_error" in data:
            self.line(f"\n<info>Sessions</info>\n<error>unavailable:</error> {data['sessions_error']}")
        elif "sessions" in data:
            self.line("\n<info>Sessions</info>")
            rows = [
                (s["id"], s["strategy"], ",".join(s["symbols"]), s["mode"], s["status"], s["equity"])
                for s in data["sessions"]
            ]
            write_table(
                self, ("id", "strategy", "symbols", "mode", "status", "equity"), rows or [("(none)",) + ("",) * 5]
            )
        self.line("\n<info>Recent executions</info>")
        rows = [
            (e["id"], e["kind"], e["name"], e["status"], f"{e['progress']:.0%}", e["created_at"])
            for e in data["executions"]
        ]
        write_table(self, ("id", "kind", "name", "status", "progress", "created_at"), rows or [("(none)",) + ("",) * 5])
        metrics = data["metrics"]
        self.line("\n<info>System</info>")
        write_table(
            self,
            ("metric", "value"),
            [
                ("cpu %", _num(metrics["cpu_percent"])),
                ("memory %", _num(metrics["memory_percent"])),
                ("disk % (data dir)", _num(metrics["disk_percent"])),
                ("process RSS (MiB)", _num(metrics["process_rss_mb"])),
                ("event-loop lag (ms)", _num(metrics["loop_lag_ms"])),
            ],
        )
        self.line("\n<info>Alerts</info>")
        if not data["alerts"]:
            self.line("none firing")
            return
        write_table(
            self, ("rule", "severity", "condition"), [(a["rule"], a["severity"], a["message"]) for a in data["alerts"]]
        )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _report(loaded: Any, report: dict[str, Any]) -> dict[str, Any]:
    """The status as JSON-ready data (the same for both formats): the shared presenter shape."""
    from entrypoints.presenters import plain
    from entrypoints.presenters.status import status_view

    view = status_view(
        loaded.settings,
        loaded.config_file,
        report["snapshot"],
        report.get("sessions", ()),
        report.get("sessions_error"),
    )
    data: dict[str, Any] = plain(view)
    if data["sessions_error"] is None:  # the JSON names the key only when sessions could not be listed
        del data["sessions_error"]
    return data
