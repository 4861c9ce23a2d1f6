"""``gpt-trader users add NAME --role ROLE``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.users._password import read_password


class UsersAddCommand(AppCommand):
    remote_capable = True
    name = "users add"
    description = "Add a user who can log in to the HTTP API (asks for the password without echo)."
    help = """Roles: <info>viewer</info> (reads), <info>trader</info> (backtests, optimisations, sessions, workflows),
<info>admin</info> (also users, keys, cache, settings). Passwords need at least 8 characters. Without
<info>--password-stdin</info> it asks on the terminal, twice: gpt-trader users add alice --role admin

  <comment>printf '%s\\n' "$PASSWORD" | gpt-trader users add alice --role admin --password-stdin</comment>
  <comment>printf '%s\\n' "$PASSWORD" | gpt-trader users add ci --role trader --password-stdin</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("name", "User name (letters, digits, _ . @ -)")]
    options: ClassVar[list[Option]] = [
        option("role", "r", "viewer, trader or admin", flag=False, default="viewer"),
        option("password-stdin", None, "Read the password from the first line of standard input"),
    ]

    def handle(self) -> int:
        password = read_password(self)

        async def work(container: Any) -> Any:
            return await (await container.services.auth()).add_user(
                self.argument("name"), self.option("role"), password
            )

        user = self.run_with_container(work)
        self.line(f"user <info>{user.username}</info> added with role <info>{user.role.value}</info>")
        return 0
