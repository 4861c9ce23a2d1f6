"""The Session view in a real browser with what happened before it opened and while it was cut off: the orders
placed before the page opened come from ``GET /sessions/{id}/orders`` and merge with the live ones, and after a
drop longer than the server's replay buffer the server's snapshot makes the page fetch what it missed over
REST (``resync``) — the equity chart keeps every bar once, in order, and the orders end as the server has them;
the Overview's sparklines ask for their recent equity again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._live import Server, rest, start_session
from tests.browser._serving import clean_env
from tests.browser.conftest import Watched, watch

BARS = "document.querySelector('[data-testid=equity-chart]').gtSeries.bars"
ROWS = "[data-testid=orders] tbody tr"

#: Lets a test cut the page off: while ``window.__cut`` is true every new WebSocket asks for a path the server
#: does not serve (same origin, so the page's policy allows it), so the page's reconnects fail as they would
#: with the network down.
CUTTABLE = """(() => {
  const Real = window.WebSocket;
  window.__cut = false;
  window.WebSocket = function (url, protocols) {
    return new Real(window.__cut ? url + '-cut-off' : url, protocols);
  };
  window.WebSocket.prototype = Real.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("home")
    # A replay buffer of 5 messages per channel: a few seconds cut off is more than the server can replay.
    env = clean_env(home, GPT_TRADER__API__AUTH__ENABLED="false", GPT_TRADER__WEBSOCKET__REPLAY_BUFFER="5")
    running = Server(home, env)
    running.start()
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture
def dashboard(browser: Any, server: str) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.add_init_script(CUTTABLE)
        yield watch(page, allowed_origin=server)
    finally:
        context.close()


def shown_orders(page: Any) -> list[str]:
    return list(page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.order)"))


def test_orders_from_before_the_page_and_a_resync_after_a_long_drop(dashboard: Watched, server: str) -> None:
    session_id = start_session(server, rate=5.0, fast=2, slow=5)
    deadline = time.monotonic() + 60
    while rest(server, "GET", f"/api/v1/sessions/{session_id}")["orders"] < 6:
        assert time.monotonic() < deadline, "the session placed no orders"
        time.sleep(0.5)
    before = [o["client_order_id"] for o in rest(server, "GET", f"/api/v1/sessions/{session_id}/orders")["items"]]

    page = dashboard.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    page.goto(f"{server}/dashboard/#session/{session_id}")
    page.wait_for_function("() => GT.live.state() === 'live'")
    page.wait_for_function(f"n => document.querySelectorAll('{ROWS}').length >= n", arg=len(before))
    shown = shown_orders(page)
    assert shown[-len(before) :] == before, (shown, before)  # placed before the page opened, newest first
    page.wait_for_function(f"{BARS}.length > 5", timeout=30_000)

    # Cut off for 4 s (~20 bars, each an equity message, against a replay buffer of 5): on reconnecting the
    # server answers with a snapshot, the page hears "resync" and fetches the equity and orders it missed.
    page.evaluate(
        """() => { window.__resyncs = {};
            ['portfolio:updates', 'trades:live'].forEach(c => GT.live.follow(c, m => {
                if (m.type === 'resync') window.__resyncs[c] = (window.__resyncs[c] || 0) + 1; })); }"""
    )
    cut_at = page.evaluate(f"{BARS}[{BARS}.length - 1]")
    requests.clear()
    page.evaluate("() => { window.__cut = true; GT.live.socket().close(); }")
    page.wait_for_selector("[data-testid=connection]:has-text('Reconnecting')", timeout=10_000)
    page.wait_for_timeout(4000)
    page.evaluate("() => { window.__cut = false; }")
    page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=30_000)
    page.wait_for_function(f"{BARS}[{BARS}.length - 1] > {cut_at} + 25", timeout=30_000)
    resyncs = page.evaluate("window.__resyncs")
    assert resyncs.get("portfolio:updates"), resyncs
    assert any(f"/sessions/{session_id}/equity?after_bar=" in u for u in requests), requests
    if resyncs.get("trades:live"):  # more orders and fills than the buffer holds (else they were replayed)
        assert any(f"/sessions/{session_id}/orders" in u for u in requests), requests
    bars = list(page.evaluate(BARS))
    assert bars == list(range(bars[0], bars[-1] + 1)), bars  # nothing missed, nothing twice
    assert bars[0] == 0

    # Stopped: the table holds what the server holds, in the same order (newest first, at most 100).
    rest(server, "POST", f"/api/v1/sessions/{session_id}/stop")
    page.wait_for_selector("[data-testid=session-status]:has-text('stopped')", timeout=30_000)
    stored = rest(server, "GET", f"/api/v1/sessions/{session_id}/orders?limit=100")["items"]
    page.wait_for_function(f"n => document.querySelectorAll('{ROWS}').length >= n", arg=len(stored))
    assert shown_orders(page) == [o["client_order_id"] for o in stored]
    statuses = page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.querySelector('.badge').textContent)")
    assert statuses == [o["status"] for o in stored]
    assert page.locator("#app > .loading").count() == 0  # the page's placeholder went when the app drew
    dashboard.screenshot("dashboard-session-after-resync")
    errors = [e for e in dashboard.errors if "WebSocket connection to" not in e]  # the browser's, while cut off
    assert errors == [] and dashboard.blocked == []


