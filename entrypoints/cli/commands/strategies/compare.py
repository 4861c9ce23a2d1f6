"""``gpt-trader strategies compare``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.commands.comparison import print_comparison
from entrypoints.cli.commands.market import SymbolCommand
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container


class StrategiesCompareCommand(SymbolCommand):
    remote_capable = True
    name = "strategies compare"
    description = "Backtest several strategies (default: all) on one symbol and rank them."
    help = """Each strategy runs with its default parameters and the settings' backtest costs.

  <comment>gpt-trader strategies compare AAPL</comment>
  <comment>gpt-trader strategies compare MSFT --strategies sma_cross,momentum --rank-by return_pct -f csv</comment>"""
    options: ClassVar[list[Option]] = [
        *SymbolCommand.options,
        option("strategies", None, "Comma-separated strategy names (default: every registered one)", flag=False),
        option(
            "rank-by", "r", "Statistic to rank by (sharpe_ratio, return_pct, ...)", flag=False, default="sharpe_ratio"
        ),
    ]

    def handle(self) -> int:
        symbol, (start, end), fmt = self.symbol(), self.window(), self.output_format()
        names = strategy_names(self.option("strategies"))
        comparison = compare(self, symbol, names, start, end, self.option("timeframe"), self.option("rank-by"))
        print_comparison(self, comparison, fmt)
        return 0


def strategy_names(value: str | None) -> list[str]:
    """``a,b`` → ``[a, b]``; ``None`` or ``all`` → every registered strategy."""
    from gpt_trader_core.strategy import REGISTRY

    known = list(REGISTRY)
    if value is None or value.strip().lower() == "all":
        return known
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InvalidParameterError(
            f"unknown strategy {', '.join(unknown) or repr(value)}; choose from {', '.join(known)} (or all)"
        )
    return names


def compare(
    command: Any, symbol: str, names: list[str], start: Any, end: Any, timeframe: str, rank_by: str, **config: Any
) -> Any:
    """``MarketIntelligence.compare`` with the settings' backtest defaults (cash, commission, slippage)."""
    from entrypoints.container import backtest_defaults

    defaults = backtest_defaults(command.load_settings().settings)
    costs = {"cash": defaults.cash, "commission": defaults.commission, "slippage": defaults.slippage, **config}

    async def work(container: Container) -> Any:
        intelligence = await container.services.intelligence()
        return await intelligence.compare(symbol, names, start, end, timeframe, rank_by=rank_by, config=costs)

    return command.run_with_container(work)
