"""``gpt-trader portfolio size``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cleo.helpers import argument, option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.commands.backtest import parse_float
from entrypoints.cli.render import key_values, plain_csv, report_table
from gpt_trader_core.errors import InvalidParameterError

if TYPE_CHECKING:
    from entrypoints.container import Container

METHODS = ("fixed", "fixed_fractional", "kelly", "fractional_kelly", "volatility_target")
#: option name → ``size_position`` keyword (all numbers)
NUMBERS = {
    "capital": "capital",
    "stop": "stop",
    "units": "units",
    "amount": "amount",
    "risk-fraction": "risk_fraction",
    "win-rate": "win_rate",
    "payoff-ratio": "payoff_ratio",
    "target-vol": "target_vol",
    "confidence": "confidence",
}
COLUMNS = ("step", "value", "note")


class PortfolioSizeCommand(AppCommand):
    remote_capable = True
    name = "portfolio size"
    description = "How many units of a symbol to trade: sized by a method, capital and risk, explained step by step."
    help = """The price is the symbol's latest close; volatility targeting reads its bars.

  <comment>gpt-trader portfolio size AAPL --capital 10000 --method fixed --amount 2500</comment>
  <comment>gpt-trader portfolio size AAPL --capital 25000 --method kelly --win-rate 0.55 --payoff-ratio 1.5</comment>
  <comment>gpt-trader portfolio size SPY --capital 50000 -m volatility_target --target-vol 0.15 -f json</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("symbol", "Symbol, e.g. AAPL", optional=True)]
    options: ClassVar[list[Option]] = [
        option("capital", None, "Capital to size against", flag=False),
        option("method", "m", f"Sizing method: {', '.join(METHODS)}", flag=False, default="fixed_fractional"),
        option("side", None, "buy or sell", flag=False, default="buy"),
        option("stop", None, "Stop price (fixed_fractional risks the distance to it)", flag=False),
        option("units", None, "Units (method fixed)", flag=False),
        option("amount", None, "Notional amount (method fixed)", flag=False),
        option("risk-fraction", None, "Fraction of capital at risk, e.g. 0.01", flag=False),
        option("win-rate", None, "Win rate in [0, 1] (kelly)", flag=False),
        option("payoff-ratio", None, "Average win / average loss (kelly)", flag=False),
        option("target-vol", None, "Annualised volatility target, e.g. 0.15", flag=False),
        option("confidence", None, "Signal confidence in [0, 1] scaling the size", flag=False),
        option("regime", None, "Market regime scaling the size (e.g. bear_volatile)", flag=False),
        option("format", "f", "Output: table, json or csv", flag=False),
    ]

    def handle(self) -> int:
        from entrypoints.serialization import dumps, to_plain

        symbol = self.require("SYMBOL", self.argument("symbol"), question="Symbol", default="AAPL").upper()
        capital = self.require("--capital", self.option("capital"), question="Capital", default="10000")
        method = self.option("method")
        if method not in METHODS:
            raise InvalidParameterError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        fmt = self.output_format()
        options: dict[str, Any] = {"method": method, "side": self.option("side")}
        for name, keyword in NUMBERS.items():
            value = parse_float(name, capital if name == "capital" else self.option(name))
            if value is not None:
                options[keyword] = value
        if options["capital"] <= 0:
            raise InvalidParameterError(f"--capital must be positive, got {capital}")
        if self.option("regime"):
            options["regime"] = self.option("regime")

        async def work(container: Container) -> Any:
            return await (await container.services.intelligence()).size(symbol, **options)

        decision = self.run_with_container(work)
        steps = [(s.name, s.value, s.note) for s in decision.steps] if decision.steps else []
        if fmt == "json":  # the REST API's shape (POST /api/v1/portfolio/size)
            self.line(dumps({"result": to_plain(decision), "explanation": decision.explain()}))
        elif fmt == "csv":
            self.line(plain_csv(("units", "notional", "fraction_of_capital", "price", "method"), [_summary(decision)]))
        else:
            key_values(
                self,
                [
                    ("units", decision.units),
                    ("notional", decision.notional),
                    ("fraction_of_capital_pct", decision.fraction_of_capital * 100),
                    ("price", decision.price),
                    ("capital", decision.capital),
                    ("risk", decision.risk),
                    ("method", decision.method),
                    ("side", getattr(decision.side, "value", decision.side)),
                ],
                title=f"{symbol}: {decision.units:,g} units",
            )
            self.line(decision.reason)
            if steps:
                report_table(self, COLUMNS, steps)
        return 0


def _summary(decision: Any) -> list[Any]:
    return [decision.units, decision.notional, decision.fraction_of_capital, decision.price, decision.method]
