"""`gpt-trader monitor` in a real terminal (tmux): what a person sees, redrawn in place; `q` and
Ctrl-C leave cleanly with the terminal restored."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or not GPT_TRADER, reason="needs tmux and the script")


#: prints ``-echo``/``-icanon`` if the terminal was left without echo or line editing
MODES = "stty -a | tr ' ;' '\\n\\n' | grep -x -e -echo -e -icanon | tr '\\n' ' '"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def terminal(tmp_path: Path, isolated_env: dict[str, str]) -> Iterator[Callable[[str], str]]:
    """``start(command)`` runs ``command`` in a new 120x40 tmux session (its own server socket); yields
    the session name; the session and server are killed at the end."""
    socket = str(tmp_path / "tmux.sock")
    names: list[str] = []

    def start(command: str) -> str:
        name = f"mon{uuid.uuid4().hex[:8]}"
        env = " ".join(f"{k}={v}" for k, v in (("HOME", isolated_env["HOME"]), ("NO_COLOR", "1")))
        _tmux(
            "-S",
            socket,
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "40",
            f"cd {tmp_path} && env {env} {command}; echo EXIT=$?; {MODES}; echo MODES; sleep 60",
        )
        names.append(name)
        return name

    yield start
    subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True)


def _wait_for(socket: str, name: str, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("-S", socket, "capture-pane", "-p", "-t", name)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not on the screen:\n{screen}")


@pytest.mark.parametrize(("key", "code"), [("q", 0), ("C-c", 130)])
def test_live_view_redraws_and_leaves(
    terminal: Callable[[str], str],
    tmp_path: Path,
    cli: Callable[..., subprocess.CompletedProcess[str]],
    key: str,
    code: int,
) -> None:
    proc = cli(
        "run",
        "-s",
        "sma_cross",
        "--symbol",
        "AAPL",
        "--feed",
        "replay",
        "--speed",
        "0",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
    )
    assert proc.returncode == 0, proc.stderr
    socket = str(tmp_path / "tmux.sock")
    name = terminal(f"{GPT_TRADER} monitor --interval 0.3")
    first = _wait_for(socket, name, "Alerts")
    lines = first.splitlines()
    assert lines[0].startswith("gpt-trader monitor ·") and "q quits" in lines[0]
    assert "Sessions (1)" in first and "sma_cross" in first and "finished" in first
    assert "Workflow executions (0)" in first
    stamp = lines[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # redrawn in place: a new time on the same first line
        screen = _tmux("-S", socket, "capture-pane", "-p", "-t", name)
        if screen.splitlines()[0] != stamp:
            break
        time.sleep(0.2)
    assert screen.splitlines()[0].startswith("gpt-trader monitor ·") and screen.splitlines()[0] != stamp
    assert screen.count("gpt-trader monitor ·") == 1  # one frame on the screen, not a scrolling log
    _tmux("-S", socket, "send-keys", "-t", name, key)
    after = _wait_for(socket, name, "MODES")
    assert f"EXIT={code}" in after and "Traceback" not in after
    assert "-echo" not in after and "-icanon" not in after  # the terminal's modes restored (echo, lines)
    assert "Sessions (1)" in after  # the last frame stays readable
