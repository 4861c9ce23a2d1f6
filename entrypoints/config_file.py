"""Editing the user's config file (``gpt-trader config set KEY VALUE``).

Reading and parsing live in ``entrypoints.settings`` (the loader needs them); this module writes.

``set_config_value`` edits YAML line by line so comments and the other lines stay as they are: it
finds the key's line in the nested block mappings (``api:`` / ``  port: 8000``) and replaces its
value (keeping an inline comment), or inserts the missing keys at the end of the deepest existing
block. The result is parsed back and must equal the intended data; when it does not — flow
mappings (``api: {port: 1}``), quoted keys, anchors, tabs... — the file is rewritten whole from
the data, under a comment header saying so. JSON files are always rewritten (no comments to keep).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Final

import yaml

from entrypoints.settings import COMMAND_LINE, parse_config_text, parse_value, settings_from_layers
from gpt_trader_core.errors import ConfigurationError

__all__ = ["set_config_value"]

_NEW_HEADER: Final = "# gpt-trader configuration; every key is documented in config/default.yaml.\n"
_REWRITE_HEADER: Final = _NEW_HEADER + "# Rewritten whole by a settings change: its layout was too complex to edit.\n"
_KEY_LINE: Final = re.compile(r"(?P<indent> *)(?P<key>[A-Za-z0-9_][\w-]*) *:(?P<rest>(?:\s.*)?)")


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


def _flow(value: Any) -> str | None:
    """``value`` as a one-line YAML flow scalar/collection, or None if it needs several lines."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1_000_000)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    return None if "\n" in text else text


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and stripped != "---"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], index: int) -> int:
    """One past the last content line of the block opened by ``lines[index]`` (its deeper lines);
    comments and blank lines after it are left out: they usually introduce the next key."""
    end = index + 1
    for j in range(index + 1, len(lines)):
        if _is_content(lines[j]):
            if _indent(lines[j]) <= _indent(lines[index]):
                break
            end = j + 1
    return end


def _split_comment(line: str) -> tuple[str, str]:
    """``(line without its trailing comment, "   # comment" or "")``, using YAML's own scanner."""
    try:
        tokens = list(yaml.scan(line))
    except yaml.YAMLError:
        return line, ""
    ends = [
        t.end_mark.index
        for t in tokens
        if not isinstance(t, yaml.StreamEndToken | yaml.BlockEndToken | yaml.StreamStartToken)
    ]
    cut = max(ends, default=0)
    tail = line[cut:].rstrip()  # keeps the spaces before "#" as the user aligned them
    return (line[:cut].rstrip(), tail) if tail.lstrip().startswith("#") else (line.rstrip(), "")


def _edit_yaml(text: str, parts: list[str], value: Any) -> str | None:
    """``text`` with the key set to ``value`` by line editing, or None if the layout is too complex."""
    flow = _flow(value)
    if flow is None:
        return None
    lines = text.splitlines()
    start, end, parent_indent = 0, len(lines), -1
    for depth, part in enumerate(parts):
        child_indent: int | None = None
        found: int | None = None
        for i in range(start, end):
            if not _is_content(lines[i]):
                continue
            if child_indent is None:
                child_indent = _indent(lines[i])
            if _indent(lines[i]) != child_indent:
                continue  # a deeper line: it belongs to a sibling's block
            match = _KEY_LINE.fullmatch(lines[i])
            if match is None:
                return None  # a list item, a quoted key, a flow collection...
            if match["key"] == part:
                found = i
                break
        if found is None:
            if child_indent is None:  # an empty block (or file): indent by two below the parent
                child_indent = parent_indent + 2 if parent_indent >= 0 else 0
            new = [f"{' ' * (child_indent + 2 * k)}{p}:" for k, p in enumerate(parts[depth:])]
            new[-1] += f" {flow}"
            return "\n".join([*lines[:end], *new, *lines[end:]]) + "\n"
        head, comment = _split_comment(lines[found])
        value_text = head.split(":", 1)[1].strip()
        block_end = _block_end(lines, found)
        if depth == len(parts) - 1:
            # Replace the value; drop the old value's own block lines (a block list or mapping).
            key_line = f"{head.split(':', 1)[0]}: {flow}{comment}"
            return "\n".join([*lines[:found], key_line, *lines[block_end:]]) + "\n"
        if value_text:
            return None  # `api: {port: 1}` or `api: 5`: not a block mapping to descend into
        start, end, parent_indent = found + 1, block_end, _indent(lines[found])
    return None


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
