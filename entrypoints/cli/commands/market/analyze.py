"""``gpt-trader market analyze``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from entrypoints.cli.commands.market import SymbolCommand
from entrypoints.cli.render import SYNTHETIC_BANNER, flatten, key_values, plain_csv, report_table

if TYPE_CHECKING:
    from entrypoints.container import Container


class MarketAnalyzeCommand(SymbolCommand):
    remote_capable = True
    name = "market analyze"
    description = "Technical analysis of a symbol: indicators, trend, momentum, support/resistance, patterns."
    help = """Analyses the bars of SYMBOL up to <info>--to</info> (default: the latest bar).

  <comment>gpt-trader market analyze AAPL</comment>
  <comment>gpt-trader market analyze MSFT --from 2023-01-01 --to 2024-06-30 --format json</comment>"""

    def handle(self) -> int:
        from entrypoints.serialization import dumps, to_plain

        symbol, (start, end), fmt = self.symbol(), self.window(), self.output_format()

        async def work(container: Container) -> Any:
            # the REST API's use cases (GET /api/v1/market/data, POST /api/v1/market/analyze)
            bars = await (await container.services.market()).bars(symbol, start, end, self.option("timeframe"))
            intelligence = await container.services.intelligence()
            return bars.synthetic, await intelligence.analyze(symbol, start, end, self.option("timeframe"))

        synthetic, analysis = self.run_with_container(work)
        data = to_plain(analysis)
        if fmt == "json":
            self.line(dumps(data))
            return 0
        summary = [(k, v) for k, v in flatten({k: data[k] for k in ("indicators", "trend", "momentum")})]
        if fmt == "csv":
            self.line(plain_csv(("name", "value"), summary))
            return 0
        if synthetic:
            self.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
        self.line(
            f"<info>{analysis.symbol}</info> {analysis.timeframe} · {analysis.bars} bars to "
            f"{analysis.time:%Y-%m-%d} · close {analysis.close:,.2f} · trend <info>{analysis.trend.direction}</info>"
            f" · momentum <info>{analysis.momentum.macd_state}</info>"
        )
        key_values(self, summary)
        levels = data["levels"]["levels"]
        self.line("\n<info>Support and resistance</info>")
        level_keys = ("kind", "price", "touches", "last_time")
        report_table(self, level_keys, [[lv[k] for k in level_keys] for lv in levels])
        self.line("\n<info>Patterns</info>")
        patterns = data["patterns"]
        if patterns:
            keys = [k for k in patterns[0] if not isinstance(patterns[0][k], (dict, list))][:5]
            report_table(self, keys, [[p[k] for k in keys] for p in patterns])
        else:
            self.line("none found")
        return 0
