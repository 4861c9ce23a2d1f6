"""``gpt-trader backtests prune``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from gpt_trader_core.errors import InvalidParameterError

_UNITS = {"d": "days", "w": "weeks", "h": "hours"}


def parse_age(text: str) -> dt.timedelta:
    """``30d``, ``2w`` or ``12h``."""
    match = re.fullmatch(r"\s*(\d+)\s*([dwh])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise InvalidParameterError(f"--older-than expects an age such as 30d, 2w or 12h, got {text!r}")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class BacktestsPruneCommand(AppCommand):
    name = "backtests prune"
    description = "Delete saved backtests older than an age and/or all but the newest N."
    help = """Every backtest run from the CLI, the API or a workflow is saved; this keeps the store small.

With both options a backtest is deleted when either rule says so. Optimisation studies are deleted with
<info>gpt-trader studies delete ID</info>.

  <comment>gpt-trader backtests prune --older-than 30d</comment>
  <comment>gpt-trader backtests prune --keep 100 --dry-run</comment>"""
    options: ClassVar[list[Option]] = [
        option("older-than", None, "Delete backtests older than this age: 30d, 2w, 12h", flag=False),
        option("keep", None, "Keep only the newest N backtests", flag=False),
        option("dry-run", None, "Only count what would be deleted", flag=True),
    ]

    def handle(self) -> int:
        from gpt_trader_core.services.retention import prune_backtests

        older = self.option("older-than")
        keep_text = self.option("keep")
        if older is None and keep_text is None:
            raise InvalidParameterError("say what to prune: --older-than 30d and/or --keep N")
        try:
            keep = int(keep_text) if keep_text is not None else None
        except ValueError:
            raise InvalidParameterError(f"--keep expects a whole number, got {keep_text!r}") from None
        age = parse_age(older) if older is not None else None

        async def work(container: Any) -> Any:
            store = await container.adapters.state_store()
            return await prune_backtests(store, older_than=age, keep=keep, dry_run=self.option("dry-run"))

        result = self.run_with_container(work)
        verb = "would delete" if result.dry_run else "deleted"
        self.line(f"{verb} {result.deleted} saved backtests; {result.kept} kept")
        return 0
