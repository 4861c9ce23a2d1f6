"""Build a session's broker from its stored configuration."""

from __future__ import annotations

from adapters.broker.simulated import SimulatedBroker
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.backtesting.fills import FillModel
from gpt_trader_core.domain.records import SessionRecord
from gpt_trader_core.ports import Broker


class SimulatedBrokerFactory:
    """A fresh simulated account per session, with the session's commission and slippage."""

    def __call__(self, record: SessionRecord) -> Broker:
        fills = FillModel.from_config(BacktestConfig(**record.config))
        return SimulatedBroker(record.capital, fills, symbols=record.symbols)
