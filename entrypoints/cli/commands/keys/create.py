"""``gpt-trader keys create --name N --role R [--expires 90d]``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from gpt_trader_core.errors import InvalidParameterError


class KeysCreateCommand(AppCommand):
    remote_capable = True
    name = "keys create"
    description = "Create an API key; the key is printed once, only its hash is kept."
    help = """Programs send the key in the <info>X-API-Key</info> header.

  <comment>gpt-trader keys create --name dashboard --role viewer --expires 90d</comment>
  <comment>gpt-trader keys create --name ci-bot --role trader --expires 12h</comment>"""
    options: ClassVar[list[Option]] = [
        option("name", None, "What uses the key (shown in keys list)", flag=False),
        option("role", "r", "viewer, trader or admin", flag=False, default="viewer"),
        option("expires", None, "Lifetime such as 90d, 12h, 30m (default: never expires)", flag=False),
    ]

    def handle(self) -> int:
        from gpt_trader_core.services.auth import parse_duration

        name = self.option("name")
        if not name:  # bad input: exit 1, like every other missing option
            raise InvalidParameterError("--name is required: say what uses the key, e.g. --name dashboard")
        expires = parse_duration(self.option("expires")) if self.option("expires") else None

        async def work(container: Any) -> Any:
            return await (await container.services.auth()).create_key(name, self.option("role"), expires_in=expires)

        key, text = self.run_with_container(work)
        until = key.expires_at.isoformat(timespec="seconds") + " UTC" if key.expires_at else "never"
        self.line(f"API key <info>{key.id}</info> ({key.name}, role {key.role.value}, expires {until}):")
        self.line(text)
        self.line("<comment>Store it now: it is not shown again.</comment>")
        return 0
