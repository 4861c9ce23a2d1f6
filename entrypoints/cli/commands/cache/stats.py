"""``gpt-trader cache stats``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table

if TYPE_CHECKING:
    from entrypoints.container import Container


class CacheStatsCommand(AppCommand):
    remote_capable = True
    name = "cache stats"
    description = "Cache backend, hit/miss/set counters and live entries per kind."
    help = """With the default memory backend the cache lives inside each process, so a CLI run shows only
its own counters; with <info>cache.backend: redis</info> the entries are shared by every process.

  <comment>gpt-trader cache stats</comment>
  <comment>gpt-trader cache stats --format json</comment>"""
    formats = ("table", "json")  # several sections: no csv
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table or json", flag=False)]

    def handle(self) -> int:
        from entrypoints.serialization import dumps

        fmt = self.output_format()

        async def work(container: Container) -> Any:
            cache = await container.services.cache_admin()
            return await cache.stats()

        stats = self.run_with_container(work)
        if fmt == "json":
            self.line(dumps({**dumps_ready(stats), "hit_rate": stats.hit_rate}))
            return 0
        self.line(
            f"backend <info>{stats.backend}</info>: {stats.hits} hits, {stats.misses} misses, "
            f"{stats.sets} sets (hit rate {stats.hit_rate:.0%})"
        )
        write_table(self, ("kind", "entries"), sorted(stats.entries.items()) or [("(none)", 0)])
        return 0


def dumps_ready(stats: Any) -> dict[str, Any]:
    return {
        "backend": stats.backend,
        "hits": stats.hits,
        "misses": stats.misses,
        "sets": stats.sets,
        "entries": dict(stats.entries),
    }
