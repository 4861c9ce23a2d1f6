"""``SyntheticMarketData``: SYNTHETIC bars for any symbol from the core's regime-switching generator.

The data are generated, not observed: every ``Bars`` it returns has ``synthetic=True`` and
``source="synthetic(seed=...)"``, and drivers label it SYNTHETIC.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from gpt_trader_core.data.resample import TimeBound
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.errors import DataSourceError
from gpt_trader_core.market_sim import SyntheticMarket, generate

__all__ = ["SyntheticMarketData"]

_EXAMPLES = ["AAPL", "MSFT", "GOOG", "SPY", "BTCUSD", "EURUSD"]
#: Generated markets kept per source (least recently used dropped first), and most bars among them
#: (~60 bytes each: ~30 MB): a 10-year daily market is 2,600 bars and took ~2 ms to generate.
KEPT_MARKETS = 32
KEPT_BARS = 500_000


class SyntheticMarketData:
    """Deterministic SYNTHETIC market data: any symbol, any range from 1990-01-01 to 2099-12-31.

    The same ``(seed, symbol, timeframe)`` always gives the same bars, and overlapping ranges agree bar for
    bar. Symbols are upper-cased; ``start``/``end`` default to ``default_start``/``default_end``.
    The last ``KEPT_MARKETS`` generated markets (``KEPT_BARS`` bars at most) are kept and handed out again
    (they are deterministic and immutable: frozen records of read-only arrays).
    """

    def __init__(
        self,
        seed: int = 0,
        default_start: TimeBound = "2015-01-01",
        default_end: TimeBound = "2024-12-31",
    ) -> None:
        self._seed = seed
        self._default_start = default_start
        self._default_end = default_end
        self._kept: OrderedDict[tuple[Any, ...], SyntheticMarket] = OrderedDict()
        self._lock = threading.Lock()  # sources are read from worker threads (asyncio.to_thread)

    @property
    def name(self) -> str:
        return f"synthetic(seed={self._seed})"

    @property
    def seed(self) -> int:
        return self._seed

    def symbols(self) -> list[str]:
        """Example symbols; any symbol the one symbol rule accepts works (``domain.symbols``)."""
        return list(_EXAMPLES)

    def history(
        self,
        symbol: str,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        timeframe: str | None = None,
    ) -> Bars:
        """SYNTHETIC bars of ``symbol`` with ``start <= timestamp <= end`` at ``timeframe``."""
        return self.market(symbol, start, end, timeframe).bars

    def regimes(
        self,
        symbol: str,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        timeframe: str | None = None,
    ) -> list[str]:
        """The ground-truth regime name of each bar ``history`` returns for the same arguments."""
        return self.market(symbol, start, end, timeframe).regime_names()

    def market(
        self,
        symbol: str,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        timeframe: str | None = None,
    ) -> SyntheticMarket:
        """Bars and regimes together (one generation)."""
        key = normalize_symbol(symbol)
        timeframe = timeframe or "1d"  # the synthetic market's own bars are daily
        if timeframe not in TIMEFRAMES:
            raise DataSourceError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
        start = self._default_start if start is None else start
        end = self._default_end if end is None else end
        # The bounds' types too: a date and a datetime, or a string and a datetime64, of one day may compare equal.
        kept_as = (key, type(start).__name__, start, type(end).__name__, end, timeframe)
        with self._lock:
            market = self._kept.get(kept_as)
            if market is not None:
                self._kept.move_to_end(kept_as)
                return market
        market = generate(key, start, end, timeframe, self._seed)
        if len(market.bars) > KEPT_BARS:
            return market
        with self._lock:
            self._kept[kept_as] = market
            while len(self._kept) > KEPT_MARKETS or sum(len(m.bars) for m in self._kept.values()) > KEPT_BARS:
                self._kept.popitem(last=False)
        return market
