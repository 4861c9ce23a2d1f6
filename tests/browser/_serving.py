"""A real `gpt-trader serve` for the browser tests, and a dashboard page opened on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser.conftest import Watched, watch
from tests.e2e.conftest import free_port

GPT_TRADER = shutil.which("gpt-trader")
COMMAND = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """This environment without GPT_TRADER__ variables, HOME in ``home``, plus ``settings`` (env names)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GPT_TRADER__")}
    env.update(HOME=str(home), **settings)
    return env


@contextmanager
def serving(home: Path, env: dict[str, str]) -> Iterator[str]:
    """`gpt-trader serve --mode api` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    log = home / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*COMMAND, "serve", "--mode", "api", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def dashboard_page(browser: Any, server: str, view: str = "backtest") -> Iterator[Watched]:
    """A fresh 1280-px browser context on ``server``'s dashboard showing ``view``, closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = watch(context.new_page(), allowed_origin=server)
        page.page.goto(f"{server}/dashboard/#{view}")
        yield page
    finally:
        context.close()
