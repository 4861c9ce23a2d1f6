"""Interactive mode through the console script on a pseudo-terminal: a missing required argument is
asked for (a choice of names, the default shown); with -n, or without a terminal, the one-line error."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


class Terminal:
    """A command whose stdin/stdout are a pseudo-terminal (what a person's shell gives it)."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
        env = {**env, "NO_COLOR": "1", "COLUMNS": "120"}
        self.proc = subprocess.Popen([*command, *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
        os.close(slave)
        self.screen = ""

    def read_until(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the command exited and closed the terminal
                    break
        assert text in self.screen, self.screen
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


def test_backtest_asks_for_the_strategy(isolated_env: dict[str, str], tmp_path: Path) -> None:
    term = Terminal(["backtest", "--from", "2024-01-01", "--to", "2024-06-30", "--no-save"], isolated_env, tmp_path)
    screen = term.read_until("Strategy")
    assert "[sma_cross]" in screen  # the default
    for name in ("breakout", "mean_reversion", "momentum", "volatility", "all"):
        assert name in screen
    term.type("momentum\n")
    screen = term.read_until("Sharpe ratio")
    assert term.close() == 0
    assert "momentum(" in screen and "Return [%]" in screen


def test_workflow_execute_asks_for_the_workflow(isolated_env: dict[str, str], tmp_path: Path) -> None:
    term = Terminal(["workflow", "execute", "--param", "symbol=MSFT"], isolated_env, tmp_path)
    screen = term.read_until("Workflow")
    assert "multi_strategy_ensemble" in screen and "simple_backtest" in screen
    term.type("simple_backtest\n")
    term.read_until("succeeded", timeout=120)
    assert term.close() == 0


def test_no_interaction_never_asks(isolated_env: dict[str, str], tmp_path: Path) -> None:
    term = Terminal(["market", "regime", "-n"], isolated_env, tmp_path)
    screen = term.read_until("SYMBOL is required")
    assert term.close() == 1
    assert "Symbol" not in screen.replace("SYMBOL", "")  # no question asked
