"""The views with auth on: a viewer watches a running workflow and a running study but is offered no button
that needs the trader role (execute, start, cancel); a trader is."""

from __future__ import annotations

import json
import subprocess
import urllib.request
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
        GPT_TRADER__API__AUTH__JWT_SECRET="dashboard-views-test-" + "k" * 48,
    )
    for name, role in (("vic", "viewer"), ("tom", "trader")):
        added = subprocess.run(
            [*COMMAND, "users", "add", name, "--role", role, "--password-stdin"],
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


def request(server: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(server + path, data, headers, method=method)) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def running(server: str) -> Iterator[dict[str, str]]:
    """A long workflow and a long study, started by the trader over the API."""
    token = request(server, "POST", "/api/v1/auth/login", {"username": "tom", "password": PASSWORD})["access_token"]
    monitoring = {"params": {"interval": 0.5, "duration": 600}}
    workflow = request(server, "POST", "/api/v1/workflows/execute/real_time_monitoring", monitoring, token)
    space = {"fast": list(range(2, 100)), "slow": list(range(20, 300))}
    study = request(
        server,
        "POST",
        "/api/v1/strategies/optimize",
        {"symbol": "AAPL", "strategy": "sma_cross", "space": space, "method": "bayes", "n_trials": 10000},
        token,
    )
    try:
        yield {"workflow": workflow["id"], "study": study["id"]}
    finally:
        request(server, "DELETE", f"/api/v1/workflows/cancel/{workflow['id']}", token=token)
        request(server, "DELETE", f"/api/v1/strategies/optimize/{study['id']}", token=token)


def log_in(browser: Any, server: str, user: str, address: str) -> tuple[Any, Watched]:
    manager = dashboard_page(browser, server, address)
    dashboard = manager.__enter__()
    page = dashboard.page
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return manager, dashboard


@pytest.mark.parametrize("user", ["vic", "tom"])
def test_buttons_follow_the_role(browser: Any, server: str, running: dict[str, str], user: str) -> None:
    trader = user == "tom"
    manager, dashboard = log_in(browser, server, user, f"workflows/{running['workflow']}")
    try:
        page = dashboard.page
        page.wait_for_selector("[data-testid=execution-status]:has-text('running')", timeout=30_000)
        page.wait_for_selector("li.step-succeeded", timeout=30_000)  # the viewer follows it live too
        assert page.locator("[data-testid=execution] button:has-text('Cancel')").count() == int(trader)
        assert page.locator("button:has-text('Execute…')").count() == (6 if trader else 0)
        if not trader:
            assert "needs the trader role" in page.locator("main").inner_text()
            dashboard.screenshot("dashboard-view-workflows-viewer")

        page.goto(page.url.split("#")[0] + f"#optimise/{running['study']}")
        page.wait_for_selector("[data-testid=study-status]:has-text('running')", timeout=60_000)
        page.wait_for_selector("[data-testid=progress]", timeout=60_000)
        assert page.locator("[data-testid=progress] button:has-text('Cancel')").count() == int(trader)
        assert page.locator("button:has-text('Start study')").count() == int(trader)
        if not trader:
            dashboard.screenshot("dashboard-view-optimise-viewer")
        assert dashboard.errors == [] and dashboard.blocked == []
    finally:
        manager.__exit__(None, None, None)
