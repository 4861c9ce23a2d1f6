"""``gpt-trader portfolio performance``."""

from __future__ import annotations

from typing import Any

from entrypoints.cli.commands.portfolio import SessionCommand
from entrypoints.cli.render import HEADLINE, headline, key_values, plain_csv


class PortfolioPerformanceCommand(SessionCommand):
    name = "portfolio performance"
    description = "A paper session's performance: return, Sharpe, drawdown, trades, P&L split and exposure."
    help = """The session's statistics over its own equity curve (the backtest's definitions); json adds
the (downsampled) equity curve, csv prints the curve.

  <comment>gpt-trader portfolio performance ses_0123456789abcdef</comment>
  <comment>gpt-trader portfolio performance ses_0123456789abcdef --format csv</comment>"""

    def handle(self) -> int:
        from entrypoints.serialization import dumps

        fmt = self.output_format()
        perf = self.for_session(lambda view, sid: view.performance(sid))
        stats: dict[str, Any] = dict(perf.statistics)
        if fmt == "json":  # the REST API's shape (GET /api/v1/portfolio/performance)
            self.line(dumps(perf))
        elif fmt == "csv":
            self.line(plain_csv(("time", "equity"), zip(perf.equity_times, perf.equity, strict=True)))
        else:
            self.line(f"<info>{perf.session_id}</info> · {headline(stats)}")
            first = [(k, stats[k]) for k in HEADLINE if k in stats]
            key_values(self, first + [(k, v) for k, v in stats.items() if k not in HEADLINE])
        return 0
