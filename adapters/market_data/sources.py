"""Market data ↔ ``DataSource``: what a market-data adapter is, as a value that can be stored, and
the adapter a stored value opens again (so a session resumes on the data it started on)."""

from __future__ import annotations

from pathlib import Path

from gpt_trader_core.domain.specs import DataSource
from gpt_trader_core.errors import DataSourceError
from gpt_trader_core.ports import MarketData

__all__ = ["describe_source", "open_source"]


def describe_source(market_data: MarketData) -> DataSource:
    """The ``DataSource`` of an adapter (file directories as absolute paths, so another working
    directory finds them)."""
    # imported here, not at the top: the feed factory imports this module and every command that lists
    # sessions builds the factory, without describing or opening any source
    from adapters.market_data.csv import CsvMarketData
    from adapters.market_data.memory import InMemoryMarketData
    from adapters.market_data.parquet import ParquetMarketData
    from adapters.market_data.synthetic import SyntheticMarketData

    if isinstance(market_data, CsvMarketData | ParquetMarketData):
        return DataSource(market_data.kind, str(market_data.directory.expanduser().resolve()))
    if isinstance(market_data, SyntheticMarketData):
        return DataSource("synthetic", seed=market_data.seed)
    if isinstance(market_data, InMemoryMarketData):
        return DataSource("memory", market_data.name)
    raise DataSourceError(
        f"cannot record where the market data {market_data.name!r} come from ({type(market_data).__name__}); "
        "use the synthetic, CSV, Parquet or in-memory source"
    )


def open_source(source: DataSource) -> MarketData:
    """The adapter of a stored ``DataSource``. In-memory data live in one process only: they are
    refused here (the process that holds them passes its own adapter instead)."""
    from adapters.market_data.csv import CsvMarketData
    from adapters.market_data.parquet import ParquetMarketData
    from adapters.market_data.synthetic import SyntheticMarketData

    if source.kind == "csv":
        return CsvMarketData(Path(str(source.path)))
    if source.kind == "parquet":
        return ParquetMarketData(Path(str(source.path)))
    if source.kind == "synthetic":
        return SyntheticMarketData(seed=int(source.seed or 0))
    raise DataSourceError(
        f"the in-memory market data {source.path!r} belonged to the process that started the session and "
        "are gone; start a new session"
    )
