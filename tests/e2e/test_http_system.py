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


async def test_cached_reads_keep_every_header_with_and_without_origin(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with api(app) as client:
        plain = [await client.get("/api/v1/strategies/list") for _ in range(2)]  # a miss, then a hit
        browser = await client.get("/api/v1/strategies/list", headers={"Origin": "http://localhost:3000"})
        stranger = await client.get("/api/v1/strategies/list", headers={"Origin": "https://evil.example"})
        for response in (*plain, browser, stranger):
            assert response.status_code == 200 and response.content == plain[0].content
            assert response.headers["etag"] == plain[0].headers["etag"]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["vary"] == "Origin" and response.headers["x-request-id"]
        assert browser.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "X-Request-Id" in browser.headers["access-control-expose-headers"]
        for response in (*plain, stranger):
            assert "access-control-allow-origin" not in response.headers
        # sanic-ext's CORS hook runs only for requests with an Origin (headers.py: _only_with_origin)
        assert any(m.func.__qualname__.endswith("[with Origin]") for m in app.response_middleware)
        again = await client.get("/api/v1/strategies/list", headers={"If-None-Match": plain[0].headers["etag"]})
        assert again.status_code == 304 and again.headers["etag"] == plain[0].headers["etag"]


async def test_a_bad_query_on_a_cached_read_is_refused_every_time(tmp_path: Path) -> None:
    async with api(make_app(tmp_path)) as client:
        for _ in range(2):
            bad = await client.get("/api/v1/market/regime", params={"symbol": "AAPL", "method": "astrology"})
            assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["field"] == "query.method"
        for _ in range(2):
            good = await client.get("/api/v1/market/regime", params={"symbol": "AAPL"})
            assert good.status_code == 200 and good.json()["symbol"] == "AAPL"
        stats = (await client.get("/api/v1/system/cache/stats")).json()
        assert stats["entries"].get("http") == 1
