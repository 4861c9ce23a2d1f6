"""``gpt-trader cache clear``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand

if TYPE_CHECKING:
    from entrypoints.container import Container


class CacheClearCommand(AppCommand):
    remote_capable = True
    name = "cache clear"
    description = "Drop cached entries: all, or one kind (--kind market_data | backtest | ...)."
    help = """  <comment>gpt-trader cache clear</comment>
  <comment>gpt-trader cache clear --kind market_data</comment>"""
    options: ClassVar[list[Option]] = [option("kind", "k", "Only this kind of entry", flag=False)]

    def handle(self) -> int:
        kind = self.option("kind")

        async def work(container: Container) -> int:
            cache = await container.services.cache_admin()
            dropped: int = await cache.clear(kind)
            return dropped

        dropped = self.run_with_container(work)
        self.line(f"dropped {dropped} {'entries' if dropped != 1 else 'entry'}" + (f" of kind {kind}" if kind else ""))
        return 0
