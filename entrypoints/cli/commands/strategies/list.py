"""``gpt-trader strategies``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import to_csv, write_table

if TYPE_CHECKING:
    from entrypoints.container import Container


class StrategiesCommand(AppCommand):
    remote_capable = True
    name = "strategies"
    description = "List the strategies with their parameters (type, default, range)."
    help = """Every strategy runs everywhere by name: backtest, optimize, run, workflows.

  <comment>gpt-trader strategies</comment>
  <comment>gpt-trader strategies --format json</comment>"""
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table, json or csv", flag=False)]

    def handle(self) -> int:
        from entrypoints.serialization import dumps

        fmt = self.output_format()

        async def work(container: Container) -> Any:  # the REST API's use case (GET /api/v1/strategies/list)
            return await (await container.services.catalog()).list()

        infos = self.run_with_container(work)
        if fmt == "json":
            self.line(dumps([{"name": i.name, "description": i.description, "params": list(i.params)} for i in infos]))
            return 0
        headers = ("strategy", "parameter", "type", "default", "range", "description")
        rows = [
            (i.name, p["name"], p["type"], p["default"], f"{p['low']} .. {p['high']}", p["description"])
            for i in infos
            for p in i.params
        ]
        if fmt == "csv":
            self.line(to_csv(headers, rows).rstrip("\n"))
            return 0
        for info in infos:
            self.line(f"<info>{info.name}</info> — {info.description}")
        write_table(self, headers, rows)
        return 0
