"""Where settings come from: the config files, and the merge of layers that remembers the
origin (default, file, environment variable, command line) of every leaf key.

Mappings merge key by key (so ``cache.ttl.backtest`` alone keeps the other TTLs); a null section
(all its keys commented out) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from entrypoints.settings.converter import settings_to_dict
from entrypoints.settings.schema import Settings
from gpt_trader_core.errors import ConfigurationError

ENV_PREFIX: Final = "GPT_TRADER__"
LOCAL_CONFIG_NAME: Final = "gpt-trader.yaml"
DEFAULT_CONFIG_RELATIVE: Final = Path(".gpt-trader/config.yaml")
DEFAULT: Final = "default"
COMMAND_LINE: Final = "command line"


def user_config_path(home: Path | None = None) -> Path:
    """``~/.gpt-trader/config.yaml`` (``home`` defaults to ``Path.home()``)."""
    return (Path.home() if home is None else home) / DEFAULT_CONFIG_RELATIVE


def find_config_file(*, cwd: Path | None = None, home: Path | None = None) -> Path | None:
    """The config file the loader reads when none is given: ``./gpt-trader.yaml``, else the user's."""
    for candidate in ((Path.cwd() if cwd is None else cwd) / LOCAL_CONFIG_NAME, user_config_path(home)):
        if candidate.is_file():
            return candidate
    return None


def parse_config_text(text: str, path: Path) -> dict[str, Any]:
    """Parse a config file's text (JSON if ``path`` ends in ``.json``, else YAML) into a mapping.

    An empty file is ``{}``. Raises ``ConfigurationError`` naming the file and, for syntax
    errors, the line and column.
    """
    import yaml  # only when there is a config file to read

    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigurationError(f"{path}: invalid YAML{where}: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: expected a mapping of sections (such as 'api:') at the top, got {type(data).__name__}"
        )
    return data


def read_config_file(path: Path) -> dict[str, Any]:
    """Read and parse a config file; ``ConfigurationError`` if it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the config file: {exc}") from None
    return parse_config_text(text, path)


def _dotted(parts: Sequence[Any]) -> str:
    return ".".join(map(str, parts))


class Layers:
    """The merged raw tree, starting from the defaults, and the origin of every leaf key."""

    def __init__(self) -> None:
        self.tree: dict[Any, Any] = settings_to_dict(Settings(), redact=False)
        self.sources: dict[str, str] = {}
        self._record((), self.tree, DEFAULT)

    def merge(self, data: Mapping[Any, Any], source: str) -> None:
        for key, value in data.items():
            self.put((key,), value, source)

    def put(self, parts: tuple[Any, ...], value: Any, source: str) -> None:
        node = self.tree
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):  # a scalar in the way is replaced by a mapping
                self._forget(parts[: depth + 1])
                node[part] = {}
            node = node[part]
        current = node.get(parts[-1])
        if isinstance(current, dict) and (value is None or isinstance(value, Mapping)):
            # Mappings merge key by key; null (a section whose keys are all commented out) is empty.
            for key, item in (value or {}).items():
                self.put((*parts, key), item, source)
            return
        self._forget(parts)
        node[parts[-1]] = value
        self._record(parts, value, source)

    def _record(self, parts: tuple[Any, ...], value: Any, source: str) -> None:
        if isinstance(value, Mapping) and value:
            for key, item in value.items():
                self._record((*parts, key), item, source)
        elif parts:
            self.sources[_dotted(parts)] = source

    def _forget(self, parts: tuple[Any, ...]) -> None:
        key = _dotted(parts)
        for known in [k for k in self.sources if k == key or k.startswith(f"{key}.")]:
            del self.sources[known]

    def origin(self, key: str) -> str | None:
        """Where a key's value came from: its own source, an ancestor's, or its children's."""
        probe = key
        while probe:
            if probe in self.sources:
                return self.sources[probe]
            probe = probe.rpartition(".")[0]
        below = sorted({s for k, s in self.sources.items() if k.startswith(f"{key}.")})
        return ", ".join(below) or None


def describe_source(source: str | None) -> str:
    if source is None:
        return ""
    if source == DEFAULT:
        return " (default)"
    if source.upper().startswith(ENV_PREFIX):
        return f" (from environment variable {source})"
    return f" (from {source})"
