"""A real browser: Debian's Chromium driven by Playwright (``playwright install`` cannot download one here).

Pages get no network: every request other than ``file:`` and the test server on 127.0.0.1 is aborted and
recorded, and every console error or uncaught exception is recorded, so a test can assert there were none.
Screenshots go to ``tests/browser/artifacts/`` (or ``$BROWSER_ARTIFACTS``), kept by CI as artefacts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", Path(__file__).parent / "artifacts"))


@attrs.define
class Watched:
    """A page plus what it did that a test must see: console errors, uncaught exceptions, refused requests."""

    page: Any
    errors: list[str] = attrs.field(factory=list)
    blocked: list[str] = attrs.field(factory=list)

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def drawn_canvases(self, selector: str = "canvas") -> list[int]:
        """For each canvas matching ``selector``: how many of its pixels are not transparent."""
        return list(
            self.page.eval_on_selector_all(
                selector,
                """els => els.map(c => {
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
                    return n; })""",
            )
        )


# Module scope, not session: while Playwright's sync API runs, its event loop counts as running in this
# thread, which would break every asyncio test collected after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def watch(page: Any, allowed_origin: str | None = None) -> Watched:
    watched = Watched(page)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:", "blob:")) or (allowed_origin and url.startswith(allowed_origin)):
            r.continue_()
        else:
            watched.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: watched.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"uncaught: {e}"))
    return watched


@pytest.fixture
def page(browser: Any) -> Iterator[Watched]:
    """A fresh page (1280×900) with no network at all."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield watch(context.new_page())
    finally:
        context.close()
