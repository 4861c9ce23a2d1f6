"""The synchronous backtest over HTTP: the bytes on the wire are the cattrs serialisation of the run (see
``tests/unit/test_backtest_json.py``), and the use case the handler keeps for a server run is dropped when
the server stops."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from entrypoints.presenters import dumps
from gpt_trader_core.backtesting.config import BacktestConfig
from gpt_trader_core.services.backtest import BacktestRequest
from gpt_trader_core.services.research import as_datetime
from tests.e2e.http_app import api, make_app
from tests.unit.test_backtest_json import reference_view

BODIES = [
    {"symbol": "AAPL", "strategy": "sma_cross", "params": {"fast": 7, "slow": 40}, "start": "2015-01-01",
     "end": "2024-12-31", "save": False},
    {"symbol": "MSFT", "strategy": "sma_cross", "params": {"fast": 3, "slow": 12}, "start": "2019-01-01",
     "end": "2020-12-31", "save": False, "equity_points": 17, "detail": "full",
     "costs": {"commission": 0.001, "stop_loss": 0.02, "take_profit": 0.05}},
    {"symbol": "SPY", "strategy": "sma_cross", "params": {"fast": 40, "slow": 45}, "start": "2020-01-01",
     "end": "2020-03-15", "save": False},
]  # fmt: skip


@pytest.mark.parametrize("body", BODIES, ids=["10-years", "full-with-stops", "no-trades"])
async def test_the_answer_is_the_cattrs_serialisation_of_the_run(tmp_path: Path, body: dict) -> None:  # type: ignore[type-arg]
    app = make_app(tmp_path)
    async with api(app) as client:
        first = await client.post("/api/v1/strategies/backtest", json=body)
        again = await client.post("/api/v1/strategies/backtest", json=body)
        assert first.status_code == again.status_code == 200
        assert first.json()["cached"] is False and again.json()["cached"] is True
        # The same run, from the backtest cache, through the use case: what the answer must be.
        costs = body.get("costs", {})
        run = await (await app.ctx.container.services.backtester()).run(
            BacktestRequest(
                symbol=body["symbol"],
                strategy=body["strategy"],
                params=body["params"],
                start=as_datetime(dt.date.fromisoformat(body["start"])),
                end=as_datetime(dt.date.fromisoformat(body["end"]), end=True),
                timeframe="1d",
                config=BacktestConfig(**costs),
            )
        )
        assert run.cached
        expected = dumps(reference_view(run, body.get("equity_points", 200), full=body.get("detail") == "full"))
        assert again.content == expected.encode()


async def test_the_use_case_lives_for_one_server_run(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with api(app) as client:
        for fast in (5, 6):
            response = await client.post("/api/v1/strategies/backtest", json={**BODIES[0], "params": {"fast": fast}})
            assert response.status_code == 200
        kept = app.ctx.backtest_jobs
        assert kept is not None
    assert app.ctx.backtest_jobs is None  # dropped when the server stopped: its resources are released
    async with api(app) as client:
        response = await client.post("/api/v1/strategies/backtest", json=BODIES[0])
        assert response.status_code == 200
        assert app.ctx.backtest_jobs is not None and app.ctx.backtest_jobs is not kept
