"""``gpt-trader users passwd NAME``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.users._password import read_password


class UsersPasswdCommand(AppCommand):
    remote_capable = True
    name = "users passwd"
    description = "Set a user's password (its other logins end: their refresh tokens stop working)."
    help = """Passwords need at least 8 characters. Without <info>--password-stdin</info> it asks on the terminal,
twice: gpt-trader users passwd alice

  <comment>printf '%s\\n' "$PASSWORD" | gpt-trader users passwd alice --password-stdin</comment>
  <comment>pass show gpt-trader/ci | gpt-trader users passwd ci --password-stdin</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("name", "User name")]
    options: ClassVar[list[Option]] = [
        option("password-stdin", None, "Read the password from the first line of standard input"),
    ]

    def handle(self) -> int:
        password = read_password(self)

        async def work(container: Any) -> Any:
            return await (await container.services.auth()).set_password(self.argument("name"), password)

        user = self.run_with_container(work)
        self.line(f"password of <info>{user.username}</info> changed")
        return 0