def test_older_orders_are_shown_on_request(dashboard: Watched, server: str) -> None:
    session_id = start_session(server, rate=0.0, fast=2, slow=5)  # speed 0: as fast as the engine goes
    deadline = time.monotonic() + 60
    while rest(server, "GET", f"/api/v1/sessions/{session_id}")["orders"] < 120:
        assert time.monotonic() < deadline, "the session placed too few orders"
        time.sleep(0.2)
    rest(server, "POST", f"/api/v1/sessions/{session_id}/stop")
    total = rest(server, "GET", f"/api/v1/sessions/{session_id}")["orders"]
    stored = [
        o["client_order_id"] for o in rest(server, "GET", f"/api/v1/sessions/{session_id}/orders?limit=500")["items"]
    ]
    assert len(stored) == total

    page = dashboard.page
    page.goto(f"{server}/dashboard/#session/{session_id}")
    page.wait_for_function(f"() => document.querySelectorAll('{ROWS}').length === 100")
    assert page.locator("[data-testid=orders-count]").inner_text() == f"(100 newest of {total})"
    assert shown_orders(page) == stored[:100]
    page.click("[data-testid=older-orders]")
    page.wait_for_function(f"n => document.querySelectorAll('{ROWS}').length === n", arg=min(total, 200))
    assert shown_orders(page) == stored[:200]
    assert (page.locator("[data-testid=older-orders]").count() == 1) == (total > 200)
    assert dashboard.errors == [] and dashboard.blocked == []


def test_the_overview_refetches_sparklines_after_a_long_drop(dashboard: Watched, server: str) -> None:
    session_id = start_session(server, rate=5.0, fast=2, slow=5)
    try:
        page = dashboard.page
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
        page.goto(f"{server}/dashboard/")
        page.wait_for_selector(f"tr[data-session={session_id}]")
        page.wait_for_function("() => GT.live.state() === 'live'")
        page.wait_for_timeout(1000)  # equity messages seen: the page has a place to resume from
        requests.clear()
        page.evaluate("() => { window.__cut = true; GT.live.socket().close(); }")
        page.wait_for_selector("[data-testid=connection]:has-text('Reconnecting')", timeout=10_000)
        page.wait_for_timeout(4000)  # ~20 equity messages against a replay buffer of 5
        page.evaluate("() => { window.__cut = false; }")
        page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=30_000)
        deadline = time.monotonic() + 10
        while not any("/api/v1/sessions/equity?ids=" in u and session_id in u for u in requests):
            assert time.monotonic() < deadline, requests
            page.wait_for_timeout(100)
        errors = [e for e in dashboard.errors if "WebSocket connection to" not in e]
        assert errors == [] and dashboard.blocked == []
    finally:
        rest(server, "POST", f"/api/v1/sessions/{session_id}/stop")
