"""``gpt-trader keys list``."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table


def _when(value: Any) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


class KeysListCommand(AppCommand):
    remote_capable = True
    name = "keys list"
    description = "List API keys (never their text): role, expiry, revocation, last use."
    help = """The ids shown here are what <info>gpt-trader keys revoke</info> takes.

  <comment>gpt-trader keys list</comment>
  <comment>gpt-trader keys list --format json</comment>"""
    options: ClassVar[list[Option]] = [option("format", "f", "table or json", flag=False, default="table")]

    def handle(self) -> int:
        fmt = self.output_format()

        async def work(container: Any) -> Any:
            return await (await container.services.auth()).list_keys()

        rows = [
            {
                "id": k.id,
                "name": k.name,
                "role": k.role.value,
                "created_at": _when(k.created_at),
                "expires_at": _when(k.expires_at),
                "revoked_at": _when(k.revoked_at),
                "last_used_at": _when(k.last_used_at),
            }
            for k in self.run_with_container(work)
        ]
        if fmt == "json":
            self.line(json.dumps(rows, indent=2))
        elif not rows:
            self.line("no API keys")
        else:
            headers = ["id", "name", "role", "created", "expires", "revoked", "last used"]
            write_table(self, headers, [[value or "-" for value in row.values()] for row in rows])
        return 0
