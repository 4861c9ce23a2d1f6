"""``gpt-trader config show``."""

from __future__ import annotations

from typing import ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand


class ConfigShowCommand(AppCommand):
    name = "config show"
    description = "Show the effective settings (secrets redacted), optionally with where each came from."
    options: ClassVar[list[Option]] = [
        option("format", "f", "yaml or json", flag=False, default="yaml"),
        option(
            "sources",
            None,
            "Show the source of every value (default, file, environment, command line)",
            flag=True,
        ),
    ]

    def handle(self) -> int:
        import yaml

        from entrypoints.serialization import dumps
        from entrypoints.settings import settings_to_dict

        loaded = self.load_settings()
        if self.option("sources"):
            width = max(map(len, loaded.sources))
            for key, source in sorted(loaded.sources.items()):
                self.line(f"{key:<{width}}  <comment>{source}</comment>")
            return 0
        data = settings_to_dict(loaded.settings, redact=True)
        if self.option("format") == "json":
            self.line(dumps(data))
        else:
            self.line(yaml.safe_dump(data, sort_keys=False).rstrip())
        return 0
