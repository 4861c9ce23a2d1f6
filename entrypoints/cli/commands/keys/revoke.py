"""``gpt-trader keys revoke ID``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class KeysRevokeCommand(AppCommand):
    remote_capable = True
    name = "keys revoke"
    description = "Revoke an API key (by id, or the key itself); refused from the next request on."
    help = """Give the id shown by <info>gpt-trader keys list</info>, or the key text itself (<info>gtk_…</info>) when
that is all you have, e.g. a leaked key held in $API_KEY.

  <comment>gpt-trader keys revoke 0123456789ab</comment>
  <comment>gpt-trader keys revoke "$API_KEY"</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Key id as shown by keys list")]

    def handle(self) -> int:
        async def work(container: Any) -> Any:
            return await (await container.services.auth()).revoke_key(self.argument("id"))

        key = self.run_with_container(work)
        self.line(f"API key <info>{key.id}</info> ({key.name}) revoked")
        return 0
