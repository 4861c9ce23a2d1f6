"""Memoised indicators over one series of bars, so many parameter sets share the work.

An optimiser evaluating SmaCross on 50 (fast, slow) pairs needs 17 distinct SMAs, not 100.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class IndicatorCache:
    """``get(key, compute)`` returns the value computed once per key for these bars."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}
        self.hits = 0
        self.misses = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._values

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        try:
            value = self._values[key]
        except KeyError:
            self.misses += 1
            value = self._values[key] = compute()
            return value
        self.hits += 1
        return value
