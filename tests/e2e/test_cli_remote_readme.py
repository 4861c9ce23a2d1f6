"""The README's ``--remote`` example, run as written (bash, the installed `gpt-trader`, curl) in an isolated
home, on a free port instead of 8000."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def remote_example() -> str:
    text = README.read_text()
    section = text[text.index("## The CLI against a server (`--remote`)") :]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the --remote section has no bash example"
    return match.group(1)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("gpt-trader") is None, reason="needs curl and gpt-trader"
)
def test_readme_remote_example_works_as_written(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port = free_port()
    script = remote_example().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    script = script.replace("gpt-trader serve &", f"gpt-trader serve --port {port} > server.log 2>&1 &")
    script = "trap 'kill $(jobs -p) 2> /dev/null' EXIT\n" + script
    env = {**isolated_env, "PATH": os.environ["PATH"], "NO_COLOR": "1"}
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr + (tmp_path / "server.log").read_text()
    out = result.stdout
    assert "logged in to" in out and "as alice (trader)" in out
    assert '"name": "breakout"' in out  # the first strategy, alphabetically
    assert "sma_cross(fast=10, slow=30) on AAPL 1d" in out
    assert "simple_backtest started (wf_" in out
    assert "AAPL: " in out and "Recent regime changes" in out
    assert f"logged out of http://127.0.0.1:{port}" in out
    assert "Traceback" not in result.stderr
