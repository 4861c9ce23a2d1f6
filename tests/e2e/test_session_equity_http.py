"""``GET /api/v1/sessions/{id}/equity``: a session's account value by bar, in columns, as the dashboard's live
chart needs it (keyed by bar so it merges with the WebSocket's ``portfolio:updates`` without duplicates)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.http_app import api, make_app


async def test_a_sessions_equity_by_bar_after_a_bar_and_the_newest_points(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        started = await client.post(
            "/api/v1/sessions",
            json={"strategy": "sma_cross", "symbols": ["AAPL"], "feed": {"kind": "synthetic", "speed": 0}},
        )
        sid = started.json()["id"]
        for _ in range(200):
            if (await client.get(f"/api/v1/sessions/{sid}")).json()["session"]["last_bar"] >= 10:
                break
            await asyncio.sleep(0.05)
        await client.post(f"/api/v1/sessions/{sid}/stop")
        detail = (await client.get(f"/api/v1/sessions/{sid}")).json()["session"]

        whole = (await client.get(f"/api/v1/sessions/{sid}/equity")).json()
        assert whole["session_id"] == sid and len(whole["bars"]) >= 10
        assert whole["bars"] == list(range(whole["bars"][0], whole["bars"][-1] + 1))  # every bar, in order
        assert len(whole["times"]) == len(whole["cash"]) == len(whole["equity"]) == len(whole["bars"])
        assert whole["bars"][-1] == detail["last_bar"] and whole["equity"][-1] == detail["equity"]
        assert whole["cash"][-1] == detail["cash"]

        middle = whole["bars"][5]
        after = (await client.get(f"/api/v1/sessions/{sid}/equity?after_bar={middle}")).json()
        assert after["bars"] == whole["bars"][6:] and after["equity"] == whole["equity"][6:]
        newest = (await client.get(f"/api/v1/sessions/{sid}/equity?points=3")).json()
        assert newest["bars"] == whole["bars"][-3:] and newest["times"] == whole["times"][-3:]

        missing = await client.get("/api/v1/sessions/ses_missing/equity")
        assert missing.status_code == 404 and "ses_missing" in missing.json()["detail"]
        bad = await client.get(f"/api/v1/sessions/{sid}/equity?points=0")
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "query.points"


async def test_query_integers_are_bounded_as_the_openapi_document_says(tmp_path: Path) -> None:
    """schemathesis once sent a 31-digit ``after_bar`` that the document allowed and the parser refused."""
    async with api(make_app(tmp_path)) as client:
        spec = (await client.get("/api/v1/openapi.json")).json()
        params = spec["paths"]["/api/v1/sessions/{session_id}/equity"]["get"]["parameters"]
        after_bar = next(p for p in params if p["name"] == "after_bar")["schema"]
        assert after_bar["minimum"] == -1 and after_bar["maximum"] == 10**18 - 1
        too_long = await client.get(f"/api/v1/sessions/ses_x/equity?after_bar={10**18}")
        assert too_long.status_code == 400
        assert too_long.json()["errors"][0] == {
            "field": "query.after_bar",
            "message": f"expected an integer of at most 18 digits, got '{10**18}'",
        }
