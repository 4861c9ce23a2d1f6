"""``gpt-trader config validate``."""

from __future__ import annotations

from entrypoints.cli.base import AppCommand


class ConfigValidateCommand(AppCommand):
    name = "config validate"
    description = "Check the configuration (file, environment, --set); exit 2 with every problem if invalid."
    help = """  <comment>gpt-trader config validate</comment>
  <comment>gpt-trader config validate --set api.port=9000</comment>"""

    def handle(self) -> int:
        loaded = self.load_settings()
        where = loaded.config_file or "no config file (defaults and environment)"
        self.line(f"<info>configuration is valid</info> — {where}")
        return 0
