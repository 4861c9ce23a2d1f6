"""``gpt-trader studies show ID``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import write_table


class StudiesShowCommand(AppCommand):
    remote_capable = True
    name = "studies show"
    description = "A stored study: what it searches, its progress and its best trials."
    help = """Study ids: <info>gpt-trader studies list</info>.

  <comment>gpt-trader studies show study_1a2b3c4d5e6f7a8b</comment>
  <comment>gpt-trader studies show study_1a2b3c4d5e6f7a8b --top 5 --format json</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("id", "Study id (see `gpt-trader studies list`)")]
    options: ClassVar[list[Option]] = [
        option("top", None, "Best trials to print", flag=False, default="10"),
        option("format", "f", "Output: table or json", flag=False),
    ]

    def handle(self) -> int:
        import math

        from entrypoints.serialization import dumps, to_plain
        from gpt_trader_core.errors import InvalidParameterError

        fmt = self.output_format()
        try:
            top = int(self.option("top"))
        except ValueError:
            raise InvalidParameterError(f"--top expects a whole number, got {self.option('top')!r}") from None

        async def work(container: Any) -> Any:
            return await (await container.services.optimizer()).get_study(self.argument("id"))

        study, trials = self.run_with_container(work)
        sign = 1 if study.maximize else -1
        ranked = sorted(trials, key=lambda t: (math.isnan(t.value), -sign * t.value if not math.isnan(t.value) else 0))
        if fmt == "json":
            self.line(
                dumps({"study": to_plain(study), "trials": len(trials), "best": [to_plain(t) for t in ranked[:top]]})
            )
            return 0
        self.line(
            f"<info>{study.id}</info> {study.strategy} on {study.symbol} ({study.timeframe}) — {study.method}, "
            f"{'max' if study.maximize else 'min'}imise {study.objective}, {study.status.value}, "
            f"{len(trials)}/{study.total} trials"
        )
        searched = ", ".join(f"{k}={list(v)}" for k, v in study.space.items())
        self.line(f"space: {searched}" + (f"; fixed {dict(study.fixed)}" if study.fixed else ""))
        if study.error:
            self.line(f"<comment>{study.error}</comment>")
        names = list(study.space)
        rows = [(t.number, *(t.params.get(n) for n in names), t.value) for t in ranked[:top]]
        write_table(self, ("trial", *names, study.objective), rows or [("-",) * (len(names) + 2)])
        if len(trials) < study.total:
            self.line(f"resume with: gpt-trader optimize --resume {study.id}")
        return 0
