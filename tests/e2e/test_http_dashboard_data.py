"""What the dashboard's Market and Optimise views read from the REST API (in-process, ASGI): per-bar indicator
series, every regime transition, the list of studies with their heatmaps, and the labels served as labels.js."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import gpt_trader_core as gt
from entrypoints.cli.render import human_label
from gpt_trader_core import indicators as ind
from gpt_trader_core.backtesting.stats import STAT_KEYS
from tests.e2e.http_app import api, make_app


async def _finished(client: httpx.AsyncClient, url: str, timeout: float = 60) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        body = (await client.get(url)).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not finish")


def _same(served: list[float | None], expected: np.ndarray) -> bool:
    values = np.array([np.nan if v is None else v for v in served], dtype=float)
    return bool(np.allclose(values, expected, equal_nan=True, rtol=0, atol=1e-9))


async def test_analyze_adds_per_bar_indicators_on_a_worker_process(tmp_path: Path) -> None:
    # The local executor pickles the analysis back from a worker (it answered 500 before: read-only mappings).
    async with api(make_app(tmp_path, executor="local")) as client:
        query = {"symbols": ["MSFT"], "start": "2023-01-01", "end": "2024-06-30", "series": True}
        answer = await client.post("/api/v1/market/analyze", json=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        bars = (await client.get("/api/v1/market/data/MSFT?start=2023-01-01&end=2024-06-30")).json()
        close = np.array(bars["close"])
        series = body["series"]
        assert set(series) == {"sma_20", "sma_50", "bollinger_upper", "bollinger_middle", "bollinger_lower", "rsi_14"}
        assert all(len(v) == bars["count"] for v in series.values())
        assert series["sma_20"][18] is None and series["sma_20"][19] is not None  # warming up: null
        assert _same(series["sma_50"], ind.sma(close, 50)) and _same(series["rsi_14"], ind.rsi(close, 14))
        assert _same(series["bollinger_upper"], ind.bollinger(close).upper)
        assert body["analysis"]["indicators"]["rsi_14"] == series["rsi_14"][-1]

        plain = (await client.post("/api/v1/market/analyze", json={"symbols": ["MSFT"]})).json()
        assert plain["series"] is None  # only when asked


async def test_regime_gives_as_many_transitions_as_asked(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        base = "/api/v1/market/regime?symbol=AAPL&start=2020-01-01&end=2024-12-31"
        default = (await client.get(base)).json()["transitions"]
        every = (await client.get(base + "&transitions=100000")).json()["transitions"]
        analysis = gt.detect_regime(gt.synthetic("AAPL", "2020-01-01", "2024-12-31"))
        assert len(default) == 10 and len(every) == len(analysis.changes) > 10
        assert every[-10:] == default
        # Consecutive: each transition leaves the regime the previous one entered.
        assert all(a["to_regime"] == b["from_regime"] for a, b in itertools.pairwise(every))
        refused = await client.get(base + "&transitions=0")
        assert refused.status_code in (400, 422) and refused.json()["errors"][0]["field"] == "query.transitions"


async def test_studies_are_listed_newest_first_with_their_heatmap(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        two = {"symbol": "AAPL", "strategy": "sma_cross", "space": {"fast": [5, 10, 15], "slow": [20, 40]}}
        one = {"symbol": "AAPL", "strategy": "breakout", "space": {"lookback": [10, 20, 30]}}
        first = await client.post("/api/v1/strategies/optimize", json=two)
        await _finished(client, first.headers["location"])
        second = await client.post("/api/v1/strategies/optimize", json=one)
        await _finished(client, second.headers["location"])

        page = (await client.get("/api/v1/strategies/optimize?limit=1")).json()
        assert [s["id"] for s in page["items"]] == [second.json()["id"]] and page["next_cursor"]
        rest = (await client.get(f"/api/v1/strategies/optimize?cursor={page['next_cursor']}")).json()
        assert [s["id"] for s in rest["items"]] == [first.json()["id"]]

        grid = rest["items"][0]["result"]["heatmap"]
        assert grid["kind"] == "heatmap" and grid["x_name"] == "fast" and grid["y_name"] == "slow"
        assert grid["x_labels"] == ["5", "10", "15"] and grid["y_labels"] == ["20", "40"]
        best = rest["items"][0]["result"]["best_value"]
        assert abs(max(v for row in grid["values"] for v in row if v is not None) - best) < 1e-5  # 6 decimals
        assert page["items"][0]["result"]["heatmap"] is None  # one searched parameter: no heatmap
        assert (await client.get("/api/v1/strategies/optimize?limit=0")).status_code in (400, 422)


async def test_the_dashboard_serves_the_cli_labels(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        page = (await client.get("/dashboard/")).text
        url = re.search(r'src="(/dashboard/assets/dashboard-bundle\.\w+\.js)"', page)
        assert url, page
        bundle = (await client.get(url.group(1))).text  # labels.js is one of the files the script joins
        script = bundle.split("/* ---- labels.js ---- */\n", 1)[1].split("\n;\n/* ---- ", 1)[0]
        served = json.loads(script.removeprefix("window.GptLabels = ").rstrip().removesuffix(";"))
        for key in (*STAT_KEYS, "max_drawdown_pct", "pnl", "rsi_14"):
            assert served["labels"][key] == human_label(key)
        assert served["labels"]["max_drawdown_pct"] == "Max. drawdown [%]"
        assert ["_pct", "[%]"] in served["units"]
