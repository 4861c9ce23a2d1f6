"""Bar lengths by timeframe name, without numpy.

``domain.bars.TIMEFRAMES`` holds the same lengths as ``numpy.timedelta64`` for array arithmetic; this
table lets specs and records validate a timeframe without importing numpy (~60 ms at CLI start-up).
A unit test keeps the two equal.
"""

from __future__ import annotations

__all__ = ["TIMEFRAME_SECONDS"]

TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 5 * 60,
    "15m": 15 * 60,
    "30m": 30 * 60,
    "1h": 3600,
    "4h": 4 * 3600,
    "1d": 86400,
    "1w": 7 * 86400,
    "1mo": 30 * 86400,  # nominal: calendar months vary
}
