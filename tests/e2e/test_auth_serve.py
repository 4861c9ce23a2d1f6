"""`gpt-trader serve` with the auth layer: HTTPS from api.tls, and the safe-default bind refusal."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import GPT_TRADER, free_port

COMMAND = [GPT_TRADER] if GPT_TRADER else [sys.executable, "-m", "entrypoints"]


def wait_for(url: str, proc: subprocess.Popen[str], context: ssl.SSLContext | None = None) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return {
                    "status": response.status,
                    "headers": dict(response.headers),
                    "body": json.loads(response.read()),
                }
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_serve_speaks_https_with_the_configured_certificate(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            *COMMAND,
            "serve",
            "--mode",
            "api",
            "--port",
            str(port),
            "--set",
            f"api.tls.cert_file={cert}",
            "--set",
            f"api.tls.key_file={key}",
        ],
        cwd=tmp_path,
        env=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        answer = wait_for(f"https://127.0.0.1:{port}/api/v1/system/health/live", proc, context)
        assert answer["status"] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_serve_refuses_a_missing_certificate(tmp_path: Path, isolated_env: dict[str, str]) -> None:
    result = subprocess.run(
        [
            *COMMAND,
            "serve",
            "--mode",
            "api",
            "--port",
            str(free_port()),
            "--set",
            "api.tls.cert_file=/nope.pem",
            "--set",
            "api.tls.key_file=/nope.key",
        ],
        cwd=tmp_path,
        env=isolated_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "api.tls.cert_file" in result.stderr and "Traceback" not in result.stderr
