"""HTTPS from ``api.tls``: the certificate and key handed to Sanic, checked before the server binds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpt_trader_core.errors import ConfigurationError


def server_ssl(settings: Any) -> dict[str, str] | None:
    """Sanic's ``ssl=`` argument for ``api.tls``, or None for plain HTTP."""
    tls = settings.api.tls
    if tls.cert_file is None or tls.key_file is None:
        return None
    files = {"cert": Path(tls.cert_file).expanduser(), "key": Path(tls.key_file).expanduser()}
    for name, path in files.items():
        if not path.is_file():
            raise ConfigurationError(f"api.tls.{name}_file: {path} is not a readable file (a PEM {name})")
    return {name: str(path) for name, path in files.items()}
