"""Ports: what the core needs from the outside world, as small documented Protocols.

Adapters (in the ``adapters`` package) implement them; the composition root picks which.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from gpt_trader_core.domain.bars import Bars


@runtime_checkable
class MarketData(Protocol):
    """Historical OHLCV bars by symbol.

    Contract: ``history`` returns validated ``Bars`` with ``start <= timestamp <= end`` (either bound
    may be ``None`` for "from the first" / "to the last" available bar) at ``timeframe``; the same
    arguments give identical bars. It raises ``DataSourceError`` when the symbol or timeframe is not
    available and ``InvalidDataError`` when the stored data is broken. ``name`` identifies the source
    in cache keys and outputs (e.g. ``synthetic(seed=0)``).
    """

    @property
    def name(self) -> str: ...

    def symbols(self) -> list[str]:
        """Symbols this source can list (a generator of any symbol may return an example set)."""
        ...

    def history(
        self,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        timeframe: str = "1d",
    ) -> Bars: ...
