"""``gpt-trader sessions stop ID``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class SessionsStopCommand(AppCommand):
    remote_capable = True
    name = "sessions stop"
    description = "Mark a session stopped (it will not be recovered); a foreground run stops with Ctrl-C."
    help = """Session ids: <info>gpt-trader sessions list</info>.

  <comment>gpt-trader sessions stop ses_0123456789abcdef</comment>
  <comment>gpt-trader sessions stop ses_0123456789abcdef -n</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Session id")]

    def handle(self) -> int:
        async def work(container: Any) -> Any:
            return await (await container.services.sessions()).stop(self.argument("id"))

        record = self.run_with_container(work)
        self.line(f"session <info>{record.id}</info> is {record.status.value}")
        return 0
