"""``gpt-trader config show``."""

from __future__ import annotations

from typing import Any, ClassVar

from cleo.helpers import option
from cleo.io.inputs.option import Option

from entrypoints.cli.base import AppCommand


class ConfigShowCommand(AppCommand):
    name = "config show"
    description = "Show the effective settings (secrets redacted), optionally with where each came from."
    help = """Prints every setting after defaults, the config file, the environment and --set are merged.

  <comment>gpt-trader config show</comment>
  <comment>gpt-trader config show --sources</comment>
  <comment>gpt-trader config show --format json --set api.port=9000</comment>"""
    options: ClassVar[list[Option]] = [
        option("format", "f", "yaml or json (with --sources: table or json)", flag=False, default="yaml"),
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
        data = settings_to_dict(loaded.settings, redact=True)
        if self.option("sources"):
            self._with_sources(data, loaded.sources)
            return 0
        if self.option("format") == "json":
            self.line(dumps(data))
        else:
            self.line(yaml.safe_dump(data, sort_keys=False).rstrip())
        return 0

    def _with_sources(self, data: dict[str, Any], sources: dict[str, str]) -> None:
        """Every leaf key with its effective value (secrets redacted) and where that value came from."""
        from entrypoints.serialization import dumps

        rows = {key: {"value": _leaf(data, key), "source": source} for key, source in sorted(sources.items())}
        if self.option("format") == "json":
            self.line(dumps(rows))
            return
        shown = {key: _text(row["value"]) for key, row in rows.items()}
        key_width, value_width = max(map(len, rows)), max(map(len, shown.values()))
        for key, row in rows.items():
            self.line(f"{key:<{key_width}}  {shown[key]:<{value_width}}  <comment>{row['source']}</comment>")


def _leaf(data: Any, dotted_key: str) -> Any:
    for part in dotted_key.split("."):
        data = data[part]
    return data


def _text(value: Any) -> str:
    from entrypoints.serialization import dumps

    return value if isinstance(value, str) else dumps(value, indent=None)
