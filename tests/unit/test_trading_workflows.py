"""The two trading workflows end to end on the synthetic market with in-memory adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.broker.factory import SimulatedBrokerFactory
from adapters.bus.memory import InMemoryEventBus
from adapters.executor.local import InlineExecutor
from adapters.feeds.factory import FeedFactory
from adapters.market_data.synthetic import SyntheticMarketData
from adapters.state.memory import InMemoryStateStore
from gpt_trader_core.domain.records import ExecutionStatus, SessionStatus
from gpt_trader_core.errors import ConflictError
from gpt_trader_core.services.backtest import Backtester, MarketHistory
from gpt_trader_core.services.optimization import Optimizer
from gpt_trader_core.services.sessions import TradingSessions
from gpt_trader_core.strategy import REGISTRY
from gpt_trader_core.workflows.common import WorkflowServices
from gpt_trader_core.workflows.engine import WorkflowEngine
from gpt_trader_core.workflows.trading import adaptive_strategy_selection, risk_managed_live_trading
from gpt_trader_core.workflows.use_case import Workflows


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Workflows, TradingSessions, InMemoryStateStore]]:
    store, bus, executor = InMemoryStateStore(), InMemoryEventBus(), InlineExecutor()
    await store.open()
    market = SyntheticMarketData(seed=0)
    history = MarketHistory(market)
    optimizer = Optimizer(history, REGISTRY, executor, store)
    sessions = TradingSessions(store, bus, REGISTRY, FeedFactory(market), SimulatedBrokerFactory())
    shared = WorkflowServices(
        Backtester(history, REGISTRY, executor, store=store), history, optimizer, executor, REGISTRY
    )
    workflows = Workflows(
        WorkflowEngine(store, bus),
        shared,
        extra=(risk_managed_live_trading(shared, sessions), adaptive_strategy_selection(shared, sessions)),
    )
    yield workflows, sessions, store
    await sessions.stop_all()
    await workflows.shutdown()


def report(execution: Any) -> dict[str, Any]:
    assert execution.status is ExecutionStatus.SUCCEEDED, execution.error
    return dict(execution.result["report"])


async def test_risk_managed_session_trades_then_reconciles(setup: Any) -> None:
    workflows, _, store = setup
    out = report(
        await workflows.execute(
            "risk_managed_live_trading", {"bars": 200, "max_daily_loss_pct": 50, "max_drawdown_pct": 80}
        )
    )
    assert out["pre_trade"]["tier"] == "medium" and out["emergency_stop"] is False
    assert out["session"]["bars"] == 200 and out["session"]["status"] == "stopped"
    assert out["reconciliation"]["ok"] and out["reconciliation"]["fills"] > 0
    record = await store.get_session(out["session"]["session_id"])
    assert record.status is SessionStatus.STOPPED and record.last_bar == 199


async def test_the_emergency_stop_flattens_and_stops(setup: Any) -> None:
    workflows, _, _store = setup
    out = report(await workflows.execute("risk_managed_live_trading", {"bars": 500, "max_drawdown_pct": 0.5}))
    assert out["emergency_stop"] and "emergency stop: drawdown" in out["session"]["error"]
    assert out["reconciliation"]["positions"] == {} and out["session"]["bars"] < 500
    assert any(a["action"] == "emergency_stop" for a in out["session"]["risk_alerts"])


async def test_live_mode_is_refused_before_anything_runs(setup: Any) -> None:
    workflows, _, _ = setup
    with pytest.raises(ConflictError, match="live broker adapter"):
        await workflows.execute("risk_managed_live_trading", {"mode": "live"})


async def test_adaptive_selection_picks_within_the_tier_and_trades(setup: Any) -> None:
    workflows, sessions, _ = setup
    out = report(await workflows.execute("adaptive_strategy_selection", {"bars": 60, "capital": 2_000}))
    assert out["selection"]["tier"] == "micro"
    assert out["selection"]["strategy"] in ("sma_cross", "momentum")  # the micro tier's strategies
    assert set(out["scores"]["scores"]) == {"sma_cross", "momentum", "mean_reversion", "volatility", "breakout"}
    assert out["allocation"]["risk"]["max_open_positions"] == 3
    assert 0 < out["session"]["bars"] <= 60 and not sessions.running()  # the micro tier's 5 % drawdown may stop it
