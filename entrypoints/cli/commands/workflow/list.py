"""``gpt-trader workflow list``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.workflow.output import EXECUTION_HEADERS, FORMATS, check_format, execution_rows

if TYPE_CHECKING:
    from entrypoints.container import Container


class WorkflowListCommand(AppCommand):
    remote_capable = True
    name = "workflow list"
    description = "List the workflows (steps, inputs) and the most recent executions."
    help = """  <comment>gpt-trader workflow list</comment>
  <comment>gpt-trader workflow list --limit 3 --format json</comment>"""
    options: ClassVar[list[Option]] = [
        option("limit", "l", "Recent executions to show", flag=False, default="10"),
        option("format", "f", "Output: table or json", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.cli.render import write_table
        from entrypoints.serialization import dumps, to_plain
        from gpt_trader_core.errors import InvalidParameterError

        fmt = check_format(self.output_format(choices=FORMATS))
        try:
            limit = int(self.option("limit"))
        except ValueError:
            raise InvalidParameterError(f"--limit expects a whole number, got {self.option('limit')!r}") from None

        async def work(container: Container) -> Any:
            workflows = await container.services.workflows()
            return await workflows.catalogue(), await workflows.list(limit=limit)

        described, executions = self.run_with_container(work)
        if fmt == "json":
            self.line(dumps({"workflows": described, "executions": [to_plain(e) for e in executions]}))
            return 0
        for definition in described:
            self.line(f"<info>{definition['name']}</info> — {definition['description']}")
            self.line("  steps:  " + " → ".join(" ∥ ".join(layer) for layer in definition["layers"]))
            inputs = " ".join(f"{p['name']}={p['default']}" for p in definition["params"])
            self.line(f"  inputs: {inputs}")
        self.line("")
        self.line("<comment>recent executions</comment>")
        write_table(self, EXECUTION_HEADERS, execution_rows(executions) or [["—"] * len(EXECUTION_HEADERS)])
        return 0
