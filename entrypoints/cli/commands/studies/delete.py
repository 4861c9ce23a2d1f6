"""``gpt-trader studies delete ID...``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class StudiesDeleteCommand(AppCommand):
    remote_capable = True
    name = "studies delete"
    description = "Delete stored studies and all their trials."
    help = """Study ids: <info>gpt-trader studies list</info>.

  <comment>gpt-trader studies delete study_1a2b3c4d5e6f7a8b</comment>
  <comment>gpt-trader studies delete study_1a2b3c4d5e6f7a8b -n</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("ids", "Study ids (see `gpt-trader studies list`)", multiple=True)]

    def handle(self) -> int:
        ids = list(self.argument("ids"))

        async def work(container: Any) -> None:
            optimizer = await container.services.optimizer()
            for study_id in ids:  # all checked by the store: an unknown id stops here, naming it
                await optimizer.delete_study(study_id)

        self.run_with_container(work)
        self.line(f"deleted {len(ids)} {'study' if len(ids) == 1 else 'studies'} and their trials")
        return 0
