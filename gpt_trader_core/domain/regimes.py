"""The seven market regimes, by name.

Each name is ``<direction>_<volatility>`` (direction ``bull`` / ``bear`` / ``sideways``, volatility
``quiet`` / ``volatile``) except ``crisis``. The order is fixed: a regime *index* (the synthetic market's
``regimes`` array, the detectors' labels) means the same thing everywhere.
"""

from __future__ import annotations

from typing import Final

REGIMES: Final[tuple[str, ...]] = (
    "bull_quiet",
    "bull_volatile",
    "bear_quiet",
    "bear_volatile",
    "sideways_quiet",
    "sideways_volatile",
    "crisis",
)
