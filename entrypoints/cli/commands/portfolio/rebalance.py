"""``gpt-trader portfolio rebalance SESSION --weight SYMBOL=FRACTION``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.commands.portfolio import SessionCommand
from entrypoints.cli.render import plain_csv
from gpt_trader_core.errors import InvalidParameterError

COLUMNS = ("session_id", "side", "quantity", "symbol")


class PortfolioRebalanceCommand(SessionCommand):
    name = "portfolio rebalance"
    description = "Plan (or --execute) moving a running paper session to target weights."
    help = """Plans the orders that move session <info>SESSION</info> to the <info>--weight</info>s (fractions of its
equity, within its capital tier); <info>--execute</info> sends them through the session (filled at its next bar; the
server needs the trader role). The session's prices are in the process that runs it — the server that
started it — so this is mostly used with <info>--remote</info>; locally it answers for sessions of this process.

  <comment>gpt-trader portfolio rebalance ses_0123456789abcdef --weight AAPL=0.5 --weight MSFT=0.3 --remote http://127.0.0.1:9000</comment>
  <comment>gpt-trader portfolio rebalance ses_0123456789abcdef -w AAPL=0.6 --execute --format json --remote http://127.0.0.1:9000</comment>"""
    remote_capable = True
    options: ClassVar[list[Option]] = [
        option(
            "weight",
            "w",
            "Target weight as SYMBOL=FRACTION of equity, e.g. AAPL=0.5 (repeatable)",
            flag=False,
            multiple=True,
        ),
        option("execute", None, "Send the plan's orders through the session (default: only show the plan)", flag=True),
        *SessionCommand.options,
    ]

    def handle(self) -> int:
        from entrypoints.presenters.portfolio import rebalance_view
        from entrypoints.serialization import dumps

        fmt = self.output_format()
        weights = self.weights()
        execute = bool(self.option("execute"))

        async def work(view: Any, session_id: str) -> Any:  # the REST API's use case (POST /portfolio/rebalance)
            return await view.rebalance(session_id, weights, execute=execute)

        outcome = self.for_session(work)
        plan = outcome.plan
        if fmt == "json":  # the REST API's shape
            self.line(dumps(rebalance_view(outcome)))
        elif fmt == "csv":
            rows = [(outcome.session_id, o.side.value, o.quantity, o.symbol) for o in plan.orders]
            self.line(plain_csv(COLUMNS, rows))
        else:
            self.line(plan.explain())
            done = "orders sent to the session (filled at its next bar)" if outcome.executed else "plan only"
            self.line(f"<info>{outcome.session_id}</info>: {done}")
        return 0

    def weights(self) -> dict[str, float]:
        pairs = self.parse_pairs("weight", self.option("weight"))
        if not pairs:
            raise InvalidParameterError("--weight is required, e.g. --weight AAPL=0.5 (repeatable)")
        weights: dict[str, float] = {}
        for symbol, text in pairs.items():
            try:
                weights[symbol.upper()] = float(text)
            except ValueError:
                raise InvalidParameterError(
                    f"--weight {symbol}={text!r}: the weight must be a number, e.g. 0.5"
                ) from None
        return weights
