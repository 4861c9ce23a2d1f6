"""``SyntheticMarketData`` keeps the markets it generated: the same arguments answer the same object, other
arguments (symbol, range, timeframe, seed) their own bars, and no more than ``KEPT_MARKETS`` stay."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest

from adapters.market_data import synthetic
from adapters.market_data.synthetic import SyntheticMarketData
from gpt_trader_core.market_sim import generate


def test_a_repeated_request_answers_the_market_generated_before() -> None:
    source = SyntheticMarketData(seed=7)
    first = source.market("aapl", "2015-01-01", "2024-12-31")
    assert source.market("AAPL", "2015-01-01", "2024-12-31", "1d") is first
    assert source.history("AAPL", "2015-01-01", "2024-12-31") is first.bars
    fresh = generate("AAPL", "2015-01-01", "2024-12-31", "1d", 7)
    np.testing.assert_array_equal(first.bars.close, fresh.bars.close)  # what generation gives, unchanged
    assert not first.bars.close.flags.writeable


def test_other_arguments_are_other_markets() -> None:
    source = SyntheticMarketData(seed=7)
    base = source.market("AAPL", "2020-01-01", "2020-12-31")
    others = [
        source.market("MSFT", "2020-01-01", "2020-12-31"),
        source.market("AAPL", "2020-01-02", "2020-12-31"),
        source.market("AAPL", "2020-01-01", "2020-12-31", "1w"),
        source.market("AAPL", dt.datetime(2020, 1, 1, 12), "2020-12-31"),
        SyntheticMarketData(seed=8).market("AAPL", "2020-01-01", "2020-12-31"),
    ]
    assert all(other is not base for other in others)
    assert others[-1].bars.fingerprint() != base.bars.fingerprint()  # another seed, other bars
    # The defaults are the same bounds given explicitly (and kept as such).
    assert source.market("AAPL") is source.market("AAPL", "2015-01-01", "2024-12-31")


def test_at_most_kept_markets_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "KEPT_MARKETS", 3)
    source = SyntheticMarketData()
    markets = [source.market(symbol, "2020-01-01", "2020-03-31") for symbol in ("A", "B", "C")]
    assert source.market("A", "2020-01-01", "2020-03-31") is markets[0]  # A is now the most recent
    source.market("D", "2020-01-01", "2020-03-31")  # drops B, the least recently used
    assert source.market("A", "2020-01-01", "2020-03-31") is markets[0]
    assert source.market("C", "2020-01-01", "2020-03-31") is markets[2]
    assert source.market("B", "2020-01-01", "2020-03-31") is not markets[1]


def test_threads_get_one_consistent_answer() -> None:
    source = SyntheticMarketData()
    got: list[object] = []

    def read() -> None:
        for symbol in ("X", "Y", "X", "Z", "X"):
            got.append(source.history(symbol, "2020-01-01", "2020-06-30").fingerprint())

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 20 and len(set(got)) == 3


def test_at_most_kept_bars_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "KEPT_BARS", 200)  # each market below: ~64 trading days
    source = SyntheticMarketData()
    first = source.market("A", "2020-01-01", "2020-03-31")
    second = source.market("B", "2020-01-01", "2020-03-31")
    source.market("C", "2020-01-01", "2020-03-31")
    assert source.market("B", "2020-01-01", "2020-03-31") is second
    source.market("D", "2020-01-01", "2020-03-31")  # 4 × ~64 bars > 200: A, the least recently used, goes
    assert source.market("A", "2020-01-01", "2020-03-31") is not first
    big = source.market("E", "2019-01-01", "2020-12-31")  # more bars than the whole budget: not kept
    assert source.market("E", "2019-01-01", "2020-12-31") is not big
