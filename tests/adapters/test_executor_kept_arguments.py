"""``LocalProcessExecutor.run`` sends a large immutable argument (e.g. ``Bars``) to each worker once; later
calls send a token, a worker that lacks it gets it again, and the answers never change."""

from __future__ import annotations

import asyncio
import gc
import pickle

import numpy as np
import pytest

from adapters.executor import LocalProcessExecutor, local
from adapters.market_data.synthetic import SyntheticMarketData
from gpt_trader_core.domain.bars import Bars
from tests.adapters import _kept_jobs as jobs


def kept_bars(symbol: str = "AAPL") -> Bars:
    """Bars as the memory cache hands them out: an unpickled copy, immutable down to its memory."""
    bars = SyntheticMarketData().history(symbol, "2015-01-01", "2024-12-31")
    copy: Bars = pickle.loads(pickle.dumps(bars, pickle.HIGHEST_PROTOCOL))
    return copy


async def test_an_immutable_argument_is_sent_once_and_kept() -> None:
    executor = LocalProcessExecutor(1)
    try:
        bars = kept_bars()
        first = await executor.run(jobs.kept_here, bars)
        second = await executor.run(jobs.kept_here, bars)
        assert first[2] and second[2]
        assert first[:2] == second[:2]  # the same worker, the same object in it: not sent again
        assert await executor.run(jobs.close_sum, bars, 1.0) == pytest.approx(float(bars.close.sum()) + 1.0)
    finally:
        await executor.close()


async def test_what_may_change_or_is_small_is_sent_every_time() -> None:
    executor = LocalProcessExecutor(1)
    try:
        fresh = SyntheticMarketData().history("AAPL", "2015-01-01", "2024-12-31")  # a view of a writeable array
        writeable = np.arange(10_000.0)
        small = pickle.loads(pickle.dumps(kept_bars().slice(0, 100), pickle.HIGHEST_PROTOCOL))  # < 32 kB
        for arg in (fresh, writeable, small):
            assert not (await executor.run(jobs.kept_here, arg))[2]
    finally:
        await executor.close()


async def test_every_worker_gets_it_when_it_needs_it() -> None:
    executor = LocalProcessExecutor(2)
    try:
        markets = [kept_bars(symbol) for symbol in ("AAPL", "MSFT", "SPY")]
        expected = [float(m.close.sum()) for m in markets]
        for _ in range(3):  # calls land on either worker, with or without the argument
            got = await asyncio.gather(*(executor.run(jobs.close_sum, m) for m in markets * 4))
            assert got == pytest.approx(expected * 4)
    finally:
        await executor.close()


async def test_a_new_pool_gets_the_argument_again() -> None:
    executor = LocalProcessExecutor(1)
    try:
        bars = kept_bars()
        before = await executor.run(jobs.kept_here, bars)
        await executor.close()  # the next call starts new workers, which keep nothing
        after = await executor.run(jobs.kept_here, bars)
        assert after[2] and after[0] != before[0]
    finally:
        await executor.close()


async def test_a_gone_argument_is_forgotten() -> None:
    executor = LocalProcessExecutor(1)
    try:
        bars = kept_bars()
        await executor.run(jobs.close_sum, bars)
        assert len(executor._tokens) == 1
        del bars
        gc.collect()
        assert executor._tokens == {}
    finally:
        await executor.close()


def test_a_worker_keeps_a_bounded_number_of_bytes_and_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_KEPT", local.OrderedDict())
    monkeypatch.setattr(local, "KEPT_PER_WORKER", 2)
    bars = [kept_bars(symbol) for symbol in ("A", "B", "C")]
    for i, b in enumerate(bars):
        local._call_kept(jobs.close_sum, (local._Kept(f"t{i}", b),))
    assert list(local._KEPT) == ["t1", "t2"]  # the least recently used went
    with pytest.raises(local._NotKeptError) as missing:
        local._call_kept(jobs.close_sum, (local._Kept("t0"),))
    assert missing.value.args == ("t0",)
    assert local._call_kept(jobs.close_sum, (local._Kept("t1"),)) == float(bars[1].close.sum())
    monkeypatch.setattr(local, "KEPT_BYTES_PER_WORKER", local._numpy_bytes(bars[0]) + 1)
    local._call_kept(jobs.close_sum, (local._Kept("t3", bars[0]),))
    assert list(local._KEPT) == ["t3"]  # one fits in the byte budget
