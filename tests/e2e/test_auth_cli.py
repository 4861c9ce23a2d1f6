"""`gpt-trader users ...` and `gpt-trader keys ...` through the installed executable, in an isolated home."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER

Cli = Callable[..., subprocess.CompletedProcess[str]]


def run_with_stdin(cli_env: dict[str, str], cwd: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]
    return subprocess.run(
        [*command, *args], input=stdin, cwd=cwd, env=cli_env, capture_output=True, text=True, timeout=60, check=False
    )


def test_users_lifecycle(cli: Cli, isolated_env: dict[str, str], tmp_path: Path) -> None:
    listed = cli("users", "list")
    assert listed.returncode == 0 and "users add NAME --role admin" in listed.stdout
    added = run_with_stdin(
        isolated_env, tmp_path, "a-long-password\n", "users", "add", "alice", "--role", "admin", "--password-stdin"
    )
    assert added.returncode == 0, added.stderr
    assert "alice" in added.stdout and "admin" in added.stdout
    again = run_with_stdin(isolated_env, tmp_path, "a-long-password\n", "users", "add", "alice", "--password-stdin")
    assert again.returncode != 0 and "already exists" in again.stderr and "Traceback" not in again.stderr
    short = run_with_stdin(isolated_env, tmp_path, "short\n", "users", "add", "bob", "--password-stdin")
    assert short.returncode != 0 and "8 to 1024 characters" in short.stderr
    changed = run_with_stdin(
        isolated_env, tmp_path, "another-password\n", "users", "passwd", "alice", "--password-stdin"
    )
    assert changed.returncode == 0, changed.stderr
    rows = json.loads(cli("users", "list", "--format", "json").stdout)
    assert [(row["username"], row["role"]) for row in rows] == [("alice", "admin")]
    assert cli("users", "remove", "alice").returncode == 0
    missing = cli("users", "remove", "alice")
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_no_terminal_and_no_stdin_flag_is_refused_with_the_fix(cli: Cli) -> None:
    result = cli("users", "add", "carol", "--role", "viewer", "-n")
    assert result.returncode != 0 and "--password-stdin" in result.stderr


def test_keys_create_prints_once_list_hides_revoke(cli: Cli, isolated_env: dict[str, str]) -> None:
    created = cli("keys", "create", "--name", "dashboard", "--role", "viewer", "--expires", "90d")
    assert created.returncode == 0, created.stderr
    key = next(line for line in created.stdout.splitlines() if line.startswith("gtk_"))
    key_id = key.split("_")[1]
    listed = cli("keys", "list", "--format", "json")
    rows = json.loads(listed.stdout)
    assert rows[0]["id"] == key_id and rows[0]["role"] == "viewer" and rows[0]["expires_at"]
    assert key not in listed.stdout and key.split("_")[2] not in listed.stdout
    assert cli("keys", "revoke", key_id).returncode == 0
    assert json.loads(cli("keys", "list", "--format", "json").stdout)[0]["revoked_at"]
    bad = cli("keys", "create", "--name", "x", "--expires", "forever")
    assert bad.returncode != 0 and "bad duration" in bad.stderr
    secret_file = Path(isolated_env["HOME"]) / ".gpt-trader" / "jwt_secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600


@pytest.mark.parametrize("key", ["api.auth.jwt_secret", "api.auth.previous_jwt_secret"])
def test_secrets_are_starred_in_config_show(cli: Cli, key: str) -> None:
    secret = "a-signing-secret-that-is-long-enough-1234"
    shown = cli("config", "show", "--set", f"{key}={secret}")
    assert shown.returncode == 0 and secret not in shown.stdout and "***" in shown.stdout
