"""The dashboard in a real browser against the real server (`gpt-trader serve`): run a backtest from the
form generated from the strategy's parameter schema and see its statistics, charts and trades."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._serving import clean_env, dashboard_page, serving
from tests.browser.conftest import Watched


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gpt-trader serve` on a free loopback port (auth off: loopback only), in its own home directory."""
    home = tmp_path_factory.mktemp("home")
    with serving(home, clean_env(home, GPT_TRADER__API__AUTH__ENABLED="false")) as base:
        yield base


@pytest.fixture
def dashboard(browser: Any, server: str) -> Iterator[Watched]:
    with dashboard_page(browser, server, "backtest") as page:
        yield page


def test_a_backtest_from_the_form_shows_its_statistics_chart_and_trades(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    # The form has one input per declared parameter, with the schema's default and range.
    fast = page.locator("#param-fast")
    assert fast.input_value() == "10" and fast.get_attribute("min") is not None
    fast.fill("8")
    page.fill("#bt-symbol", "MSFT")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=chart] .uplot canvas", timeout=30_000)
    page.wait_for_timeout(200)

    heading = page.locator(".result h2").inner_text()
    assert heading.startswith("sma_cross on MSFT") and re.search(r"saved as bt_\w+", heading)
    assert "SYNTHETIC DATA" in page.locator(".result").inner_text()
    drawn = dashboard.drawn_canvases("[data-testid=chart] canvas")
    assert len(drawn) == 3 and all(n > 2000 for n in drawn), drawn
    trades = page.locator(".result table.trades tbody tr").count()
    assert trades > 0 and f"Trades ({trades})" in page.locator(".result h3").inner_text()
    # Return % is the trade's own return (percent), consistent with its prices and P&L.
    cells = [
        c.replace(",", "") for c in page.locator(".result table.trades tbody tr").first.locator("td").all_inner_texts()
    ]
    size, entry, exit_, pnl, ret = float(cells[2]), float(cells[5]), float(cells[6]), float(cells[7]), float(cells[8])
    assert abs(ret - 100 * pnl / (size * entry)) < 0.01 and abs(abs(ret) - abs(100 * (exit_ / entry - 1))) < 0.5
    dashboard.screenshot("dashboard-backtest-1280")
    page.set_viewport_size({"width": 768, "height": 900})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768  # nothing sticks out sideways
    dashboard.screenshot("dashboard-backtest-768")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_bad_parameter_is_explained_on_the_form(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    page.fill("#param-fast", "50")
    page.fill("#param-slow", "20")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "slow" in alert.inner_text() and "fast" in alert.inner_text()
    dashboard.screenshot("dashboard-backtest-error")
    # The refused request is the only error the console saw.
    assert all("status of 4" in e for e in dashboard.errors), dashboard.errors


def test_the_page_is_keyboard_reachable(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    page.locator("body").focus()
    reached = set()
    for _ in range(30):  # six views in the header come first
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert {"bt-strategy", "bt-symbol", "param-fast", "param-slow", "Run backtest"} <= reached, reached


def test_saved_backtests_are_listed_and_reopen_with_their_trades(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    page.fill("#bt-symbol", "NVDA")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=chart] .uplot canvas", timeout=30_000)
    saved_id = re.search(r"saved as (bt_\w+)", page.locator(".result h2").inner_text()).group(1)
    trades = page.locator(".result table.trades tbody tr").count()
    row = page.locator("table.saved tbody tr", has_text="NVDA").first
    row.wait_for()
    page.click(f"button[aria-label='Open {saved_id}']")
    page.wait_for_selector(".result .note")
    assert saved_id in page.locator(".result h2").inner_text()
    assert page.locator(".result table.trades tbody tr").count() == trades
    assert page.locator("[data-testid=chart]").count() == 0  # the store keeps no equity curve
    dashboard.screenshot("dashboard-saved-reopened")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_large_backtest_runs_in_the_background_and_opens_when_done(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    page.select_option("#bt-timeframe", "15m")  # a year of 15-minute bars: over 20,000, a background job
    page.fill("#bt-start", "2023-01-01")
    page.fill("#bt-end", "2023-12-31")
    page.click("button[type=submit]")
    page.wait_for_selector(".result .note", timeout=60_000)
    heading = page.locator(".result h2").inner_text()
    assert heading.startswith("sma_cross on AAPL 15m") and "saved as bt_" in heading
    assert page.locator(".result table.trades tbody tr").count() > 0
    dashboard.screenshot("dashboard-background-backtest")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_the_live_connection_is_shown_and_delivers_custom_events(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("[data-testid=connection]:has-text('Live')", timeout=15_000)
    # A channel followed through GT.live receives what another client publishes on it (auth off: local admin).
    page.evaluate(
        """() => { window.__got = []; GT.live.follow("custom:dashboard-test", m => window.__got.push(m)); }"""
    )
    page.wait_for_function("() => GT.live.socket() && GT.live.state() === 'live'")
    page.evaluate(
        """() => new Promise((done, fail) => {
          const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws/v1');
          ws.onmessage = ev => { const m = JSON.parse(ev.data);
            if (m.type === 'hello') ws.send(JSON.stringify({action: 'publish', channel: 'custom:dashboard-test',
              type: 'note', data: {n: 1}}));
            if (m.type === 'published') { ws.close(); done(); }
            if (m.type === 'error') fail(m.message); };
        })"""
    )
    page.wait_for_function("() => window.__got.length === 1")
    got = page.evaluate("window.__got[0]")
    assert got["channel"] == "custom:dashboard-test" and got["data"] == {"n": 1} and got["seq"] >= 1
    assert not dashboard.errors, dashboard.errors
