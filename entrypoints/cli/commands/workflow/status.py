"""``gpt-trader workflow status [ID]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.workflow.output import (
    EXECUTION_HEADERS,
    FORMATS,
    check_format,
    execution_rows,
    show_execution,
)

if TYPE_CHECKING:
    from entrypoints.container import Container


class WorkflowStatusCommand(AppCommand):
    remote_capable = True
    name = "workflow status"
    description = "Show a workflow execution (steps, error, report), or list recent executions without an ID."
    help = """Reads the stored execution, so it works from any process while the execution runs elsewhere
(e.g. started with `workflow execute NAME --async`). An execution whose process stopped while it ran is
shown as failed ("interrupted").

  <comment>gpt-trader workflow status wf_0123456789abcdef</comment>
  <comment>gpt-trader workflow status --status running</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Execution id (omit to list executions)", optional=True)]
    options: ClassVar[list[Option]] = [
        option("status", None, "When listing: only pending, running, succeeded, failed or cancelled", flag=False),
        option("limit", "l", "When listing: how many", flag=False, default="20"),
        option("format", "f", "Output: table or json", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.cli.render import write_table
        from entrypoints.serialization import dumps, to_plain
        from gpt_trader_core.errors import InvalidParameterError

        fmt = check_format(self.output_format(choices=FORMATS))
        execution_id = self.argument("id")
        try:
            limit = int(self.option("limit"))
        except ValueError:
            raise InvalidParameterError(f"--limit expects a whole number, got {self.option('limit')!r}") from None

        async def work(container: Container) -> Any:
            workflows = await container.services.workflow_executions()  # the executions, not the workflows
            if execution_id:
                return await workflows.status(execution_id)
            return await workflows.list(limit=limit, status=self.option("status"))

        found = self.run_with_container(work)
        if execution_id:
            show_execution(self, found, fmt)
        elif fmt == "json":
            self.line(dumps([to_plain(e) for e in found]))
        else:
            write_table(self, EXECUTION_HEADERS, execution_rows(found) or [["—"] * len(EXECUTION_HEADERS)])
        return 0
