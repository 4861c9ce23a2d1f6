"""Logging in to the dashboard of a real server with auth on: the access token stays in memory, the
refresh token in an httpOnly cookie, so a reload keeps the login silently; logout ends it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._serving import COMMAND, clean_env, dashboard_page, serving
from tests.browser.conftest import Watched

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("home")
    env = clean_env(
        home,
        GPT_TRADER__API__AUTH__ENABLED="true",
        GPT_TRADER__API__AUTH__JWT_SECRET="dashboard-browser-test-" + "k" * 48,
    )
    added = subprocess.run(
        [*COMMAND, "users", "add", "ann", "--role", "trader", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    with serving(home, env) as base:
        yield base


@pytest.fixture
def dashboard(browser: Any, server: str) -> Iterator[Watched]:
    with dashboard_page(browser, server, "backtest") as page:
        yield page


def log_in(dashboard: Watched, password: str = PASSWORD) -> None:
    page = dashboard.page
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_log_in_reload_run_a_backtest_and_log_out(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("form[aria-labelledby=login-title]")
    dashboard.screenshot("dashboard-login-1280")
    page.set_viewport_size({"width": 768, "height": 900})
    dashboard.screenshot("dashboard-login-768")
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(dashboard)
    page.wait_for_selector("#bt-strategy")
    assert page.locator(".who").inner_text() == "ann (trader)"
    # Script never sees the refresh token: the cookie is httpOnly, the access token only in memory.
    assert "gt_refresh" not in page.evaluate("document.cookie")
    cookie = next(c for c in page.context.cookies() if c["name"] == "gt_refresh")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/v1/auth/cookie"
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.reload()  # the access token is gone with the page; the cookie logs in again silently
    page.wait_for_selector("#bt-strategy")
    page.select_option("#bt-strategy", "sma_cross")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=chart] .uplot canvas", timeout=30_000)
    assert all(n > 2000 for n in dashboard.drawn_canvases("[data-testid=chart] canvas"))
    dashboard.screenshot("dashboard-logged-in-backtest")

    page.click("text=Log out")
    page.wait_for_selector("form[aria-labelledby=login-title]")
    page.reload()
    page.wait_for_selector("form[aria-labelledby=login-title]")  # the login ended: no silent way back
    assert dashboard.errors == [] and dashboard.blocked == []


def test_a_wrong_password_says_so(dashboard: Watched) -> None:
    page = dashboard.page
    page.wait_for_selector("form[aria-labelledby=login-title]")
    log_in(dashboard, "not the password")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "invalid user name or password" in alert.inner_text()
    assert all("status of 401" in e for e in dashboard.errors), dashboard.errors
