"""``gpt-trader config get KEY``."""

from __future__ import annotations

from typing import ClassVar

from cleo.helpers import argument
from cleo.io.inputs.argument import Argument

from entrypoints.cli.base import AppCommand


class ConfigGetCommand(AppCommand):
    name = "config get"
    description = "Print one setting, e.g. `gpt-trader config get api.port` (secrets print as ***)."
    help = """  <comment>gpt-trader config get api.port</comment>
  <comment>gpt-trader config get cli.default_format --set cli.default_format=json</comment>"""
    arguments: ClassVar[list[Argument]] = [argument("key", "Dotted key, e.g. api.port")]

    def handle(self) -> int:
        from entrypoints.serialization import dumps
        from entrypoints.settings import get_value, settings_to_dict

        loaded = self.load_settings()
        key = self.argument("key")
        get_value(loaded.settings, key)  # refuses unknown keys with a suggestion
        value: object = settings_to_dict(loaded.settings, redact=True)
        for part in key.split("."):
            value = value[part]  # type: ignore[index]
        self.line(value if isinstance(value, str) else dumps(value, indent=None))
        return 0
