"""``gpt-trader keys revoke ID``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class KeysRevokeCommand(AppCommand):
    name = "keys revoke"
    description = "Revoke an API key (by id, or the key itself); refused from the next request on."
    arguments: ClassVar[list[Argument]] = [argument("id", "Key id as shown by keys list")]

    def handle(self) -> int:
        async def work(container: Any) -> Any:
            return await (await container.services.auth()).revoke_key(self.argument("id"))

        key = self.run_with_container(work)
        self.line(f"API key <info>{key.id}</info> ({key.name}) revoked")
        return 0
