"""``gpt-trader config set KEY VALUE``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class ConfigSetCommand(AppCommand):
    name = "config set"
    description = "Write one setting into your config file (comments are kept)."
    help = """Writes KEY=VALUE into the config file in effect (--config, ./gpt-trader.yaml or
~/.gpt-trader/config.yaml, created if none exists). The value is validated first.

  <comment>gpt-trader config set api.port 9000</comment>
  <comment>gpt-trader config set cache.backend redis</comment>"""
    arguments: ClassVar[list[Argument]] = [
        argument("key", "Dotted key, e.g. api.port"),
        argument("value", "New value (parsed as YAML: 9000 is a number, true a boolean)"),
    ]

    def handle(self) -> int:
        from entrypoints.config_file import set_config_value
        from entrypoints.settings import find_config_file, user_config_path

        explicit = self.option("config")
        path = Path(explicit).expanduser() if explicit else (find_config_file() or user_config_path())
        set_config_value(path, self.argument("key"), self.argument("value"))
        self.line(f"set <info>{self.argument('key')}</info> in {path}")
        return 0
