"""The dashboard's files as the HTTP app serves them: hashed assets cached for a year, the page
revalidated, gzip, a strict Content-Security-Policy, and a first load far under 300 KB compressed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sanic import Sanic

from entrypoints.dashboard.server import IMMUTABLE, STYLES, install_dashboard, load_assets, scripts


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    Sanic._app_registry.clear()
    Sanic.test_mode = True
    app = Sanic("dashboard_test", configure_logging=False)
    install_dashboard(app)
    app.asgi = True
    app.router.reset()
    app.signal_router.reset()
    await app._startup()
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield http


async def test_the_page_names_hashed_assets_and_a_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert '<meta name="gt-auth" content="off">' in page.text  # no auth installed: no login
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert "frame-ancestors 'none'" in policy
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    # One stylesheet, one script (every file of the dashboard joined in order) and boot.js before it.
    assert [u.split("/")[-1].split(".")[0] for u in urls] == ["dashboard-bundle", "boot", "dashboard-bundle"]
    assert all(re.fullmatch(r"/dashboard/assets/[\w.-]+\.[0-9a-f]{10}\.(js|css)", u) for u in urls)

    again = await client.get("/dashboard/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304


async def test_assets_are_immutable_and_compressed(client: httpx.AsyncClient) -> None:
    page = await client.get("/dashboard/")
    total = 0
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = await client.get(url, headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["content-encoding"] == "gzip"
        total += asset.num_bytes_downloaded  # as sent: compressed
    total += len(page.content)
    print(f"dashboard first load: {total / 1024:.1f} KiB compressed")
    assert total < 300 * 1024

    script = re.findall(r'src="([^"]+dashboard-bundle\.[0-9a-f]+\.js)"', page.text)[0]
    plain = await client.get(script, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and "htmPreact" in plain.text


def test_the_bundles_hold_every_file_in_load_order() -> None:
    bundles = {a.name: a.body.decode() for a in load_assets().values()}
    for name, parts in (("dashboard-bundle.css", STYLES), ("dashboard-bundle.js", scripts())):
        marks = [bundles[name].index(f"/* ---- {part} ---- */") for part in parts]
        assert marks == sorted(marks), name
    script = bundles["dashboard-bundle.js"]
    library, shared, view = script.index("htmPreact={}"), script.index("window.GT = {"), script.index('id: "overview"')
    assert library < shared < view < script.index("render(html`<${App} />`, root)")


async def test_unknown_files_are_404_and_the_bare_path_redirects(client: httpx.AsyncClient) -> None:
    assert (await client.get("/dashboard/assets/app.0000000000.js")).status_code == 404
    assert (await client.get("/dashboard/assets/..%2Fserver.py")).status_code == 404
    bare = await client.get("/dashboard", follow_redirects=False)
    assert bare.status_code in (301, 302, 307, 308) and bare.headers["location"] == "/dashboard/"
