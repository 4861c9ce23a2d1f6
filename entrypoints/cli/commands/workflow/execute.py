"""``gpt-trader workflow execute NAME``: in the foreground with progress lines, or detached (``--async``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.workflow.output import FORMATS, check_format, exit_code, progress_line, show_execution
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container


class WorkflowExecuteCommand(AppCommand):
    remote_capable = True
    name = "workflow execute"
    description = "Execute a workflow: progress lines then the report, or --async in the background."
    help = """Runs workflow <info>NAME</info> with its inputs (<info>--param key=value</info>, repeatable; see
`gpt-trader workflow list` for the inputs and their defaults), printing a line as each step starts and
finishes, then the report. The execution is stored: `gpt-trader workflow status ID` shows it later.

<info>--async</info> stores the execution as pending, starts a detached background process
(`python -m entrypoints workflow execute NAME --execution-id ID`, in its own session, output appended to
<info>system.data_dir</info>/logs/workflow-ID.log) that runs it, prints the id and returns at once. Follow it
with `workflow status ID`, stop it with `workflow cancel ID` (from any process). It needs a persistent state
store (the default SQLite file). The background process runs CPU work on <info>executor.kind</info> (a process
pool by default), so its event loop stays free to notice a cancellation within about a second; a foreground
run uses the inline executor. A Ctrl-C during a foreground run cancels the execution cleanly.

  <comment>gpt-trader workflow execute simple_backtest --param symbol=MSFT</comment>
  <comment>gpt-trader workflow execute multi_strategy_ensemble --param weighting=equal --format json</comment>
  <comment>gpt-trader workflow execute strategy_optimization -p strategy=breakout --async</comment>"""
    arguments: ClassVar[list[Argument]] = [
        argument("name", "Workflow name (see `gpt-trader workflow list`)", optional=True)
    ]
    options: ClassVar[list[Option]] = [
        option("param", "p", "Input as key=value (repeatable)", flag=False, multiple=True),
        option("async", None, "Run in a detached background process; print the execution id and return", flag=True),
        option(
            "executor",
            "e",
            "Where CPU work runs: inline, local (process pool) or dask (default: inline; with --async executor.kind)",
            flag=False,
        ),
        option("format", "f", "Output: table or json", flag=False),
        option("execution-id", None, "Run this stored pending execution (what --async's process does)", flag=False),
    ]

    def handle(self) -> int:
        fmt = check_format(self.output_format(choices=FORMATS))
        self.executor = self.option("executor") or "inline"
        name = self.argument("name")
        if not name:  # asked for on a terminal (a choice of the workflows), else the one-line error
            from entrypoints.cli.completions import workflow_names

            choices = self.run_with_container(workflow_names) if self.can_ask() else None
            name = self.require(
                "NAME", None, question="Workflow", choices=choices, hint=" (see `gpt-trader workflow list`)"
            )
        if self.option("execution-id"):
            if self.option("param") or self.option("async"):
                raise InvalidParameterError(
                    "--execution-id runs a stored execution with its stored inputs; drop --param/--async"
                )
            return self._run_prepared(name, self.option("execution-id"), fmt)
        params = self.parse_pairs("param", self.option("param"))
        if self.option("async"):
            return self._detach(name, params, fmt)
        return self._run(name, params, fmt)

    def _run(self, name: str, params: dict[str, str], fmt: str) -> int:
        async def work(workflows: Any) -> Any:
            execution = await workflows.prepare(name, params)
            events = workflows.events(execution.id)
            printer = asyncio.create_task(self._print_progress(events)) if fmt == "table" else None
            try:
                return await workflows.run_prepared(execution.id)
            finally:
                await events.close()
                if printer is not None:
                    await printer

        return self._run_until_done(work, fmt)

    def _run_prepared(self, name: str, execution_id: str, fmt: str) -> int:
        """The background process of --async: run the stored pending execution."""
        return self._run_until_done(lambda workflows: workflows.run_prepared(execution_id, name), fmt)

    def _run_until_done(self, run: Callable[[Any], Awaitable[Any]], fmt: str) -> int:
        """``run(workflows)`` to the end. Ctrl-C or SIGTERM cancels the execution; it is stored as cancelled
        before the process exits (with the inline executor, once the CPU job in flight returns)."""

        async def work(container: Container) -> Any:
            workflows = await container.services.workflows()
            main = asyncio.current_task()
            if main is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no signals here
                    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
            try:
                return await run(workflows)
            finally:
                await workflows.shutdown()

        try:
            execution = self.run_with_container(work)
        except asyncio.CancelledError:
            self.line_error("<comment>terminated: the execution was stored as cancelled</comment>")
            return 143
        show_execution(self, execution, fmt)
        return exit_code(execution)

    def _started_remotely(self, name: str, params: dict[str, str], fmt: str) -> int:
        from entrypoints.serialization import dumps

        async def start(container: Container) -> Any:
            return await (await container.services.workflows()).prepare(name, params)

        execution = self.run_with_container(start)
        if fmt == "json":
            self.line(
                dumps({"execution_id": execution.id, "status": execution.status.value, "server": self.remote_url()})
            )
        else:
            self.line(execution.id)
            self.line_error(f"running on {self.remote_url()}")
            self.line_error(f"follow it with: gpt-trader workflow status {execution.id} --remote {self.remote_url()}")
        return 0

    async def _print_progress(self, events: Any) -> None:
        async for event in events:
            line = progress_line(event)
            if line is not None:
                self.line(line)

    def _detach(self, name: str, params: dict[str, str], fmt: str) -> int:
        from entrypoints.serialization import dumps
        from gpt_trader_core.errors import ConfigurationError

        settings = self.load_settings().settings
        if self.remote_url():  # the server runs it in the background already: print its id and return
            return self._started_remotely(name, params, fmt)
        if settings.state.url.startswith("memory"):
            raise ConfigurationError(
                "--async needs a persistent state store shared by the processes; state.url is memory://"
            )

        async def prepare(container: Container) -> Any:
            return await (await container.services.workflows()).prepare(name, params)

        execution = self.run_with_container(prepare)
        log_dir = Path(settings.system.data_dir).expanduser() / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"workflow-{execution.id}.log"
        command = [sys.executable, "-m", "entrypoints", "workflow", "execute", name]
        executor = self.option("executor") or settings.executor.kind  # the detached run: off the event loop
        command += ["--execution-id", execution.id, "--executor", executor, "--no-ansi"]
        if self.option("config"):
            command += ["--config", str(Path(self.option("config")).resolve())]
        command += [f"--set={item}" for item in self.option("set") or []]
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        detach: dict[str, Any] = {"creationflags": flags} if os.name == "nt" else {"start_new_session": True}
        try:
            with open(log_path, "ab") as log:
                child = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, close_fds=True, **detach
                )
        except OSError as exc:

            async def cancel(container: Container) -> Any:
                return await (await container.services.workflows()).cancel(execution.id)

            self.run_with_container(cancel)
            raise ConfigurationError(f"could not start the background process ({exc}); execution cancelled") from exc
        if fmt == "json":
            self.line(
                dumps({"execution_id": execution.id, "status": "pending", "pid": child.pid, "log": str(log_path)})
            )
        else:
            self.line(execution.id)
            self.line_error(f"running in the background (pid {child.pid}, log {log_path})")
            self.line_error(f"follow it with: gpt-trader workflow status {execution.id}")
        return 0
