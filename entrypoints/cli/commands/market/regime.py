"""``gpt-trader market regime``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.commands.market import SymbolCommand
from entrypoints.cli.render import SYNTHETIC_BANNER, key_values, plain_csv, report_table
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container

TRANSITIONS = ("time", "from_regime", "to_regime")


class MarketRegimeCommand(SymbolCommand):
    remote_capable = True
    name = "market regime"
    description = "The market regime of a symbol now, its confidence and the recent regime changes."
    help = """Detects the regime (bull/bear/sideways, volatile or quiet) with <info>--method</info> rules
(default) or hmm (walk-forward Gaussian HMM).

  <comment>gpt-trader market regime AAPL</comment>
  <comment>gpt-trader market regime SPY --method hmm --from 2020-01-01 --format json</comment>"""
    options: ClassVar[list[Option]] = [
        *SymbolCommand.options,
        option("method", "m", "rules or hmm", flag=False, default="rules"),
        option("recent", None, "How many recent regime changes to show", flag=False, default="10"),
    ]

    def handle(self) -> int:
        from entrypoints.cli.commands.backtest import parse_float

        symbol, (start, end), fmt = self.symbol(), self.window(), self.output_format()
        recent = parse_float("recent", self.option("recent")) or 0
        if recent < 1 or recent != int(recent):
            raise InvalidParameterError(f"--recent must be a whole number ≥ 1, got {self.option('recent')}")
        method = self.option("method")

        async def work(container: Container) -> Any:  # the REST API's use case (GET /api/v1/market/regime)
            market = await container.services.market()
            bars = await market.bars(symbol, start, end, self.option("timeframe"))
            return bars.synthetic, await market.regime(symbol, start, end, self.option("timeframe"), method)

        synthetic, analysis = self.run_with_container(work)
        changes = analysis.changes[-int(recent) :]
        rows = [(c.time, c.from_regime, c.to_regime) for c in changes]
        if fmt == "json":  # the REST API's shape
            from entrypoints.presenters import dumps
            from entrypoints.presenters.market import regime_view

            self.line(dumps(regime_view(symbol, synthetic, analysis, int(recent)), indent=2))
        elif fmt == "csv":
            self.line(plain_csv(TRANSITIONS, rows))
        else:
            if synthetic:
                self.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
            key_values(
                self,
                [("regime", analysis.current), ("confidence_pct", analysis.confidence * 100), ("method", method)],
                title=f"{symbol}: {analysis.current}",
            )
            self.line("\n<info>Average duration of each regime</info>")
            report_table(self, ("regime", "bars"), sorted(analysis.average_durations.items()))
            self.line("\n<info>Recent regime changes</info>")
            report_table(self, TRANSITIONS, rows)
        return 0
