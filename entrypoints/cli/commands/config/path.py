"""``gpt-trader config path``."""

from __future__ import annotations

from pathlib import Path

from entrypoints.cli.base import AppCommand


class ConfigPathCommand(AppCommand):
    name = "config path"
    description = "Print the config file in effect and where gpt-trader looks for one."
    help = """  <comment>gpt-trader config path</comment>
  <comment>gpt-trader config path --config ./gpt-trader.yaml</comment>"""

    def handle(self) -> int:
        from entrypoints.settings import LOCAL_CONFIG_NAME, find_config_file, user_config_path

        explicit = self.option("config")
        in_effect = Path(explicit).expanduser() if explicit else find_config_file()
        self.line(str(in_effect) if in_effect else "none (built-in defaults)")
        if self.io.is_verbose():
            self.line(f"searched: --config, ./{LOCAL_CONFIG_NAME}, {user_config_path()}")
        return 0
