"""``gpt-trader workflow cancel ID``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.workflow.output import FORMATS, check_format, show_execution

if TYPE_CHECKING:
    from entrypoints.container import Container


class WorkflowCancelCommand(AppCommand):
    remote_capable = True
    name = "workflow cancel"
    description = "Cancel a pending or running workflow execution, in this or another process."
    help = """Asks the process running the execution to stop (it checks about twice a second), waits until
the execution is stored as cancelled (at most <info>--wait</info> seconds) and shows it. Running steps end
"cancelled", steps not started "not_run". An execution whose process has stopped is marked cancelled at once.

  <comment>gpt-trader workflow cancel wf_0123456789abcdef</comment>
  <comment>gpt-trader workflow cancel wf_0123456789abcdef --wait 30 --format json</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Execution id")]
    options: ClassVar[list[Option]] = [
        option("wait", "w", "Seconds to wait for the execution to stop", flag=False, default="10"),
        option("format", "f", "Output: table or json", flag=False),
    ]

    def handle(self) -> int:
        from gpt_trader_core.errors import InvalidParameterError

        fmt = check_format(self.output_format(choices=FORMATS))
        try:
            wait = float(self.option("wait"))
        except ValueError:
            raise InvalidParameterError(f"--wait expects a number of seconds, got {self.option('wait')!r}") from None

        async def work(container: Container) -> Any:
            return await (await container.services.workflows()).cancel(self.argument("id"), timeout=wait)

        execution = self.run_with_container(work)
        show_execution(self, execution, fmt, report=False)
        if execution.status.value == "cancelled":
            return 0
        if execution.status.finished:
            self.line_error(f"<comment>{execution.id} {execution.status.value} before it could be cancelled</comment>")
            return 1
        self.line_error(
            f"<comment>cancellation requested; {execution.id} is still {execution.status.value} "
            f"after {wait:g} s (its process has not stopped yet)</comment>"
        )
        return 1
