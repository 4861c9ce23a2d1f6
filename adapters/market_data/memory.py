"""``InMemoryMarketData``: bars held in a dict — a real, working adapter for tests, examples and notebooks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from adapters.market_data._tabular import StoredBars, serve
from gpt_trader_core.data.resample import TimeBound
from gpt_trader_core.domain.bars import TIMEFRAMES, Bars
from gpt_trader_core.domain.symbols import normalize_symbol
from gpt_trader_core.errors import DataSourceError

__all__ = ["InMemoryMarketData"]


class InMemoryMarketData:
    """Serves ``{symbol: Bars}``: ``history`` slices by ``start``/``end``, aggregates to coarser timeframes.

    Symbols match exactly first, then ignoring case. An unknown symbol raises ``DataSourceError`` listing the
    available ones; a timeframe finer than the stored bars raises ``DataSourceError``.
    """

    def __init__(self, data: Mapping[str, Bars] | Iterable[Bars] = (), name: str = "memory") -> None:
        items = list(data.items()) if isinstance(data, Mapping) else [(bars.symbol, bars) for bars in data]
        for symbol, bars in items:
            if not isinstance(bars, Bars):
                raise DataSourceError(
                    f"in-memory market data for {symbol!r} must be Bars, not {type(bars).__name__}; "
                    "build it with gpt_trader_core.domain.bars.Bars(...)"
                )
        self._bars: dict[str, Bars] = dict(items)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def symbols(self) -> list[str]:
        return sorted(self._bars)

    def history(
        self,
        symbol: str,
        start: TimeBound | None = None,
        end: TimeBound | None = None,
        timeframe: str | None = None,
    ) -> Bars:
        """The stored bars at ``timeframe`` (``None``: their own) within the range."""
        if timeframe is not None and timeframe not in TIMEFRAMES:
            raise DataSourceError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
        bars = self._find(symbol)
        return serve(StoredBars(bars=bars, known=True), start, end, timeframe, f"{self._name} {symbol}")

    def _find(self, symbol: str) -> Bars:
        normalize_symbol(symbol)  # the one symbol rule, before looking
        if symbol in self._bars:
            return self._bars[symbol]
        if isinstance(symbol, str):
            matches = [key for key in self._bars if key.upper() == symbol.strip().upper()]
            if len(matches) == 1:
                return self._bars[matches[0]]
        available = ", ".join(self.symbols()) or "none"
        raise DataSourceError(f"unknown symbol {symbol!r} in {self._name}; available symbols: {available}")
