"""Issue 11.19: one symbol rule, one message, for the CLI, every data source and the Python API;
bad input echoed short; ``EUR/USD`` read from ``EURUSD.csv``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import gpt_trader_core as gt
from adapters.market_data import CsvMarketData, InMemoryMarketData, SyntheticMarketData
from gpt_trader_core.domain.symbols import SYMBOL_RULE, normalize_symbol
from gpt_trader_core.errors import DataSourceError, InvalidParameterError, InvalidSymbolError

LONG = "X" * 10_000


def _csv(directory: Path, name: str) -> Path:
    bars = gt.synthetic("EURUSD", "2024-01-01", "2024-03-01")
    lines = ["date,open,high,low,close,volume"] + [
        f"{bars.timestamps[i].astype('datetime64[D]')!s},{bars.open[i]:.5f},{bars.high[i]:.5f},"
        f"{bars.low[i]:.5f},{bars.close[i]:.5f},{bars.volume[i]:.0f}"
        for i in range(len(bars))
    ]
    path = directory / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_rule() -> None:
    assert normalize_symbol(" brk.b ") == "BRK.B" and normalize_symbol("EUR/USD") == "EUR/USD"
    assert normalize_symbol("^GSPC") == "^GSPC"
    for bad in ("", " ", "A B", "X" * 33, "AAPL;rm", None, 3):
        with pytest.raises(InvalidSymbolError, match=r"^invalid symbol .*: use 1 to 32 letters"):
            normalize_symbol(bad)


@given(st.text(min_size=33, max_size=20_000))
def test_bad_input_is_echoed_short(text: str) -> None:
    with pytest.raises(InvalidSymbolError) as caught:
        normalize_symbol(text)
    assert len(str(caught.value)) < 160 + len(SYMBOL_RULE)  # whatever the input length


@pytest.mark.parametrize(
    "source",
    [
        lambda tmp: SyntheticMarketData(),
        lambda tmp: CsvMarketData(tmp),
        lambda tmp: InMemoryMarketData({"AAPL": gt.synthetic("AAPL", "2024-01-01", "2024-02-01")}),
    ],
    ids=["synthetic", "csv", "memory"],
)
@pytest.mark.parametrize("symbol", [LONG, "A B", ""])
def test_every_source_gives_the_one_message(source: object, symbol: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidSymbolError) as caught:
        source(tmp_path).history(symbol)  # type: ignore[operator]
    with pytest.raises(InvalidSymbolError) as expected:
        normalize_symbol(symbol)
    assert str(caught.value) == str(expected.value) and len(str(caught.value)) < 200
    assert isinstance(caught.value, DataSourceError) and isinstance(caught.value, InvalidParameterError)


def test_the_python_api_gives_the_one_message() -> None:
    with pytest.raises(InvalidSymbolError, match=r"invalid symbol 'XXXXX.*\(10,000 characters"):
        gt.synthetic(LONG, "2024-01-01", "2024-02-01")


def test_a_slash_symbol_reads_the_file_without_the_slash(tmp_path: Path) -> None:
    _csv(tmp_path, "EURUSD.csv")
    bars = CsvMarketData(tmp_path).history("EUR/USD")
    assert bars.symbol == "EUR/USD" and len(bars) > 30
    with pytest.raises(DataSourceError, match=r"no csv file for symbol 'GBP/USD' .*expected GBPUSD.csv"):
        CsvMarketData(tmp_path).history("GBP/USD")


def test_sessions_use_the_rule() -> None:
    from adapters.broker.factory import SimulatedBrokerFactory
    from adapters.bus.memory import InMemoryEventBus
    from adapters.feeds.factory import FeedFactory
    from adapters.state.memory import InMemoryStateStore
    from gpt_trader_core.services.sessions import SessionRequest, TradingSessions
    from gpt_trader_core.strategy import REGISTRY

    async def start() -> None:
        store = InMemoryStateStore()
        await store.open()
        sessions = TradingSessions(
            store, InMemoryEventBus(), REGISTRY, FeedFactory(SyntheticMarketData()), SimulatedBrokerFactory()
        )
        await sessions.start(SessionRequest("momentum", (LONG,), tier_aware=False))

    with pytest.raises(InvalidSymbolError, match=r"\(10,000 characters"):
        asyncio.run(start())
