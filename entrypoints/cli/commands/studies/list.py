"""``gpt-trader studies list``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table


class StudiesListCommand(AppCommand):
    remote_capable = True
    name = "studies list"
    description = "List stored optimisation studies (newest first): status, trials, best value."
    help = """  <comment>gpt-trader studies list</comment>
  <comment>gpt-trader studies list --limit 5 --format json</comment>"""
    options: ClassVar[list[Option]] = [
        option("limit", None, "How many to list", flag=False, default="50"),
        option("format", "f", "Output: table or json", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.serialization import dumps, to_plain
        from gpt_trader_core.errors import InvalidParameterError

        fmt = self.output_format()
        try:
            limit = int(self.option("limit"))
        except ValueError:
            raise InvalidParameterError(f"--limit expects a whole number, got {self.option('limit')!r}") from None

        async def work(container: Any) -> Any:
            return await (await container.services.optimizer()).list_studies(limit=limit)

        studies = self.run_with_container(work)
        if fmt == "json":
            self.line(dumps([to_plain(s) for s in studies]))
            return 0
        rows: list[tuple[Any, ...]] = [
            (s.id, s.strategy, s.symbol, s.method, s.status.value, s.total, s.objective, s.best_value, s.created_at)
            for s in studies
        ]
        headers = ("id", "strategy", "symbol", "method", "status", "trials", "objective", "best", "created")
        write_table(self, headers, rows or [("-",) * len(headers)])
        return 0
