"""The token-signing secret: from settings, or generated once into a 0600 file under ``system.data_dir``."""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from gpt_trader_core.errors import ConfigurationError

log = logging.getLogger("gpt_trader.security")

MIN_SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> str:
    """The secret stored at ``path``, created (64 random bytes, urlsafe text) on first use.

    The secret is written to a private temporary file (mode 0600) and then hard-linked into place,
    which fails if the file exists: two workers starting together agree on one complete secret, and
    nobody else on the machine can read it. A file readable by group or others is refused. The
    secret itself is never logged.
    """
    path = path.expanduser()
    if path.exists():
        return _read(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mkstemp creates it 0600
    except OSError as exc:
        raise ConfigurationError(f"cannot create the token secret file {path}: {exc}") from exc
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
        os.link(tmp, path)
        log.info("generated a new token signing secret in %s (mode 0600)", path)
    except FileExistsError:
        pass  # another worker won the race: use its secret
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the token secret file {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"the token secret file {path} is readable by others: run chmod 600 {path}")
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"the token secret file {path} holds fewer than {MIN_SECRET_BYTES} bytes: delete it to generate a new one"
        )
    return text
