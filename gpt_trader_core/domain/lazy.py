"""Package re-exports resolved on first use (PEP 562), so that importing one light submodule does not
import its heavy siblings through the package ``__init__`` (numpy alone is ~0.3 G instructions, most of a
CLI command's start-up budget). Usage in a package ``__init__``::

    if TYPE_CHECKING:                       # what type checkers and readers see
        from pkg.heavy import Thing
    __all__ = ["Thing"]
    __getattr__, __dir__ = lazy_exports(__name__, {"Thing": "pkg.heavy"})

It lives in ``domain`` (pure Python, no imports of the core) because that is the lowest layer every
package of the core, and the adapters, may import.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each name to the module
    defining it; the first lookup imports that module and stores the value on the package (later
    lookups are ordinary attribute reads)."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return getattr_, dir_
