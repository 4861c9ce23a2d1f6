"""``gpt-trader sessions list``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import plain_csv, report_table


class SessionsListCommand(AppCommand):
    remote_capable = True
    name = "sessions list"
    description = "List trading sessions (newest first) with status, bars and equity."
    help = """Sessions of every process (<info>gpt-trader run</info>, the server), read from the state store.

  <comment>gpt-trader sessions list</comment>
  <comment>gpt-trader sessions list --status finished --format json</comment>"""
    options: ClassVar[list[Option]] = [
        option("status", None, "Only running, interrupted, stopped, finished or failed sessions", flag=False),
        option("format", "f", "Output: table, json or csv", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.serialization import dumps, to_plain
        from gpt_trader_core.domain.records import SessionStatus
        from gpt_trader_core.errors import InvalidParameterError

        fmt = self.output_format()
        wanted = self.option("status")
        try:
            status = SessionStatus(wanted) if wanted else None
        except ValueError:
            raise InvalidParameterError(
                f"--status must be one of {', '.join(s.value for s in SessionStatus)}"
            ) from None

        async def work(container: Any) -> Any:
            return await (await container.services.sessions()).list(status=status)

        records = self.run_with_container(work)
        if fmt == "json":  # the REST API's shape (GET /api/v1/sessions: its items)
            from entrypoints.presenters.sessions import session_view

            self.line(dumps([to_plain(session_view(r)) for r in records]))
            return 0
        rows = [
            (r.id, r.strategy, ",".join(r.symbols), r.status.value, r.last_bar + 1, r.equity, r.updated_at)
            for r in records
        ]
        keys = ("id", "strategy", "symbols", "status", "bars", "equity", "updated_at")
        if fmt == "csv":
            self.line(plain_csv(keys, rows))
            return 0
        report_table(self, keys, rows)
        return 0
