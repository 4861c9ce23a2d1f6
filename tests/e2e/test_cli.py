"""The real `gpt-trader` executable as a user runs it: the entry points themselves (every command's
behaviour is tested in-process in tests/cli/)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from tests.cli.support import assert_one_line_error

Cli = Callable[..., subprocess.CompletedProcess[str]]

__all__ = ["assert_one_line_error"]


def test_the_console_script_runs_a_command(cli: Cli) -> None:
    proc = cli("strategies", "--format", "csv")
    assert proc.returncode == 0 and proc.stdout.startswith("strategy,parameter"), proc.stderr


def test_python_dash_m_entrypoints_is_the_same_application(cli: Cli, isolated_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "entrypoints", "strategies", "--format", "csv"],
        env=isolated_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("strategy,parameter")
