"""``gpt-trader portfolio risk``."""

from __future__ import annotations

from entrypoints.cli.commands.portfolio import SessionCommand
from entrypoints.cli.render import key_values, plain_csv, report_table

FIELDS = (
    "bars",
    "var_95_pct",
    "cvar_95_pct",
    "var_99_pct",
    "cvar_99_pct",
    "max_drawdown_pct",
    "current_drawdown_pct",
    "net_exposure_pct",
    "gross_exposure_pct",
)


class PortfolioRiskCommand(SessionCommand):
    name = "portfolio risk"
    description = "A paper session's risk: historical VaR/CVaR, drawdown, exposure and its risk limits."
    help = """VaR and CVaR are of the session's bar returns, as % of equity (— under 20 bars).

  <comment>gpt-trader portfolio risk ses_0123456789abcdef</comment>
  <comment>gpt-trader portfolio risk ses_0123456789abcdef --format json</comment>"""

    def handle(self) -> int:
        from entrypoints.serialization import dumps

        fmt = self.output_format()
        risk = self.for_session(lambda view, sid: view.risk(sid))
        values = [(name, getattr(risk, name)) for name in FIELDS]
        if fmt == "json":  # the REST API's shape (GET /api/v1/portfolio/risk)
            self.line(dumps(risk))
        elif fmt == "csv":
            self.line(plain_csv(("session_id", *FIELDS), [[risk.session_id, *(v for _, v in values)]]))
        else:
            key_values(self, values, title=f"Risk of {risk.session_id}")
            self.line("\n<info>Risk limits</info>")
            rows = [
                (name, spec.get("limit"), spec.get("current"), spec.get("breached"))
                for name, spec in risk.limits.items()
            ]
            report_table(self, ("limit", "value", "current", "breached"), rows)
        return 0
