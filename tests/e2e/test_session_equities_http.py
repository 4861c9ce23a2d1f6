"""``GET /api/v1/sessions/equity?ids=…``: several sessions' newest equity in one request (the dashboard's
Overview draws a sparkline per running session), each as ``/{id}/equity`` gives it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.http_app import api, make_app


async def test_several_sessions_recent_equity_in_one_request(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        ids = []
        for seed in (1, 2):
            body = {
                "strategy": "sma_cross",
                "symbols": ["AAPL"],
                "feed": {"kind": "synthetic", "speed": 0, "seed": seed},
            }
            ids.append((await client.post("/api/v1/sessions", json=body)).json()["id"])
        for sid in ids:
            for _ in range(200):
                if (await client.get(f"/api/v1/sessions/{sid}")).json()["session"]["last_bar"] >= 10:
                    break
                await asyncio.sleep(0.05)
            await client.post(f"/api/v1/sessions/{sid}/stop")

        asked = list(reversed(ids))
        both = (await client.get(f"/api/v1/sessions/equity?ids={','.join(asked)}&points=5")).json()["items"]
        assert [e["session_id"] for e in both] == asked  # in the order asked
        for got in both:
            alone = (await client.get(f"/api/v1/sessions/{got['session_id']}/equity?points=5")).json()
            assert got == alone and len(got["bars"]) == 5
        assert both[0]["equity"] != both[1]["equity"]  # two sessions, two curves (different seeds)

        missing = await client.get(f"/api/v1/sessions/equity?ids={ids[0]},ses_missing")
        assert missing.status_code == 404 and "ses_missing" in missing.json()["detail"]
        none = await client.get("/api/v1/sessions/equity")
        assert none.status_code == 400 and none.json()["errors"][0]["field"] == "query.ids"
        bad = await client.get("/api/v1/sessions/equity?ids=a%20b")
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("query.ids")
