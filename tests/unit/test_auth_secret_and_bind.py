"""The signing-secret file and the safe-default bind checks."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from adapters.security import JwtTokenCodec, SigningKey, load_or_create_secret
from entrypoints.http.auth.safety import check_bind, is_loopback
from gpt_trader_core.domain.auth import AuthenticationError, TokenClaims
from gpt_trader_core.domain.records import utcnow
from gpt_trader_core.errors import ConfigurationError


def test_secret_is_generated_once_private_and_reused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "data" / "jwt_secret"
    with caplog.at_level(logging.INFO):
        first = load_or_create_secret(path)
    assert len(first.encode()) >= 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(path) == first
    assert first not in caplog.text
    assert [p.name for p in path.parent.iterdir()] == ["jwt_secret"]  # no temporary file left


def test_workers_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    path, results = tmp_path / "jwt_secret", []
    threads = [threading.Thread(target=lambda: results.append(load_or_create_secret(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


def test_a_readable_or_short_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwt_secret"
    path.write_text("x" * 64)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_secret(path)
    path.write_text("short")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="fewer than 32 bytes"):
        load_or_create_secret(path)


def test_short_configured_secrets_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        SigningKey("too-short")


def test_previous_secret_verifies_during_a_rotation() -> None:
    old, new = SigningKey("o" * 40), SigningKey("n" * 40)
    now = utcnow()
    claims = TokenClaims("alice", "access", "j1", now, now.replace(year=now.year + 1), "f1")
    token = JwtTokenCodec([old]).encode(claims)
    assert JwtTokenCodec([new, old]).decode(token, "access").subject == "alice"
    with pytest.raises(AuthenticationError, match="unknown key"):
        JwtTokenCodec([new]).decode(token, "access")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_auth_off_only_on_loopback(caplog: pytest.LogCaptureFixture) -> None:
    check_bind("0.0.0.0", auth_enabled=True)
    with caplog.at_level(logging.WARNING):
        check_bind("127.0.0.1", auth_enabled=False)
    assert "auth_disabled" in caplog.text
    with pytest.raises(ConfigurationError, match=r"refusing to serve on 0\.0\.0\.0"):
        check_bind("0.0.0.0", auth_enabled=False)
