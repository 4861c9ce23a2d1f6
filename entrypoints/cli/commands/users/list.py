"""``gpt-trader users list``."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table


class UsersListCommand(AppCommand):
    remote_capable = True
    name = "users list"
    description = "List the users and their roles."
    help = """Users log in to the HTTP API; programs use API keys instead (<info>gpt-trader keys list</info>).

  <comment>gpt-trader users list</comment>
  <comment>gpt-trader users list --format json</comment>"""
    options: ClassVar[list[Option]] = [option("format", "f", "table or json", flag=False, default="table")]

    def handle(self) -> int:
        fmt = self.output_format()

        async def work(container: Any) -> Any:
            return await (await container.services.auth()).list_users()

        users = self.run_with_container(work)
        rows = [
            {"username": u.username, "role": u.role.value, "created_at": u.created_at.isoformat(timespec="seconds")}
            for u in users
        ]
        if fmt == "json":
            self.line(json.dumps(rows, indent=2))
        elif not rows:
            self.line(
                "no users yet: add the first admin with <comment>gpt-trader users add NAME --role admin</comment>"
            )
        else:
            write_table(self, ["user", "role", "created (UTC)"], [list(row.values()) for row in rows])
        return 0
