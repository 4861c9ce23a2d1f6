"""``gpt-trader portfolio positions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.portfolio import portfolio_view
from entrypoints.cli.render import plain_csv, report_table

if TYPE_CHECKING:
    from entrypoints.container import Container

COLUMNS = ("session_id", "symbol", "size", "entry_price", "entry_time")


class PortfolioPositionsCommand(AppCommand):
    remote_capable = True
    name = "portfolio positions"
    description = "Open positions of the running paper sessions (or of one session)."
    help = """Reads the state store, so it sees sessions of every process (<info>gpt-trader run</info>, the server).

  <comment>gpt-trader portfolio positions</comment>
  <comment>gpt-trader portfolio positions --session ses_0123456789abcdef --format json</comment>"""
    options: ClassVar[list[Option]] = [
        option("session", None, "One session (default: every running one)", flag=False),
        option("format", "f", "Output: table, json or csv", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.presenters.portfolio import positions_view
        from entrypoints.serialization import dumps

        fmt = self.output_format()
        session_id = self.option("session")

        async def work(container: Container) -> Any:
            return await (await portfolio_view(container)).positions(session_id)

        groups = self.run_with_container(work)
        rows = [(g.session_id, p.symbol, p.size, p.entry_price, p.entry_time) for g in groups for p in g.positions]
        if fmt == "json":  # the REST API's shape (GET /api/v1/portfolio/positions)
            self.line(dumps(positions_view(groups)))
        elif fmt == "csv":
            self.line(plain_csv(COLUMNS, rows))
        else:
            scope = f"session {session_id}" if session_id else f"{len(groups)} running session(s)"
            self.line(f"<info>Positions</info> of {scope}")
            report_table(self, COLUMNS, rows)
        return 0
