"""``gpt-trader strategies``."""

from __future__ import annotations

from typing import ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand
from entrypoints.cli.render import to_csv, write_table


class StrategiesCommand(AppCommand):
    name = "strategies"
    description = "List the strategies with their parameters (type, default, range)."
    help = """Every strategy runs everywhere by name: backtest, optimize, run, workflows.

  <comment>gpt-trader strategies</comment>
  <comment>gpt-trader strategies --format json</comment>"""
    options: ClassVar[list[Option]] = [option("format", "f", "Output: table, json or csv", flag=False)]

    def handle(self) -> int:
        from entrypoints.serialization import dumps
        from gpt_trader_core.strategy import REGISTRY

        fmt = self.output_format()
        specs = [REGISTRY[name] for name in REGISTRY]
        if fmt == "json":
            self.line(dumps([spec.describe() for spec in specs]))
            return 0
        headers = ("strategy", "parameter", "type", "default", "range", "description")
        rows = [
            (spec.name, p.name, p.type_name, p.default, f"{p.low} .. {p.high}", p.description)
            for spec in specs
            for p in spec.params
        ]
        if fmt == "csv":
            self.line(to_csv(headers, rows).rstrip("\n"))
            return 0
        for spec in specs:
            self.line(f"<info>{spec.name}</info> — {spec.description}")
        write_table(self, headers, rows)
        return 0
