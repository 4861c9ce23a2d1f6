"""The one rule for symbols, shared by every driver and data source: what a symbol may be spelled as."""

from __future__ import annotations

import re
from typing import Any

from gpt_trader_core.errors import InvalidSymbolError

__all__ = ["SYMBOL_RULE", "normalize_symbol", "shown"]

_SYMBOL = re.compile(r"[A-Z0-9._\-/^=]{1,32}")
SYMBOL_RULE = "use 1 to 32 letters, digits or . _ - / ^ = (e.g. AAPL, BRK.B, EUR/USD, ^GSPC)"
_ECHO = 40  # characters of a bad value echoed back: enough to recognise it, never a wall of text


def shown(value: Any, limit: int = _ECHO) -> str:
    """``repr(value)``, cut to ``limit`` characters with the full length said (for error messages)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters as text"
    return f"{text[:limit]}… ({size})"


def normalize_symbol(symbol: Any) -> str:
    """``symbol`` stripped and upper-cased, or ``InvalidSymbolError`` saying why and what to type.

    One rule everywhere (CLI, Python API, CSV/Parquet/synthetic/in-memory data, sessions): 1 to 32 of
    letters, digits and ``. _ - / ^ =``. ``EUR/USD`` is a valid symbol; file-based sources store it as
    ``EURUSD.csv`` (a ``/`` cannot be part of a file name).
    """
    if not isinstance(symbol, str) or not symbol.strip():
        why = "a symbol must be a non-empty string"
    else:
        key = symbol.strip().upper()
        if _SYMBOL.fullmatch(key):
            return key
        if len(key) > 32:
            why = "more than 32 characters"
        else:
            bad = sorted({c for c in key if not _SYMBOL.fullmatch(c)})
            why = f"{' '.join(repr(c) for c in bad[:5])} not allowed"
    raise InvalidSymbolError(f"invalid symbol {shown(symbol)} ({why}): {SYMBOL_RULE}")
