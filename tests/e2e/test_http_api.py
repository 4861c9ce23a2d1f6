"""Every resource group of the REST API in-process (ASGI): the plan's paths answer as documented; bad
input is a problem naming the field and writes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.http_app import api, make_app

BT = {"symbol": "AAPL", "strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "start": "2020-01-01"}


async def _until_finished(client: httpx.AsyncClient, url: str, timeout: float = 30) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        body = (await client.get(url)).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not finish")


async def test_strategies_and_backtests(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        listed = await client.get("/api/v1/strategies/list")
        names = {s["name"] for s in listed.json()["items"]}
        assert "sma_cross" in names and listed.headers["etag"]
        assert (
            await client.get("/api/v1/strategies/list", headers={"if-none-match": listed.headers["etag"]})
        ).status_code == 304
        sma = next(s for s in listed.json()["items"] if s["name"] == "sma_cross")
        assert sma["params_schema"]["properties"]["fast"]["type"] == "integer"

        run = await client.post("/api/v1/strategies/backtest", json=BT)
        body = run.json()
        assert run.status_code == 200 and body["synthetic"] is True and body["id"].startswith("bt_")
        assert len(body["equity"]["equity"]) <= 200 and "sharpe_ratio" in body["stats"]
        saved = (await client.get("/api/v1/backtests")).json()
        assert [b["id"] for b in saved["items"]] == [body["id"]] and saved["next_cursor"] is None
        shown = (await client.get(f"/api/v1/backtests/{body['id']}")).json()
        assert shown["stats"]["num_trades"] == len(shown["trades"])
        assert (await client.get("/api/v1/strategies/performance/sma_cross")).json()["backtests"] == 1

        large = await client.post(
            "/api/v1/strategies/backtest",
            json={
                "symbol": "AAPL",
                "strategy": "sma_cross",
                "start": "2024-01-01",
                "end": "2024-01-31",
                "timeframe": "1m",
            },
        )
        assert large.status_code == 202 and large.headers["location"].startswith("/api/v1/backtests/jobs/")
        job = await _until_finished(client, large.headers["location"])
        assert job["status"] == "succeeded" and job["result"]["record_id"].startswith("bt_")

        assert (
            await client.post(
                "/api/v1/strategies/compare", json={"symbol": "AAPL", "strategies": ["sma_cross", "momentum"]}
            )
        ).status_code == 200
        assert (await client.get("/api/v1/strategies/recommend?symbol=AAPL")).json()["result"]["symbol"] == "AAPL"


async def test_optimize_background_idempotent_and_cancel(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        body = {"symbol": "AAPL", "strategy": "sma_cross", "space": {"fast": [5, 10], "slow": [20, 50]}}
        first = await client.post("/api/v1/strategies/optimize", json=body, headers={"Idempotency-Key": "k-1"})
        again = await client.post("/api/v1/strategies/optimize", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == again.status_code == 202 and first.json()["id"] == again.json()["id"]
        other = await client.post(
            "/api/v1/strategies/optimize", json={**body, "seed": 3}, headers={"Idempotency-Key": "k-1"}
        )
        assert other.status_code == 409
        done = await _until_finished(client, first.headers["location"])
        assert done["status"] == "succeeded" and done["result"]["trials"] == 4 and len(done["result"]["ranking"]) == 4
        assert (await client.delete(first.headers["location"])).status_code == 409  # finished: nothing to cancel
        executions = (await client.get("/api/v1/workflows/executions")).json()["items"]
        assert all(e["kind"] == "workflow" for e in executions)


async def test_market(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        data = await client.get("/api/v1/market/data/AAPL?start=2024-01-01&end=2024-01-10")
        assert (
            data.json()["synthetic"] is True
            and data.json()["count"] == 8
            and data.headers["x-synthetic-data"] == "true"
        )
        csv = await client.get("/api/v1/market/data/AAPL?start=2024-01-01&end=2024-01-10&format=csv")
        assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 9
        for method in ("rules", "hmm"):
            regime = (await client.get(f"/api/v1/market/regime?symbol=AAPL&method={method}")).json()
            assert regime["method"] == method and 0 <= regime["confidence"] <= 1
        stats = (await client.get("/api/v1/system/cache/stats")).json()
        assert stats["entries"].get("regime") == 2
        one = (
            await client.post("/api/v1/market/analyze", json={"symbols": ["AAPL"], "strategies": ["sma_cross"]})
        ).json()
        assert one["analysis"]["symbol"] == "AAPL" and one["comparison"]["rows"]
        many = (await client.post("/api/v1/market/analyze", json={"symbols": ["AAPL", "MSFT"]})).json()
        assert many["portfolio"]["var_95"] is not None


async def test_workflows(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        names = {w["name"] for w in (await client.get("/api/v1/workflows/list")).json()["items"]}
        assert {"simple_backtest", "multi_strategy_ensemble", "strategy_optimization"} <= names
        started = await client.post(
            "/api/v1/workflows/execute/simple_backtest", json={"params": {"symbol": "AAPL", "strategy": "sma_cross"}}
        )
        assert started.status_code == 202 and started.headers["location"].startswith("/api/v1/workflows/status/")
        assert (await _until_finished(client, started.headers["location"]))["status"] == "succeeded"
        page = (await client.get("/api/v1/workflows/executions?limit=1")).json()
        assert len(page["items"]) == 1 and page["next_cursor"] is None
        assert (await client.get("/api/v1/workflows/status/wf_missing")).status_code == 404
        assert (await client.post("/api/v1/workflows/execute/nope", json={})).status_code == 404


async def test_sessions_and_portfolio(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        live = await client.post(
            "/api/v1/sessions", json={"strategy": "sma_cross", "symbols": ["AAPL"], "mode": "live"}
        )
        assert live.status_code == 409 and "live broker" in live.json()["detail"]
        started = await client.post(
            "/api/v1/sessions", json={"strategy": "sma_cross", "symbols": ["AAPL"], "risk": {"max_drawdown_pct": 10}}
        )
        sid = started.json()["id"]
        assert started.status_code == 201 and started.headers["location"] == f"/api/v1/sessions/{sid}"
        for _ in range(100):
            if (await client.get(f"/api/v1/sessions/{sid}")).json()["session"]["last_bar"] >= 1:
                break
            await asyncio.sleep(0.05)
        assert [s["id"] for s in (await client.get("/api/v1/sessions")).json()["items"]] == [sid]
        assert (await client.get(f"/api/v1/portfolio/positions?session_id={sid}")).status_code == 200
        perf = (await client.get(f"/api/v1/portfolio/performance?session_id={sid}")).json()
        assert "realized_pnl" in perf["statistics"] and perf["equity"]
        risk = (await client.get(f"/api/v1/portfolio/risk?session_id={sid}")).json()
        assert risk["max_drawdown_pct"] >= 0 and risk["limits"]["max_drawdown_pct"]["limit"] == 10
        plan = await client.post(
            "/api/v1/portfolio/rebalance", json={"session_id": sid, "target_weights": {"AAPL": 0.5}}
        )
        assert plan.status_code == 200 and plan.json()["executed"] is False and plan.json()["plan"]["tier"]
        sized = (
            await client.post("/api/v1/portfolio/size", json={"symbol": "AAPL", "capital": 10000, "stop": 1})
        ).json()
        assert sized["result"]["method"] == "fixed_fractional" and sized["explanation"]
        stopped = await client.post(f"/api/v1/sessions/{sid}/stop")
        assert stopped.json()["status"] == "stopped"


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("post", "/api/v1/strategies/backtest", {**BT, "symbol": 5}, "body.symbol"),
        ("post", "/api/v1/strategies/backtest", {**BT, "unknown": 1}, "body"),
        ("post", "/api/v1/strategies/backtest", {**BT, "start": "yesterday"}, "body.start"),
        ("post", "/api/v1/strategies/backtest", {**BT, "costs": {"cash": -1}}, "body.costs.cash"),
        ("post", "/api/v1/strategies/optimize", {"symbol": "AAPL"}, "body.strategy"),
        (
            "post",
            "/api/v1/strategies/optimize",
            {"symbol": "AAPL", "strategy": "sma_cross", "method": "magic"},
            "body.method",
        ),
        ("post", "/api/v1/strategies/compare", {"symbol": "AAPL", "strategies": []}, "body.strategies"),
        ("get", "/api/v1/strategies/recommend?symbol=AAPL&timeframe=2d", None, "query.timeframe"),
        ("get", "/api/v1/market/data/AAPL?format=xml", None, "query.format"),
        ("get", "/api/v1/market/regime?symbol=AAPL&method=vibes", None, "query.method"),
        ("get", "/api/v1/market/regime", None, "query.symbol"),
        ("post", "/api/v1/market/analyze", {"symbols": "AAPL"}, "body.symbols"),
        ("post", "/api/v1/workflows/execute/simple_backtest", {"params": []}, "body.params"),
        ("get", "/api/v1/workflows/executions?limit=0", None, "query.limit"),
        ("get", "/api/v1/workflows/executions?cursor=not%20ours", None, "query.cursor"),
        ("post", "/api/v1/sessions", {"strategy": "sma_cross", "symbols": ["AAPL"], "capital": 0}, "body.capital"),
        ("post", "/api/v1/sessions", {"strategy": "sma_cross", "symbols": ["A/B"]}, "body.symbols[0]"),
        ("get", "/api/v1/sessions?status=bogus", None, "query.status"),
        ("get", "/api/v1/portfolio/performance", None, "query.session_id"),
        ("get", "/api/v1/portfolio/positions?extra=1", None, "query.extra"),
        (
            "post",
            "/api/v1/portfolio/rebalance",
            {"session_id": "s", "target_weights": {"AAPL": "half"}},
            "body.target_weights",
        ),
        ("post", "/api/v1/portfolio/size", {"symbol": "AAPL", "capital": 1e3, "confidence": 2}, "body.confidence"),
        ("get", "/api/v1/backtests?limit=abc", None, "query.limit"),
        ("post", "/api/v1/system/cache/clear", {"kind": 1}, "body.kind"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    tmp_path: Path, method: str, path: str, payload: Any, field: str
) -> None:
    async with api(make_app(tmp_path)) as client:
        response = await client.request(method.upper(), path, json=payload)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.startswith(field) for f in fields), fields
        assert (await client.get("/api/v1/backtests")).json()["items"] == []
        assert (await client.get("/api/v1/sessions")).json()["items"] == []
        assert (await client.get("/api/v1/workflows/executions")).json()["items"] == []


async def test_domain_refusals_are_problems_not_500(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        unknown = await client.post("/api/v1/strategies/backtest", json={**BT, "strategy": "nope"})
        assert unknown.status_code == 404 and "available" in unknown.json()["detail"]
        out_of_range = await client.post("/api/v1/strategies/backtest", json={**BT, "params": {"fast": -3}})
        assert out_of_range.status_code == 422
        huge = {
            "symbol": "AAPL",
            "strategy": "sma_cross",
            "space": {"fast": list(range(2, 200)), "slow": list(range(5, 300))},
        }
        too_big = await client.post("/api/v1/strategies/optimize", json=huge)
        assert too_big.status_code == 422 and "more than 20,000" in too_big.json()["detail"]
        reversed_dates = await client.get("/api/v1/market/data/AAPL?start=2024-02-01&end=2024-01-01")
        assert reversed_dates.status_code == 422
        assert (await client.get("/api/v1/backtests/bt_missing")).status_code == 404
        assert (await client.get("/api/v1/sessions/ses_missing")).status_code == 404
        unknown_cursor = await client.get("/api/v1/backtests?cursor=zzzz")
        assert unknown_cursor.status_code == 422 and unknown_cursor.json()["errors"][0]["field"] == "query.cursor"
        intraday = await client.get("/api/v1/market/data/AAPL?timeframe=1m")
        assert intraday.status_code == 422 and "start and end" in intraday.json()["detail"]
        assert (await client.get("/api/v1/backtests")).json()["items"] == []


_TWO_STARTS = """
import asyncio, tempfile
from pathlib import Path

import schemathesis

from tests.e2e.http_app import api, make_app

async def second() -> int:
    async with api(make_app(Path(tempfile.mkdtemp()))) as client:
        return (await client.get("/api/v1/system/health/live")).status_code

# First app: started by schemathesis over ASGI (as the fuzz test does), then a second app in-process.
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", make_app(Path(tempfile.mkdtemp())))
assert schema.get_all_operations()
print("second app:", asyncio.run(second()))
"""


def test_apps_started_one_after_another_in_one_process() -> None:
    """Regression (ordering flake): the schemathesis test, then these tests, in one process failed with
    ``KeyError: 'handle_request'`` (Sanic's TouchUp rebuilt its methods from already rebuilt ones). A
    fresh interpreter, so no earlier test has put Sanic in test mode already."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _TWO_STARTS], cwd=root, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "second app: 200" in done.stdout
