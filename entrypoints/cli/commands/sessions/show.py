"""``gpt-trader sessions show ID``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table


class SessionsShowCommand(AppCommand):
    remote_capable = True
    name = "sessions show"
    description = "A session's status, positions, recent fills and performance."
    help = """Session ids: <info>gpt-trader sessions list</info>.

  <comment>gpt-trader sessions show ses_0123456789abcdef</comment>
  <comment>gpt-trader sessions show ses_0123456789abcdef --format json</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Session id")]
    formats = ("table", "json")  # several sections: no csv
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table or json", flag=False)]

    def handle(self) -> int:
        from entrypoints.serialization import dumps, to_plain

        fmt = self.output_format()

        async def work(container: Any) -> Any:
            return await (await container.services.sessions()).status(self.argument("id"))

        report = self.run_with_container(work)
        if fmt == "json":  # the REST API's shape (GET /api/v1/sessions/{id})
            from entrypoints.presenters.sessions import session_detail

            self.line(dumps(to_plain(session_detail(report))))
            return 0
        r = report.session
        self.line(
            f"<info>{r.id}</info> {r.strategy}({r.params}) on {', '.join(r.symbols)} — {r.status.value}, "
            f"bar {r.last_bar}, equity {r.equity:,.2f}, cash {r.cash:,.2f}"
        )
        write_table(self, ("metric", "value"), sorted(report.performance.items()))
        if report.positions:
            write_table(
                self, ("symbol", "size", "entry price"), [(p.symbol, p.size, p.entry_price) for p in report.positions]
            )
        if report.fills:
            write_table(
                self,
                ("bar", "side", "quantity", "price", "commission"),
                [(f.bar, f.side.value, f.quantity, f.price, f.commission) for f in report.fills],
            )
        return 0
