"""Market-data adapters (the ``MarketData`` port): synthetic, in-memory, CSV and Parquet.

Importing this package is cheap: each adapter's module is imported on first use of its name (PEP 562),
so a command reading synthetic bars does not import the CSV/Parquet readers, and pyarrow is imported only
when a Parquet file is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gpt_trader_core.domain.lazy import lazy_exports

if TYPE_CHECKING:
    from adapters.market_data.csv import CsvMarketData
    from adapters.market_data.memory import InMemoryMarketData
    from adapters.market_data.parquet import ParquetMarketData
    from adapters.market_data.synthetic import SyntheticMarketData

__all__ = ["CsvMarketData", "InMemoryMarketData", "ParquetMarketData", "SyntheticMarketData"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CsvMarketData": "adapters.market_data.csv",
        "InMemoryMarketData": "adapters.market_data.memory",
        "ParquetMarketData": "adapters.market_data.parquet",
        "SyntheticMarketData": "adapters.market_data.synthetic",
    },
)
