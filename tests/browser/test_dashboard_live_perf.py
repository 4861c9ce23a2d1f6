"""The live dashboard's performance goals (issue 16), measured in Chromium against a real server: the
Overview is usable < 1 s after a cold load on loopback, and 10 sessions updating once a second cause no
long task (> 50 ms of the page's own main-thread time) on the Overview or a Session view. Figures with their
spread: tests/benchmarks/bench_dashboard.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser._live import Server, Watched, long_tasks_while_watching, overview_ready_ms, rest, start_session
from tests.browser._serving import clean_env

SESSIONS = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("home")
    running = Server(home, clean_env(home, GPT_TRADER__API__AUTH__ENABLED="false"))
    running.start()
    try:
        ids = [start_session(running.url, rate=1.0, fast=2 + i % 3, slow=6 + i) for i in range(SESSIONS)]
        yield running.url
        for session_id in ids:
            rest(running.url, "POST", f"/api/v1/sessions/{session_id}/stop")
    finally:
        running.stop()


def test_the_overview_is_usable_within_a_second(browser: Any, server: str) -> None:
    loads = sorted(overview_ready_ms(browser, server, SESSIONS) for _ in range(3))
    assert loads[0] < 1000, loads  # best of three cold loads: the machine is shared while tests run


def test_the_overviews_first_requests_start_before_the_bundle_and_are_asked_once(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{server}/dashboard/")
        page.wait_for_selector("[data-testid=health-status]")
        page.wait_for_selector("[data-testid=running-sessions] tr[data-session]")
        paths = page.evaluate("Object.values(GtBoot.overview)")
        asked = page.evaluate(
            """paths => paths.map(p => performance.getEntriesByType('resource')
                .filter(e => e.name === location.origin + p).map(e => e.initiatorType))""",
            paths,
        )
        # boot.js started each (before the bundle ran), the Overview took its answer: each was asked once.
        assert sorted(page.evaluate("GtBoot.asked")) == sorted(paths)
        assert sorted(page.evaluate("GtBoot.taken")) == sorted(paths)
        assert asked == [["fetch"]] * len(paths), dict(zip(paths, asked, strict=True))
    finally:
        context.close()


# A long task (> 50 ms) is judged by the page's own main-thread CPU time, from a Chrome trace of the watched
# time: the 2-core machine is shared with other test processes (and CI's with other jobs), so a 5-ms task can
# take 60 ms of wall clock while the page waits for a core. Tasks long by the wall clock are still measured
# (the Long Tasks API) and printed with their CPU time, so a reader sees them and why they are not counted.


def _watch(browser: Any, server: str, path: str = "") -> Watched:
    watched = long_tasks_while_watching(browser, server, 10, path)
    print(f"{path or 'overview'}: {watched.line()}")  # shown with -s / -rP and kept in CI's log
    return watched


def test_ten_sessions_updating_every_second_cause_no_long_task(browser: Any, server: str) -> None:
    watched = _watch(browser, server)
    assert watched.seen >= SESSIONS * 7, watched.line()  # the page really was updating (~10 messages a second)
    assert watched.busy_cpu_ms > 0, watched.line()  # the trace did see the page's main thread
    assert watched.cpu_long_tasks == [], watched.line()


def test_a_session_view_among_ten_updating_sessions_has_no_long_task(browser: Any, server: str) -> None:
    first = rest(server, "GET", "/api/v1/sessions?status=running&limit=1")["items"][0]["id"]
    watched = _watch(browser, server, f"#session/{first}")
    assert watched.seen >= SESSIONS * 7, watched.line()
    assert watched.busy_cpu_ms > 0, watched.line()
    assert watched.cpu_long_tasks == [], watched.line()
