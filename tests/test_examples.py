"""Every script in ``examples/`` runs as a newcomer runs it (``python examples/NAME.py``) and finishes
cleanly: an example that no longer works fails the build instead of the newcomer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples() -> None:
    assert EXAMPLES, "examples/ holds no script"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GPT_TRADER__")}
    env["HOME"] = str(tmp_path)  # no user config, no stray state
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "an example shows what it did"
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
