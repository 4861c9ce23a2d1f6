"""``GET /api/v1/sessions/{id}/orders``: every order a session placed, newest first, paged — what the
dashboard's Session view shows of the orders placed before the page opened (the WebSocket brings the rest)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.http_app import api, make_app

#: The WebSocket's ``order`` message fields (gpt_trader_core/trading/engine.py): the page merges both.
LIVE_FIELDS = {"client_order_id", "symbol", "side", "quantity", "fraction", "status", "filled_quantity"}


async def test_a_sessions_orders_newest_first_in_pages(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        started = await client.post(
            "/api/v1/sessions",
            json={
                "strategy": "sma_cross",
                "symbols": ["AAPL"],
                "params": {"fast": 2, "slow": 5},
                "feed": {"kind": "synthetic", "speed": 0},
            },
        )
        sid = started.json()["id"]
        for _ in range(400):
            if (await client.get(f"/api/v1/sessions/{sid}")).json()["orders"] >= 5:
                break
            await asyncio.sleep(0.05)
        await client.post(f"/api/v1/sessions/{sid}/stop")
        detail = (await client.get(f"/api/v1/sessions/{sid}")).json()
        assert detail["orders"] >= 5, detail["orders"]

        everything = (await client.get(f"/api/v1/sessions/{sid}/orders?limit=500")).json()
        items = everything["items"]
        assert everything["next_cursor"] is None and len(items) == detail["orders"]
        assert all(set(o) >= LIVE_FIELDS and o["symbol"] == "AAPL" for o in items)
        ids = [o["client_order_id"] for o in items]
        assert len(set(ids)) == len(ids)
        created = [o["created_at"] for o in items]
        assert created == sorted(created, reverse=True)  # newest first
        filled = {f["client_order_id"] for f in detail["recent_fills"]}
        assert filled and filled <= set(ids)  # the fills shown came from these orders
        assert all(
            o["status"] == "filled" and o["filled_quantity"] > 0 and o["average_price"]
            for o in items
            if o["client_order_id"] in filled
        )

        pages, cursor = [], None
        while True:
            query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
            page = (await client.get(f"/api/v1/sessions/{sid}/orders{query}")).json()
            pages.append(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert all(len(p) == 2 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 2
        assert [o["client_order_id"] for p in pages for o in p] == ids  # the same orders, once each, in order

        missing = await client.get("/api/v1/sessions/ses_missing/orders")
        assert missing.status_code == 404 and "ses_missing" in missing.json()["detail"]
        bad = await client.get(f"/api/v1/sessions/{sid}/orders?limit=0")
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "query.limit"

        spec = (await client.get("/api/v1/openapi.json")).json()
        route = spec["paths"]["/api/v1/sessions/{session_id}/orders"]["get"]
        assert {p["name"] for p in route["parameters"]} >= {"session_id", "limit", "cursor"}
        assert set(route["responses"]) >= {"200", "404"}
