"""Editing the user's config file (``gpt-trader config set KEY VALUE``).

Reading and parsing live in ``entrypoints.settings`` (the loader needs them); this module writes.

``set_config_value`` edits YAML with a ruamel.yaml round trip, so comments, key order, quoting and
indentation stay as the user wrote them; missing sections and keys are added. The result is parsed
back with the loader's own parser and must equal the intended data; when it does not, the file is
rewritten whole from the data, under a comment header saying so. JSON files are always rewritten (no
comments to keep).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Final

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelYAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from entrypoints.settings import COMMAND_LINE, parse_config_text, parse_value, settings_from_layers
from gpt_trader_core.errors import ConfigurationError

__all__ = ["set_config_value"]

_NEW_HEADER: Final = "# gpt-trader configuration; every key is documented in config/default.yaml.\n"
_REWRITE_HEADER: Final = _NEW_HEADER + "# Rewritten whole by a settings change: its layout was too complex to edit.\n"


def set_config_value(path: Path, dotted_key: str, raw_value: str) -> None:
    """Set ``dotted_key`` to ``raw_value`` (parsed like a command-line override) in ``path``.

    The key must exist and the file with the new value must still give valid settings (with
    defaults beneath; the environment is not consulted). Creates the file and its directories
    if missing (new files are private, 0600: they may hold secrets). Raises
    ``ConfigurationError`` (the file is left untouched) on any problem.
    """
    value = parse_value(dotted_key, raw_value)  # unknown key / section → ConfigurationError
    parts = dotted_key.split(".")
    text = _read_text(path)
    data = parse_config_text(text, path) if text is not None else {}
    settings_from_layers([(str(path), data), (COMMAND_LINE, _nest(parts, value))])  # raises if invalid
    wanted = _with_value(data, parts, value)

    if path.suffix.lower() == ".json":
        new_text = json.dumps(wanted, indent=2, ensure_ascii=False) + "\n"
    else:
        edited = _edit_yaml(text or _NEW_HEADER, parts, value)
        if edited is None or not _parses_to(edited, wanted):
            edited = _REWRITE_HEADER + yaml.safe_dump(wanted, sort_keys=False, allow_unicode=True)
        new_text = edited
    _write_atomically(path, new_text)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the config file: {exc}") from None


def _nest(parts: list[str], value: Any) -> dict[str, Any]:
    nested: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        nested = {part: nested}
    return nested


def _with_value(data: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(data)
    node = result
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return result


def _parses_to(text: str, wanted: dict[str, Any]) -> bool:
    try:
        return (yaml.safe_load(text) or {}) == wanted
    except yaml.YAMLError:
        return False


def _pyyaml_safe(value: Any) -> Any:
    """``value`` with the strings PyYAML (the loader, YAML 1.1) would read back as something else
    (``yes``, ``on``, ``1e3``...) double-quoted: ruamel.yaml writes YAML 1.2, where they are text."""
    if isinstance(value, str):
        try:
            same = yaml.safe_load(value) == value
        except yaml.YAMLError:
            same = False
        return value if same else DoubleQuotedScalarString(value)
    if isinstance(value, list | tuple):
        return [_pyyaml_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _pyyaml_safe(item) for key, item in value.items()}
    return value


def _indentation(text: str) -> tuple[int, int]:
    """(indent of the first nested key, indent of a list's dash below its key) as the file has them; 2 and 0
    when it has none. ruamel.yaml's own guess takes a list's items for the mapping indentation."""
    mapping: int | None = None
    offset: int | None = None
    previous_key_indent = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if stripped.startswith("- "):
            if offset is None:
                offset = max(0, indent - previous_key_indent)
            continue
        if indent > 0 and mapping is None:  # the first nested key sets the style of the file
            mapping = indent
        previous_key_indent = indent
    return mapping or 2, offset or 0


def _null(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _keeping_trailing_comment(old: Any, new: Any) -> Any:
    """``new``, carrying the comment lines that follow ``old``'s last item when both are lists or both
    mappings: ruamel.yaml keeps them on that item, so a plain replacement would drop them (and they
    usually introduce the next key)."""
    if isinstance(old, CommentedSeq) and isinstance(new, list) and old and new:
        carried: CommentedSeq | CommentedMap = CommentedSeq(new)
        comment = old.ca.items.get(len(old) - 1)
        if comment is not None:
            carried.ca.items[len(new) - 1] = comment
        return carried
    if isinstance(old, CommentedMap) and isinstance(new, dict) and old and new:
        carried = CommentedMap(new)
        comment = old.ca.items.get(next(reversed(old)))
        if comment is not None:
            carried.ca.items[next(reversed(carried))] = comment
        return carried
    return new


def _edit_yaml(text: str, parts: list[str], value: Any) -> str | None:
    """``text`` with the key set to ``value`` by a ruamel.yaml round trip (comments, order, quoting
    and indentation kept), or None when the text does not hold a mapping it can edit."""
    try:
        document = YAML().load(text)
    except RuamelYAMLError:
        return None
    header = ""
    if document is None:  # empty, or only comments (which a round trip of nothing would drop)
        document, header = CommentedMap(), text if text.endswith("\n") else text + "\n"
    if not isinstance(document, CommentedMap):
        return None
    node = document
    for part in parts[:-1]:
        if not isinstance(node.get(part), CommentedMap):
            node[part] = CommentedMap()
        node = node[part]
    node[parts[-1]] = _keeping_trailing_comment(node.get(parts[-1]), _pyyaml_safe(value))
    writer = YAML()
    writer.preserve_quotes = True
    writer.width = 4096  # never fold a long value onto a second line
    mapping, offset = _indentation(text)
    writer.indent(mapping=mapping, sequence=offset + 2, offset=offset)  # the item follows "- "
    writer.representer.add_representer(type(None), _null)  # `null` as written, not an empty value
    out = io.StringIO()
    try:
        writer.dump(document, out)
    except RuamelYAMLError:
        return None
    return header + out.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a crash never leaves half a config file."""
    target = path.resolve() if path.is_symlink() else path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o600
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot write the config file: {exc}") from None
