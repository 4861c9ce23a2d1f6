"""``gpt-trader backtest``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import (
    HEADLINE,
    SYNTHETIC_BANNER,
    TRADE_COLUMNS,
    headline,
    key_values,
    report_table,
    to_csv,
    trade_rows,
)
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container


def parse_date(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(f"--{name} {value!r} is not a date; use YYYY-MM-DD") from None


def parse_float(name: str, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidParameterError(f"--{name} expects a number, got {value!r}") from None


class BacktestCommand(AppCommand):
    remote_capable = True
    name = "backtest"
    description = "Backtest a strategy on one symbol (synthetic market data by default)."
    help = """Backtests <info>--strategy</info> on <info>--symbol</info> and prints its statistics.

<info>--strategy all</info> ranks every registered strategy (default parameters) in one table.
Without <info>--data-dir</info> the data come from the deterministic SYNTHETIC market (any symbol works);
list strategies and their parameters with <info>gpt-trader strategies</info>.

  <comment>gpt-trader backtest --strategy sma_cross --symbol AAPL --param fast=10 --param slow=20</comment>
  <comment>gpt-trader backtest -s breakout --symbol SPY --from 2020-01-01 --to 2024-12-31 --format json</comment>
  <comment>gpt-trader backtest -s momentum --symbol GOOG --commission 0.001 --trades</comment>
  <comment>gpt-trader backtest --from 2024-01-01 --to 2024-12-31 --strategy all</comment>"""

    options: ClassVar[list[Option]] = [
        option("strategy", "s", "Strategy name (see `gpt-trader strategies`), or all", flag=False),
        option("symbol", None, "Symbol", flag=False, default="AAPL"),
        option("from", None, "First day (YYYY-MM-DD)", flag=False),
        option("to", None, "Last day (YYYY-MM-DD)", flag=False),
        option("timeframe", "t", "Bar timeframe (1d, 1h, 15m, ...; default: the data's own)", flag=False),
        option("param", "p", "Strategy parameter as key=value (repeatable)", flag=False, multiple=True),
        option("cash", None, "Starting cash (default: settings backtest.cash)", flag=False),
        option("commission", None, "Commission rate per side, e.g. 0.002", flag=False),
        option("slippage", None, "Slippage rate per fill, e.g. 0.0005", flag=False),
        option("spread", None, "Bid-ask spread rate paid on entries only (backtesting.py's spread)", flag=False),
        option("mode", None, "long_short or long_only", flag=False, default="long_short"),
        option("fill", None, "next_open or close", flag=False, default="next_open"),
        option("stop-loss", None, "Stop loss as a fraction of the entry price, e.g. 0.05", flag=False),
        option("take-profit", None, "Take profit as a fraction of the entry price", flag=False),
        option("trailing-stop", None, "Trailing stop as a fraction", flag=False),
        option("close-at-end", None, "Close a position still open at the end and count it", flag=True),
        option(
            "data-dir",
            None,
            "Directory of SYMBOL.csv files to use instead of the synthetic market",
            flag=False,
        ),
        option("seed", None, "Seed of the synthetic market", flag=False),
        option("format", "f", "Output: table, json or csv", flag=False),
        option("trades", None, "Also print the trades", flag=True),
        option("no-save", None, "Do not save the result in the state store", flag=True),
        option("report", None, "Also write a self-contained HTML report (charts, stats, trades) here", flag=False),
    ]

    def settings_overrides(self) -> list[str]:
        overrides = []
        if self.option("data-dir"):
            overrides += ["market_data.source=csv", f"market_data.path={self.option('data-dir')}"]
        if self.option("seed") is not None:
            overrides.append(f"market_data.seed={self.option('seed')}")
        return overrides

    def handle(self) -> int:
        from entrypoints.container import backtest_defaults
        from gpt_trader_core.backtesting.config import BacktestConfig
        from gpt_trader_core.services.backtest import BacktestRequest
        from gpt_trader_core.strategy import REGISTRY

        strategy = self.require(
            "--strategy",
            self.option("strategy"),
            question="Strategy",
            choices=[*REGISTRY, "all"],
            default="sma_cross",
            hint=" (see `gpt-trader strategies`, or all)",
        )
        fmt = self.output_format()
        start, end = parse_date("from", self.option("from")), parse_date("to", self.option("to"))
        if start and end and end < start:
            raise InvalidParameterError(f"--to ({end:%Y-%m-%d}) is before --from ({start:%Y-%m-%d})")
        params = self.parse_pairs("param", self.option("param"))
        loaded = self.load_settings()
        defaults = backtest_defaults(loaded.settings)  # the container's services.backtest_defaults

        def number(name: str, default: float | None) -> Any:
            value = parse_float(name, self.option(name))
            return default if value is None else value

        config = BacktestConfig(
            cash=number("cash", defaults.cash),
            commission=number("commission", defaults.commission),
            slippage=number("slippage", defaults.slippage),
            spread=number("spread", defaults.spread),
            mode=self.option("mode"),
            fill=self.option("fill"),
            close_at_end=self.option("close-at-end"),
            stop_loss=number("stop-loss", None),
            take_profit=number("take-profit", None),
            trailing_stop=number("trailing-stop", None),
        )
        if strategy == "all":
            if self.option("report"):
                raise InvalidParameterError("--report needs one strategy; --strategy all prints a comparison table")
            return self.compare_all(config, params, start, end, fmt)
        request = BacktestRequest(
            symbol=self.option("symbol"),
            strategy=strategy,
            params=params,
            start=start,
            end=end,
            timeframe=self.option("timeframe"),
            config=config,
        )

        from gpt_trader_core.domain.charts import report_path

        report = report_path(self.option("report")) if self.option("report") else None

        async def work(container: Container) -> Any:
            backtester = await container.services.backtester()
            return await backtester.run(request, save=not self.option("no-save"))

        run = self.run_with_container(work)
        self.show(run.result, run.record_id, fmt)
        if report is not None:  # on stderr, so that --format json/csv output stays parseable
            self.line_error(f"report written to {run.result.report(report)}")
        return 0

    def compare_all(self, config: Any, params: dict[str, str], start: Any, end: Any, fmt: str) -> int:
        """``--strategy all``: every registered strategy on the symbol, one ranked comparison."""
        import attrs

        from entrypoints.cli.commands.comparison import print_comparison
        from entrypoints.cli.commands.strategies.compare import compare, strategy_names

        if params:
            raise InvalidParameterError("--param needs one strategy; --strategy all runs each with its defaults")
        symbol, timeframe = self.option("symbol"), self.option("timeframe")
        settings = attrs.asdict(config, recurse=False)
        comparison = compare(self, symbol, strategy_names("all"), start, end, timeframe, "sharpe_ratio", **settings)
        print_comparison(self, comparison, fmt)
        return 0

    def show(self, result: Any, record_id: str | None, fmt: str) -> None:
        from entrypoints.serialization import dumps, result_to_dict

        if fmt == "json":
            self.line(dumps(result_to_dict(result, trades=True, record_id=record_id)))
            return
        if fmt == "csv":
            if self.option("trades"):
                self.line(to_csv(TRADE_COLUMNS, trade_rows(result)).rstrip("\n"))
            else:
                self.line(to_csv(("stat", "value"), result.stats.items()).rstrip("\n"))
            return
        if result.synthetic:
            self.line(f"<comment>{SYNTHETIC_BANNER}</comment>")
        self.line(f"<info>{result.label}</info> · {headline(result.stats)}")
        stats = dict(result.stats)
        key_values(self, [(k, stats[k]) for k in HEADLINE if k in stats])  # the headline, then the full list
        key_values(self, [(k, v) for k, v in stats.items() if k not in HEADLINE])
        if result.open_position is not None:
            p = result.open_position
            self.line(f"open position at the end: {p.size:g} units @ {p.entry_price:.4f} (marked to market)")
        if self.option("trades"):
            report_table(self, TRADE_COLUMNS, trade_rows(result))
        if record_id:
            self.line(f"saved as <info>{record_id}</info>")
