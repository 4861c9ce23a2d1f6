"""``gpt-trader users remove NAME``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class UsersRemoveCommand(AppCommand):
    remote_capable = True
    name = "users remove"
    description = "Remove a user; its tokens stop working on their next use."
    help = """The names are those of <info>gpt-trader users list</info>.

  <comment>gpt-trader users remove alice</comment>
  <comment>gpt-trader users remove bob@example.com</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("name", "User name")]

    def handle(self) -> int:
        async def work(container: Any) -> None:
            await (await container.services.auth()).remove_user(self.argument("name"))

        self.run_with_container(work)
        self.line(f"user <info>{self.argument('name')}</info> removed")
        return 0
