"""The Market, Optimise and Workflows views in a real browser against the real server (`gpt-trader serve`, auth
off: the local admin): candles with regimes and indicators, a study followed live to its heatmap, a long study
cancelled, a workflow executed and followed step by step to its report, a long workflow cancelled. Each view is
photographed at 1280 and 768 px in light and dark (tests/browser/artifacts/dashboard-view-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._live import rest
from tests.browser._serving import clean_env, dashboard_page, serving
from tests.browser.conftest import Watched

GREEN, RED = (22, 163, 74), (220, 38, 38)
DARK_BACKGROUND = "rgb(11, 18, 32)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("home")
    with serving(home, clean_env(home, GPT_TRADER__API__AUTH__ENABLED="false")) as base:
        yield base


@pytest.fixture
def dashboard(browser: Any, server: str) -> Iterator[Watched]:
    with dashboard_page(browser, server) as page:
        yield page


def open_view(dashboard: Watched, address: str, ready: str) -> None:
    page = dashboard.page
    page.goto(page.url.split("#")[0] + "#" + address)
    page.reload()  # a fresh page: charts pick their colours when drawn
    page.wait_for_selector(ready, timeout=30_000)


def photograph(dashboard: Watched, address: str, ready: str, name: str) -> None:
    """The view at ``address`` in light and dark, 1280 and 768 px wide: nothing sticks out sideways; saved."""
    page = dashboard.page
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size({"width": 1280, "height": 900})
        open_view(dashboard, address, ready)
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (background == DARK_BACKGROUND) == (scheme == "dark"), background
        for width in (1280, 768):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(400)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width, scheme)
            dashboard.screenshot(f"dashboard-view-{name}-{width}-{scheme}")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})


def colour_counts(page: Any, selector: str) -> list[int]:
    """Pixels of exactly GREEN and RED (candle bodies and wicks; the regime shading is translucent)."""
    return list(
        page.eval_on_selector(
            selector,
            f"""c => {{ const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let g = 0, r = 0;
                for (let i = 0; i < d.length; i += 4) {{
                  if (d[i] === {GREEN[0]} && d[i+1] === {GREEN[1]} && d[i+2] === {GREEN[2]} && d[i+3] === 255) g++;
                  if (d[i] === {RED[0]} && d[i+1] === {RED[1]} && d[i+2] === {RED[2]} && d[i+3] === 255) r++; }}
                return [g, r]; }}""",
        )
    )


def tab_reaches(page: Any, wanted: set[str], presses: int = 40) -> set[str]:
    page.locator("body").focus()
    reached = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate("(e => e.id || e.getAttribute('aria-label') || e.textContent.trim())(document.activeElement)")
        )
    return wanted - reached


# ---- Market ----------------------------------------------------------------------------------------------


def test_the_market_view_draws_candles_regimes_and_indicators_labelled_synthetic(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "market/MSFT", "[data-testid=market-chart] .uplot canvas")
    page.wait_for_timeout(300)
    result = page.locator(".result")
    assert "MSFT 1d" in result.locator("h2").inner_text()
    assert "SYNTHETIC DATA" in result.inner_text()

    canvases = dashboard.drawn_canvases("[data-testid=market-chart] canvas")
    assert len(canvases) == 2 and all(n > 5000 for n in canvases), canvases  # prices, RSI pane
    green, red = colour_counts(page, "[data-testid=market-chart] canvas")
    assert green > 300 and red > 300, (green, red)  # rising and falling candles
    legend = page.locator(".regime-legend li").all_inner_texts()
    assert legend and all(any(d in text for d in ("bull", "bear", "sideways", "crisis")) for text in legend), legend
    labels = page.locator("[data-testid=market-chart] .u-legend").first.inner_text()
    assert "SMA 20" in labels and "Bollinger 20/2 upper" in labels and "Close" in labels
    figures = page.locator(".result .stats").inner_text()
    assert "Regime (rules)" in figures and "RSI (14)" in figures

    # Indicators can be switched off; the RSI pane goes with its box.
    page.uncheck("#mk-rsi")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=market-chart] canvas').length === 1")
    # Another symbol from the form changes the address (#market/NVDA) and the chart.
    page.check("#mk-rsi")
    page.fill("#mk-symbol", "nvda")
    page.select_option("#mk-method", "hmm")
    page.click("form button[type=submit]")
    page.wait_for_function("() => location.hash === '#market/NVDA'")
    page.wait_for_selector(".result h2:has-text('NVDA 1d')", timeout=60_000)
    page.wait_for_selector(".result .stats:has-text('Regime (hmm)')", timeout=60_000)
    assert dashboard.errors == [] and dashboard.blocked == []


def test_the_market_view_is_keyboard_reachable_and_photographed(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "market/AAPL", "[data-testid=market-chart] .uplot canvas")
    missing = tab_reaches(
        page, {"mk-symbol", "mk-timeframe", "mk-start", "mk-end", "mk-method", "mk-sma", "mk-rsi", "Show"}
    )
    assert not missing, missing
    photograph(dashboard, "market/AAPL", "[data-testid=market-chart] .uplot canvas", "market")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_reversed_range_is_explained(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "market/AAPL", "#mk-symbol")
    page.fill("#mk-start", "2024-06-01")
    page.fill("#mk-end", "2024-01-01")
    page.click("form button[type=submit]")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "start" in alert.inner_text() or "end" in alert.inner_text(), alert.inner_text()
    assert all("status of 4" in e for e in dashboard.errors), dashboard.errors


# ---- Optimise --------------------------------------------------------------------------------------------


def test_a_small_study_shows_its_heatmap_and_ranking_then_reopens(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "optimise", "#op-strategy")
    page.select_option("#op-strategy", "sma_cross")
    # The grid comes from the parameter schema: half to twice each default.
    assert page.input_value("#op-fast-from") == "5" and page.input_value("#op-fast-to") == "20"
    page.fill("#op-fast-step", "5")  # 5, 10, 15, 20
    page.fill("#op-slow-from", "20")
    page.fill("#op-slow-to", "60")
    page.fill("#op-slow-step", "10")  # 20 … 60
    assert page.locator("[data-testid=combinations]").inner_text() == "20 combinations"
    page.click("form button[type=submit]")
    page.wait_for_function("() => location.hash.startsWith('#optimise/opt_')")
    study_id = page.evaluate("location.hash").split("/")[1]
    page.wait_for_selector("[data-testid=heatmap] canvas", timeout=60_000)

    assert page.locator("[data-testid=study-status]").inner_text() == "succeeded"
    assert dashboard.drawn_canvases("[data-testid=heatmap] canvas")[0] > 20_000
    assert "Sharpe ratio by fast × slow" in page.locator("[data-testid=heatmap]").inner_text()
    headers = page.locator("table.ranking thead th").all_inner_texts()
    assert headers[:3] == ["#", "Fast", "Slow"] and "Sharpe ratio" in headers and "Max. drawdown [%]" in headers
    assert page.locator("table.ranking tbody tr").count() == 19  # fast < slow drops (20, 20)
    assert "SYNTHETIC DATA" in page.locator("[data-testid=study]").inner_text()

    # Listed with the past studies; reopening it by its address shows the same result.
    page.wait_for_selector(f"table.studies a[aria-label='Open {study_id}']")
    page.goto("about:blank")
    page.go_back()
    page.wait_for_selector("[data-testid=heatmap] canvas", timeout=30_000)
    page.select_option("#op-strategy", "sma_cross")
    missing = tab_reaches(page, {"op-strategy", "op-symbol", "op-fast-search", "op-fast-from", "Start study"})
    assert not missing, missing
    photograph(dashboard, f"optimise/{study_id}", "[data-testid=heatmap] canvas", "optimise")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_long_study_shows_live_progress_and_can_be_cancelled(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "optimise", "#op-strategy")
    page.select_option("#op-strategy", "sma_cross")
    page.select_option("#op-method", "bayes")
    page.fill("#op-trials", "10000")
    page.fill("#op-fast-from", "2")
    page.fill("#op-fast-to", "100")
    page.fill("#op-fast-step", "1")
    page.fill("#op-slow-from", "20")
    page.fill("#op-slow-to", "300")
    page.fill("#op-slow-step", "1")
    page.click("form button[type=submit]")
    page.wait_for_selector("[data-testid=progress]", timeout=30_000)
    # Progress arrives over the WebSocket (the view looks at the stored study only every 15 s).
    page.wait_for_selector("[data-testid=progress] .figures:has-text('/ 10000 trials')", timeout=30_000)
    first = page.eval_on_selector("[data-testid=progress] progress", "p => p.value")
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=progress] progress').value > {first}", timeout=30_000
    )
    assert "ETA" in page.locator("[data-testid=progress]").inner_text()
    dashboard.screenshot("dashboard-view-optimise-running")
    page.click("[data-testid=progress] button:has-text('Cancel')")
    page.wait_for_selector("[data-testid=study-status]:has-text('cancelled')", timeout=30_000)
    assert page.locator("[data-testid=progress]").count() == 0
    assert "--resume" in page.locator("[data-testid=study]").inner_text()
    assert dashboard.errors == [] and dashboard.blocked == []


# ---- Workflows -------------------------------------------------------------------------------------------

# Records every state each step of the execution panel showed (the steps re-render as events arrive).
RECORD_STEPS = """() => { window.__steps = {};
  new MutationObserver(() => document.querySelectorAll('li.step').forEach(li => {
    (window.__steps[li.dataset.step] = window.__steps[li.dataset.step] || new Set()).add(li.className); }))
  .observe(document.body, {subtree: true, childList: true, attributes: true}); }"""


def test_a_workflow_runs_step_by_step_to_its_report(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "workflows", "button[aria-label='Execute simple_backtest']")
    page.click("button[aria-label='Execute simple_backtest']")
    # The form has one field per declared input, with its default.
    assert page.input_value("#wf-symbol") == "AAPL" and page.input_value("#wf-strategy") == "auto"
    page.fill("#wf-symbol", "MSFT")
    page.fill("#wf-strategy", "sma_cross")
    page.fill("#wf-strategy_params", "fast=10,slow=30")
    # Ten years of hourly bars: the analysis alone takes ~0.5 s, so the page sees the steps change even
    # on a quiet machine (on daily bars the whole run can end before the panel subscribes).
    page.fill("#wf-start", "2015-01-01")
    page.fill("#wf-end", "2024-12-31")
    page.select_option("#wf-timeframe", "1h")
    page.evaluate(RECORD_STEPS)
    page.click("form button[type=submit]")
    page.wait_for_function("() => location.hash.startsWith('#workflows/wf_')")
    page.wait_for_selector("[data-testid=report]", timeout=60_000)

    assert page.locator("[data-testid=execution-status]").inner_text() == "succeeded"
    states = dict(
        zip(
            page.locator("li.step").evaluate_all("ls => ls.map(l => l.dataset.step)"),
            page.locator("li.step .badge").all_inner_texts(),
            strict=True,
        )
    )
    # An explicit strategy: the selection has nothing to do.
    assert states == {"data": "succeeded", "analyze": "succeeded", "select": "skipped", "backtest": "succeeded"}, states
    seen = page.evaluate("Object.fromEntries(Object.entries(window.__steps).map(([k, v]) => [k, [...v]]))")
    assert set(seen) == {"data", "analyze", "select", "backtest"}, seen
    # Live: the steps were seen changing state, not only in their final one.
    assert sum(len(states) > 1 for states in seen.values()) >= 2, seen
    report = page.locator("[data-testid=report]").inner_text()
    assert "Backtest" in report and "sma_cross" in report and "Return [%]" in report and "Sharpe ratio" in report
    execution_id = page.evaluate("location.hash").split("/")[1]
    page.wait_for_selector(f"table.executions a[aria-label='Open {execution_id}']")
    photograph(dashboard, f"workflows/{execution_id}", "[data-testid=report]", "workflows")
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_long_workflow_is_cancelled_from_the_page(dashboard: Watched) -> None:
    page = dashboard.page
    open_view(dashboard, "workflows", "button[aria-label='Execute real_time_monitoring']")
    page.click("button[aria-label='Execute real_time_monitoring']")
    page.fill("#wf-interval", "0.5")
    page.fill("#wf-duration", "600")
    page.click("form button[type=submit]")
    page.wait_for_selector("[data-testid=execution-status]:has-text('running')", timeout=30_000)
    page.wait_for_selector("li.step-succeeded", timeout=30_000)  # a round finished while it runs
    dashboard.screenshot("dashboard-view-workflows-running")
    page.click("[data-testid=execution] button:has-text('Cancel')")
    page.wait_for_selector("[data-testid=execution-status]:has-text('cancelled')", timeout=30_000)
    assert page.locator("[data-testid=execution] button:has-text('Cancel')").count() == 0
    missing = tab_reaches(page, {"Execute simple_backtest", "Execute real_time_monitoring"})
    assert not missing, missing
    assert dashboard.errors == [] and dashboard.blocked == []


def test_execution_lists_follow_a_running_workflow_live(dashboard: Watched, server: str) -> None:
    page = dashboard.page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/" in r.url else None)
    for address, table in (("overview", "[data-testid=recent-executions]"), ("workflows", "table.executions")):
        params = {"params": {"interval": 0.5, "duration": 600}}
        execution_id = rest(server, "POST", "/api/v1/workflows/execute/real_time_monitoring", params)["id"]
        row = f"{table} tr[data-execution={execution_id}]"
        open_view(dashboard, address, f"{row} >> text=running")
        # Cancelled elsewhere (REST): the row turns within seconds — the lists' REST refresh is every 15 s —
        # and the list is not fetched again: the execution's channel said so.
        requests.clear()
        rest(server, "DELETE", f"/api/v1/workflows/cancel/{execution_id}")
        page.wait_for_selector(f"{row} >> text=cancelled", timeout=10_000)
        assert not [u for u in requests if "/workflows/executions" in u], (address, requests)
    assert dashboard.errors == [] and dashboard.blocked == []
