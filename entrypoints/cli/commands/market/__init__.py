"""``gpt-trader market data|regime|analyze``: thin commands over ``MarketHistory`` and ``MarketIntelligence``."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_date
from gpt_trader_core.errors import InvalidParameterError


class SymbolCommand(AppCommand):
    """A command about one symbol over a window of bars."""

    arguments: ClassVar[list[Argument]] = [argument("symbol", "Symbol, e.g. AAPL", optional=True)]
    options: ClassVar[list[Option]] = [
        option("from", None, "First day (YYYY-MM-DD)", flag=False),
        option("to", None, "Last day (YYYY-MM-DD)", flag=False),
        option("timeframe", "t", "Bar timeframe (1d, 1h, 15m, ...)", flag=False, default="1d"),
        option("data-dir", None, "Directory of SYMBOL.csv files instead of the synthetic market", flag=False),
        option("format", "f", "Output: table, json or csv", flag=False),
    ]

    def settings_overrides(self) -> list[str]:
        if self.option("data-dir"):
            return ["market_data.source=csv", f"market_data.path={self.option('data-dir')}"]
        return []

    def symbol(self) -> str:
        value = self.require("SYMBOL", self.argument("symbol"), question="Symbol", default="AAPL", hint=" (e.g. AAPL)")
        return value.upper()

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        start, end = parse_date("from", self.option("from")), parse_date("to", self.option("to"))
        if start and end and end < start:
            raise InvalidParameterError(f"--to ({end:%Y-%m-%d}) is before --from ({start:%Y-%m-%d})")
        return start, end
