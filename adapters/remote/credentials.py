"""Credentials for gpt-trader servers: one token pair per server URL in a 0600 JSON file.

The file (``~/.gpt-trader/credentials.json`` by default) maps a normalised server URL to its access
token, refresh token, user name and the access token's expiry (epoch seconds). It is written
atomically (temporary file + rename) with mode 0600 from the first byte, and read only by this user.
An API key in the environment (``GPT_TRADER_API_KEY``) needs no file at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no advisory lock
    fcntl = None  # type: ignore[assignment]

from gpt_trader_core.errors import ConfigurationError, InvalidParameterError

#: The environment variable whose API key authenticates remote commands (it wins over a stored login).
API_KEY_ENV = "GPT_TRADER_API_KEY"


def credentials_path(home: Path | None = None) -> Path:
    """``~/.gpt-trader/credentials.json`` (beside the default config file)."""
    return (home or Path.home()) / ".gpt-trader" / "credentials.json"


def normalise_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; anything else is refused with an example."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidParameterError(
            f"{url!r} is not a server URL; give one such as http://127.0.0.1:9000 (scheme, host and port)"
        )
    if parts.query or parts.fragment:
        raise InvalidParameterError(f"{url!r}: a server URL has no query or fragment (e.g. http://127.0.0.1:9000)")
    try:
        port = parts.port
    except ValueError:
        raise InvalidParameterError(f"{url!r} has an invalid port; e.g. http://127.0.0.1:9000") from None
    netloc = parts.hostname.lower() if port is None else f"{parts.hostname.lower()}:{port}"
    if ":" in parts.hostname:  # IPv6 literal
        netloc = f"[{parts.hostname}]" + (f":{port}" if port is not None else "")
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


@attrs.frozen
class StoredLogin:
    """A login at one server: the token pair, whose it is, and when the access token expires."""

    url: str
    username: str
    access_token: str
    refresh_token: str
    expires_at: float

    def expired(self, now: float | None = None, margin: float = 10.0) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - margin


class CredentialsFile:
    """Logins per server URL in one 0600 JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or credentials_path()

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigurationError(f"cannot read the credentials file {self.path}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigurationError(
                f"the credentials file {self.path} is not JSON; delete it and log in again with `gpt-trader login URL`"
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"the credentials file {self.path} is not a JSON object; delete it and log in again"
            )
        return data

    def _write(self, data: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".credentials-", dir=self.path.parent)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, url: str) -> StoredLogin | None:
        return self._entry(self._read(), url)

    def _entry(self, data: Mapping[str, Any], url: str) -> StoredLogin | None:
        key = normalise_url(url)
        entry = data.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return StoredLogin(
                url=key,
                username=str(entry["username"]),
                access_token=str(entry["access_token"]),
                refresh_token=str(entry["refresh_token"]),
                expires_at=float(entry["expires_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, login: StoredLogin) -> None:
        with self._locked():
            data = self._read()
            data[login.url] = _as_entry(login)
            self._write(data)

    def remove(self, url: str) -> bool:
        with self._locked():
            data = self._read()
            found = data.pop(normalise_url(url), None) is not None
            if found:
                self._write(data)
            return found

    def replace(self, stale: StoredLogin, renew: Callable[[StoredLogin], StoredLogin]) -> StoredLogin | None:
        """Renew ``stale`` under the file's lock: a refresh token works once, so when another command
        renewed it meanwhile its new pair is returned instead; ``None`` when the login was removed."""
        with self._locked():
            data = self._read()
            current = self._entry(data, stale.url)
            if current is None or current.refresh_token != stale.refresh_token:
                return current
            fresh = renew(current)
            data[fresh.url] = _as_entry(fresh)
            self._write(data)
            return fresh

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise writers of this file (two commands refreshing at once) with an advisory lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock


def _as_entry(login: StoredLogin) -> dict[str, Any]:
    return {
        "username": login.username,
        "access_token": login.access_token,
        "refresh_token": login.refresh_token,
        "expires_at": login.expires_at,
    }
