"""``SyntheticMarketData``: SYNTHETIC bars for any symbol from the core's regime-switching generator.

The data are generated, not observed: every ``Bars`` it returns has ``synthetic=True`` and
``source="synthetic(seed=...)"``, and drivers label it SYNTHETIC.
"""

from __future__ import annotations

from gpt_trader_core.data.resample import TimeBound
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.errors import DataSourceError
from gpt_trader_core.market_sim import SyntheticMarket, generate

__all__ = ["SyntheticMarketData"]

_EXAMPLES = ["AAPL", "MSFT", "GOOG", "SPY", "BTCUSD", "EURUSD"]


class SyntheticMarketData:
    """Deterministic SYNTHETIC market data: any symbol, any range from 1990-01-01 to 2099-12-31.

    The same ``(seed, symbol, timeframe)`` always gives the same bars, and overlapping ranges agree bar for
    bar. Symbols are upper-cased; ``start``/``end`` default to ``default_start``/``default_end``.
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
        return generate(
            key,
            self._default_start if start is None else start,
            self._default_end if end is None else end,
            timeframe,
            self._seed,
        )
