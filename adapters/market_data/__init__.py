"""Market-data adapters (the ``MarketData`` port): synthetic, in-memory, CSV and Parquet.

Importing this package is cheap: each adapter's module is imported on first use of its name (PEP 562),
so a command reading synthetic bars does not import the CSV/Parquet readers, and pyarrow is imported only
when a Parquet file is read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.market_data.csv import CsvMarketData
    from adapters.market_data.memory import InMemoryMarketData
    from adapters.market_data.parquet import ParquetMarketData
    from adapters.market_data.synthetic import SyntheticMarketData

#: exported name -> the submodule defining it
_LAZY = {
    "CsvMarketData": "csv",
    "InMemoryMarketData": "memory",
    "ParquetMarketData": "parquet",
    "SyntheticMarketData": "synthetic",
}

__all__ = ["CsvMarketData", "InMemoryMarketData", "ParquetMarketData", "SyntheticMarketData"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
