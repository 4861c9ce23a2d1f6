"""Request fields shared by several resources (one definition, one schema)."""

from __future__ import annotations

from typing import Literal

Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1mo"]
SYMBOL = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"
ID = r"^[A-Za-z0-9_:-]{1,80}$"
