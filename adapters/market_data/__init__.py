"""Market-data adapters (the ``MarketData`` port): synthetic, in-memory, CSV and Parquet.

Importing this package is cheap: pyarrow is imported only when a Parquet file is read.
"""

from adapters.market_data.csv import CsvMarketData
from adapters.market_data.memory import InMemoryMarketData
from adapters.market_data.parquet import ParquetMarketData
from adapters.market_data.synthetic import SyntheticMarketData

__all__ = ["CsvMarketData", "InMemoryMarketData", "ParquetMarketData", "SyntheticMarketData"]
