"""The live dashboard in a real browser against a real `gpt-trader serve` with auth on: log in, start a paper
session from the form, watch its equity and fills arrive over the WebSocket (no polling), survive a restart
of the server (Reconnecting… then Live, no bar missing or twice), stop it, log out. Screenshots of the
Overview and Session views at 1280 and 768 px, light and dark, go to the artefacts folder."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._live import Server, add_user, login
from tests.browser._serving import clean_env
from tests.browser.conftest import Watched, watch

TRADER, VIEWER, PASSWORD = "tia", "vic", "correct horse battery"
BARS = "document.querySelector('[data-testid=equity-chart]').gtSeries.bars"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    env = clean_env(
        home,
        GPT_TRADER__API__AUTH__ENABLED="true",
        GPT_TRADER__API__AUTH__JWT_SECRET="dashboard-live-browser-test-" + "k" * 48,
    )
    add_user(env, home, TRADER, "trader", PASSWORD)
    add_user(env, home, VIEWER, "viewer", PASSWORD)
    running = Server(home, env)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def dashboard(browser: Any, server: Server) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        watched = watch(context.new_page(), allowed_origin=server.url)
        watched.page.goto(f"{server.url}/dashboard/")
        yield watched
    finally:
        context.close()


def shots(dashboard: Watched, name: str) -> None:
    """``name`` at 1280 and 768 px, light and dark; back to 1280 light afterwards."""
    page = dashboard.page
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (1280, 768):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(250)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            dashboard.screenshot(f"{name}-{width}-{scheme}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})


def bars(page: Any) -> list[int]:
    return list(page.evaluate(BARS))


def wait_bars(page: Any, more_than: int, timeout: float = 30) -> list[int]:
    page.wait_for_function(f"() => {BARS}.length > {more_than}", timeout=timeout * 1000)
    return bars(page)


def test_start_watch_survive_a_restart_stop_and_log_out(dashboard: Watched, server: Server) -> None:
    page = dashboard.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    login(page, TRADER, PASSWORD)
    page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=15_000)
    page.wait_for_selector("[data-testid=health-status]")
    assert page.locator("h1").first.inner_text().startswith("Overview")  # the default view

    # Start a paper session from the form (strategy, its parameters from the schema, symbol, feed speed).
    page.click("nav >> text=Sessions")
    page.wait_for_selector("#ss-strategy option[value=sma_cross]", state="attached")
    page.select_option("#ss-strategy", "sma_cross")
    dashboard.screenshot("dashboard-sessions-start-form-1280")
    page.fill("#ss-param-fast", "2")
    page.fill("#ss-param-slow", "5")
    page.fill("#ss-symbol", "MSFT")
    page.fill("#ss-rate", "4")
    page.click("[data-testid=start-session] button[type=submit]")
    page.wait_for_url(re.compile(r"#session/ses_\w+"))
    session_id = page.url.rsplit("/", 1)[1]
    assert page.locator(".session-head h1").inner_text().startswith("sma_cross on MSFT")

    # Equity and fills arrive live; nothing is fetched again meanwhile (REST refreshes ≥ 5 s apart).
    first = wait_bars(page, 5)
    page.wait_for_selector("[data-testid=fills] tbody tr", timeout=30_000)
    equity_before = page.locator("[data-testid=session-equity]").inner_text()
    requests.clear()
    grown = wait_bars(page, len(first) + 15)
    fetched = [u for u in requests if f"/sessions/{session_id}" in u]
    assert not [u for u in fetched if "/equity" in u], fetched  # the chart grew from the WebSocket alone
    assert len(fetched) <= 3, fetched  # the detail (performance) at most every 5 s, after fills
    assert grown == list(range(grown[0], grown[-1] + 1)), grown  # every bar once, in order
    page.wait_for_function(
        "e => document.querySelector('[data-testid=session-equity]').textContent !== e", arg=equity_before
    )
    assert page.locator("[data-testid=realized]").inner_text() != "—"
    assert page.locator("[data-testid=stop]").is_visible()
    assert all(n > 1000 for n in dashboard.drawn_canvases("[data-testid=equity-chart] canvas")[:1])
    shots(dashboard, "dashboard-session")

    # The server goes away and comes back (same port and home): Reconnecting…, then Live, and the session's
    # bars continue where they were — no gap, nothing twice, without asking REST for the equity.
    requests.clear()
    before = bars(page)
    server.stop()
    page.wait_for_selector("[data-testid=connection]:has-text('Reconnecting')", timeout=15_000)
    server.start()
    page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=30_000)
    after = wait_bars(page, len(before) + 10)
    assert after[: len(before)] == before
    assert after == list(range(after[0], after[-1] + 1)), after
    assert not [u for u in requests if "/equity" in u], requests  # resumed by sequence number over the WebSocket

    # The Overview lists it among the running sessions, with a sparkline that moves.
    page.click("nav >> text=Overview")
    row = page.locator(f"tr[data-session={session_id}]")
    row.wait_for()
    deadline = time.monotonic() + 15  # its history arrives over REST, its new points over the WebSocket
    while (drawn := dashboard.drawn_canvases(f"tr[data-session={session_id}] canvas"))[0] <= 100:
        assert time.monotonic() < deadline, drawn
        page.wait_for_timeout(100)
    text = row.locator("[data-testid=equity]").inner_text()
    page.wait_for_function(
        "([id, t]) => document.querySelector(`tr[data-session=${id}] [data-testid=equity]`).textContent !== t",
        arg=[session_id, text],
        timeout=15_000,
    )
    shots(dashboard, "dashboard-overview")

    # Stop it from its page: the status turns stopped and the button goes away.
    page.click(f"tr[data-session={session_id}] a")
    page.wait_for_selector("[data-testid=stop]")
    page.click("[data-testid=stop]")
    page.wait_for_selector("[data-testid=session-status]:has-text('stopped')", timeout=30_000)
    assert page.locator("[data-testid=stop]").count() == 0
    page.click("nav >> text=Overview")
    page.wait_for_selector("[data-testid=running-sessions] >> text=No session is running")

    page.click("text=Log out")
    page.wait_for_selector("form[aria-labelledby=login-title]")
    assert page.evaluate("GT.live.state()") == "offline"
    # The dropped connection while the server was down is the browser's own message, not ours.
    errors = [e for e in dashboard.errors if "WebSocket connection to" not in e]
    assert errors == [] and dashboard.blocked == []


def test_a_viewer_watches_but_cannot_start_or_stop(dashboard: Watched, server: Server) -> None:
    page = dashboard.page
    login(page, TRADER, PASSWORD)
    page.click("nav >> text=Sessions")
    page.wait_for_selector("[data-testid=start-session]")
    page.click("text=Log out")
    login(page, VIEWER, PASSWORD)
    page.click("nav >> text=Sessions")
    page.wait_for_selector("#sl-title")
    page.wait_for_selector("table.sessions tbody tr a")  # the first test's session
    assert page.locator("[data-testid=start-session]").count() == 0
    page.click("table.sessions tbody tr a")
    page.wait_for_selector("[data-testid=session-status]")
    assert page.locator("[data-testid=stop]").count() == 0
    assert dashboard.errors == [] and dashboard.blocked == []


def test_the_live_views_are_keyboard_reachable(dashboard: Watched) -> None:
    page = dashboard.page
    login(page, TRADER, PASSWORD)
    page.wait_for_selector("[data-testid=health-status]")
    page.locator("body").focus()
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Sessions" in reached, reached
    while page.evaluate("document.activeElement.textContent.trim()") != "Sessions":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ss-strategy")
    ids = set()
    deadline = time.monotonic() + 20
    while "Start paper session" not in ids and time.monotonic() < deadline:
        page.keyboard.press("Tab")
        ids.add(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert {"ss-strategy", "ss-symbol", "ss-capital", "ss-rate", "Start paper session"} <= ids, ids
    assert dashboard.errors == []
