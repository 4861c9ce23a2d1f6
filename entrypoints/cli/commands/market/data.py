"""``gpt-trader market data``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.commands.market import SymbolCommand
from entrypoints.cli.render import SYNTHETIC_BANNER, key_values, plain_csv, report_table
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container

COLUMNS = ("time", "open", "high", "low", "close", "volume")


class MarketDataCommand(SymbolCommand):
    remote_capable = True
    name = "market data"
    description = "OHLCV bars of a symbol (synthetic market by default, or your CSV files)."
    help = """Prints a summary and the last <info>--last</info> bars (table), or every bar (json, csv).

  <comment>gpt-trader market data AAPL --from 2024-01-01 --to 2024-03-31</comment>
  <comment>gpt-trader market data MSFT --last 5 --format csv</comment>"""
    options: ClassVar[list[Option]] = [
        *SymbolCommand.options,
        option("last", None, "How many of the latest bars the table shows", flag=False, default="10"),
    ]

    def handle(self) -> int:
        symbol, (start, end), fmt = self.symbol(), self.window(), self.output_format()
        try:
            last = int(self.option("last"))
        except ValueError:
            raise InvalidParameterError(f"--last expects a whole number, got {self.option('last')!r}") from None
        if last < 1:
            raise InvalidParameterError(f"--last must be at least 1, got {last}")

        async def work(container: Container) -> Any:  # the REST API's use case (GET /api/v1/market/data)
            return await (await container.services.market()).bars(symbol, start, end, self.option("timeframe"))

        bars = self.run_with_container(work)
        times = [t.item() for t in bars.timestamps.astype("datetime64[s]")]
        rows = list(zip(times, bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True))
        if fmt == "json":  # the REST API's shape
            from entrypoints.presenters import dumps
            from entrypoints.presenters.market import bars_view

            self.line(dumps(bars_view(bars), indent=2))
        elif fmt == "csv":
            self.line(plain_csv(COLUMNS, [[float(v) if i else v for i, v in enumerate(r)] for r in rows]))
        else:
            if bars.synthetic:
                self.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
            change = (float(bars.close[-1]) / float(bars.open[0]) - 1) * 100 if len(bars) else 0.0
            summary = [
                ("symbol", bars.symbol),
                ("timeframe", bars.timeframe),
                ("source", bars.source),
                ("bars", len(bars)),
                ("first", times[0] if times else None),
                ("last", times[-1] if times else None),
                ("last_close_price", float(bars.close[-1]) if len(bars) else None),
                ("change_pct", change),
            ]
            key_values(self, summary, title=f"{bars.symbol} {bars.timeframe}")
            report_table(self, COLUMNS, [[r[0], *(float(v) for v in r[1:])] for r in rows[-last:]])
        return 0
