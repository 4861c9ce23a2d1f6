"""Regime values leave a worker process: ``MarketIntelligence.regime`` through the real process pool."""

from __future__ import annotations

import pickle
from types import MappingProxyType

import numpy as np

from adapters.executor.local import LocalProcessExecutor
from adapters.market_data.synthetic import SyntheticMarketData
from gpt_trader_core.regime import REGIMES, accuracy_report
from gpt_trader_core.services.backtest import MarketHistory
from gpt_trader_core.services.intelligence import MarketIntelligence
from gpt_trader_core.strategy import REGISTRY


async def test_regime_returns_from_a_worker_process() -> None:
    executor = LocalProcessExecutor(1, run_inline_below=0)
    try:
        service = MarketIntelligence(MarketHistory(SyntheticMarketData(seed=2)), executor, registry=REGISTRY)
        for method in ("rules", "hmm"):
            analysis = await service.regime("AAPL", method=method)
            assert analysis.current in REGIMES and analysis.method == method
            # Still a read-only mapping after the trip back, with the same content.
            assert isinstance(analysis.average_durations, MappingProxyType) and analysis.average_durations
    finally:
        await executor.close()


def test_regime_accuracy_pickles() -> None:
    truth = np.array([0, 1, 2, 3, 0, 1], dtype=np.int8)
    report = accuracy_report(truth, truth)
    again = pickle.loads(pickle.dumps(report))
    assert isinstance(again.precision, MappingProxyType)
    assert dict(again.support) == dict(report.support) and again.accuracy == report.accuracy == 1.0
