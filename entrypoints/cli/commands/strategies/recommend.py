"""``gpt-trader strategies recommend``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.commands.market import SymbolCommand
from entrypoints.cli.render import key_values, plain_csv, report_table

if TYPE_CHECKING:
    from entrypoints.container import Container

COLUMNS = ("strategy", "expected_return_pct", "expected_sharpe", "confidence_pct")


class StrategiesRecommendCommand(SymbolCommand):
    remote_capable = True
    name = "strategies recommend"
    description = "Which strategies suit a symbol now: ranked by expected Sharpe, with the regime and why."
    help = """Ranks the registered strategies for SYMBOL with the built-in heuristic, or with a trained
selection model (<info>--model</info>).

  <comment>gpt-trader strategies recommend AAPL</comment>
  <comment>gpt-trader strategies recommend SPY --to 2024-06-30 --format json</comment>"""
    options: ClassVar[list[Option]] = [
        *SymbolCommand.options,
        option("model", None, "A saved strategy-selection model (default: the heuristic)", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.presenters import dumps

        symbol, (start, end), fmt = self.symbol(), self.window(), self.output_format()

        async def work(container: Container) -> Any:
            intelligence = await container.services.intelligence()
            return await intelligence.recommend(
                symbol, start, end, self.option("timeframe"), model=self.option("model")
            )

        pick = self.run_with_container(work)
        rows = [
            (
                s.strategy,
                None if s.expected_return is None else s.expected_return * 100,
                s.expected_sharpe,
                s.confidence * 100,
            )
            for s in pick.ranking
        ]
        if fmt == "json":  # the REST API's shape (GET /api/v1/strategies/recommend)
            from entrypoints.presenters import plain
            from entrypoints.presenters.market import Explained

            self.line(dumps(Explained(plain(pick), pick.reason)))
        elif fmt == "csv":
            self.line(plain_csv(COLUMNS, rows))
        else:
            key_values(
                self,
                [
                    ("as_of", pick.as_of),
                    ("regime", pick.regime),
                    ("source", getattr(pick.source, "value", pick.source)),
                    ("stay_flat", pick.stay_flat),
                ],
                title=f"{pick.symbol}: " + ("stay flat" if pick.stay_flat else f"best {rows[0][0]}" if rows else "—"),
            )
            self.line(pick.reason)
            report_table(self, COLUMNS, rows)
        return 0
