"""The README's Authentication example, run as written (bash, the installed `gpt-trader`, curl) in an
isolated home; only the port is moved off 8000 so that it cannot meet another server on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def auth_example() -> str:
    text = README.read_text()
    section = text[text.index("## Authentication") :]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the Authentication section has no bash example"
    return match.group(1)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("gpt-trader") is None, reason="needs curl and gpt-trader"
)
def test_readme_authentication_example_works_as_written(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    port = free_port()
    script = auth_example().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    script = script.replace("gpt-trader serve &", f"gpt-trader serve --port {port} > server.log 2>&1 &")
    script = "trap 'kill $(jobs -p) 2> /dev/null' EXIT\n" + script  # no server left behind if a step fails
    env = {**isolated_env, "PATH": os.environ["PATH"]}
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr + (tmp_path / "server.log").read_text()
    out = result.stdout
    assert "user admin added" in out
    assert '{"subject":"admin","role":"admin","kind":"user"}' in out  # /auth/me with the access token
    assert '"token_type":"bearer"' in out  # the refreshed pair
    assert '"role":"viewer","kind":"api_key"' in out  # /auth/me with the API key
    assert '"key":"gtk_' in out and '"username":"admin"' in out
    assert out.rstrip().endswith("204")  # logout
