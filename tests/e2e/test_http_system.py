"""System endpoints, problems, request ids and the OpenAPI document, in-process over ASGI."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate

from tests.e2e.http_app import api, make_app


async def test_health_live_cache_and_request_id(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        health = await client.get("/api/v1/system/health", headers={"X-Request-Id": "trace-7"})
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.headers["x-request-id"] == "trace-7"
        assert (await client.get("/api/v1/system/health/live")).json()["status"] == "alive"
        stats = (await client.get("/api/v1/system/cache/stats")).json()
        assert stats["backend"] == "memory" and set(stats) >= {"hits", "misses", "entries", "hit_rate"}
        cleared = await client.post("/api/v1/system/cache/clear", json={"kind": "market_data"})
        assert cleared.status_code == 200 and cleared.json() == {"kind": "market_data", "dropped": 0}


async def test_errors_are_problems_naming_the_field(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        bad = await client.post("/api/v1/system/cache/clear", json={"kind": 5, "extra": 1})
        assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in bad.json()["errors"]} >= {"body"}
        typed = await client.post("/api/v1/system/cache/clear", json={"kind": 5})
        assert typed.json()["errors"][0]["field"] == "body.kind"
        pattern = await client.post("/api/v1/system/cache/clear", json={"kind": "DROP *"})
        assert pattern.status_code == 400 and pattern.json()["errors"][0]["field"] == "body.kind"
        wrong_type = await client.post(
            "/api/v1/system/cache/clear", content=b"kind=x", headers={"content-type": "text/plain"}
        )
        assert wrong_type.status_code == 415
        broken = await client.post(
            "/api/v1/system/cache/clear", content=b"{", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "body"
        missing = await client.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["title"] == "Not Found" and missing.headers["x-request-id"]
        method = await client.delete("/api/v1/system/health")
        assert method.status_code == 405 and method.headers["allow"] == "GET"
        big = await client.post(
            "/api/v1/system/cache/clear",
            content=b"{" + b" " * 1_100_000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"


async def test_openapi_document_is_valid_and_docs_list_it(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        spec = (await client.get("/api/v1/openapi.json")).json()
        validate(spec)
        clear = spec["paths"]["/api/v1/system/cache/clear"]["post"]
        assert clear["x-required-role"] == "admin" and clear["security"] == [{"bearerAuth": []}, {"apiKeyAuth": []}]
        assert {"400", "401", "403", "413", "415"} <= set(clear["responses"])
        assert spec["paths"]["/api/v1/system/health"]["get"]["security"] == []
        page = await client.get("/docs")
        assert page.status_code == 200 and "/api/v1/system/cache/clear" in page.text and "<script" not in page.text


async def test_every_route_declares_a_role(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    missing = [route.path for route in app.router.routes if getattr(route.ctx, "role", None) is None]
    assert missing == []
