"""The README's Python tour runs as written after the first set-up command (no test-only packages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_tour() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## 30-second tour: the Python API", 1)[1]
    return section.split("```python", 1)[1].split("```", 1)[0]


def test_the_python_tour_runs_and_needs_no_test_extra(tmp_path: Path) -> None:
    tour = _python_tour()
    assert "import backtesting" not in tour.replace("#   from backtesting", "")
    # backtesting.py is blocked: the tour must not need it (only the test extra installs it).
    script = "import sys; sys.modules['backtesting'] = None\n" + tour
    env = {**os.environ, "HOME": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.upper().startswith("GPT_TRADER__")}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
