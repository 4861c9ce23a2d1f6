"""A deterministic, regime-switching SYNTHETIC market — generated data, never real prices.

``generate(symbol, start, end, timeframe, seed)`` returns a ``SyntheticMarket``: ``Bars`` marked
``synthetic=True`` plus the ground-truth regime of every bar (an index into ``REGIMES``). Any symbol works;
the same ``(symbol, seed)`` always gives the same path, whatever range or process asks for it. Pure numpy.
"""

from __future__ import annotations

from gpt_trader_core.market_sim.market import LAST_DAY, MAX_BARS, SyntheticMarket, generate
from gpt_trader_core.market_sim.regimes import REGIME_SPECS, REGIMES, TRANSITIONS, RegimeSpec

__all__ = [
    "LAST_DAY",
    "MAX_BARS",
    "REGIMES",
    "REGIME_SPECS",
    "TRANSITIONS",
    "RegimeSpec",
    "SyntheticMarket",
    "generate",
]
