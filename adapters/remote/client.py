"""A small HTTP/1.1 JSON client of a gpt-trader server (``http.client``: no import cost to speak of).

One keep-alive connection per client (a CLI command makes its requests over one TCP connection);
blocking calls run in a worker thread (``call``) so the command's event loop stays free. Credentials:
an API key from ``GPT_TRADER_API_KEY``, else the login stored for this URL by ``gpt-trader login``
(renewed with its refresh token when the access token expires or is refused). Answers are mapped to
the core's errors once, here: 400/422 → bad input, 404 → not found, 409 → conflict, 401/403/429 and
no answer at all → ``RemoteError`` (exit code 3) saying exactly what to do.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs

from adapters.remote.credentials import API_KEY_ENV, CredentialsFile, StoredLogin, normalise_url
from adapters.remote.errors import RemoteError, RemoteRefusedError, RemoteUnreachableError
from gpt_trader_core import __version__
from gpt_trader_core.errors import ConflictError, GptTraderError, InvalidParameterError, NotFoundError

#: Seconds to wait for a connection or an answer (a backtest answered inline can take a few seconds).
DEFAULT_TIMEOUT = 60.0


@attrs.frozen
class Answer:
    """A server's answer: status, headers (lower-case names) and the decoded JSON body (or ``None``)."""

    status: int
    headers: Mapping[str, str]
    body: Any


def login_hint(url: str) -> str:
    return f"log in with `gpt-trader login {url}` (or set {API_KEY_ENV} to an API key)"


def token_lifetime(payload: Mapping[str, Any], now: float | None = None) -> float:
    """The access token's expiry (epoch seconds) from a token answer's ``expires_in``."""
    return (time.time() if now is None else now) + float(payload.get("expires_in", 0))


class RemoteClient:
    """JSON over HTTP to one gpt-trader server at ``url`` (``http(s)://host:port``)."""

    def __init__(
        self,
        url: str,
        *,
        credentials: CredentialsFile | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        use_environment: bool = True,
    ) -> None:
        self.url = normalise_url(url)
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path
        self._timeout = timeout
        self._credentials = credentials
        self._api_key = api_key or (os.environ.get(API_KEY_ENV) or None if use_environment else None)
        self._login: StoredLogin | None = None
        self._login_loaded = False
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        #: Requests sent and seconds spent waiting for answers (benchmarks read these).
        self.requests = 0
        self.seconds = 0.0

    # ---- the public calls ----

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``request`` in a worker thread: the JSON body of a 2xx answer."""
        answer = await asyncio.to_thread(self.request, method, path, query=query, body=body, auth=auth, headers=headers)
        return answer.body

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send one request; a 2xx answer is returned, anything else raised as the matching error."""
        target = self._prefix + path
        if query:
            target += "?" + urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
        payload = None if body is None else json.dumps(body).encode("utf-8")
        with self._lock:
            answer = self._send(method, target, payload, auth, headers)
            if answer.status == 401 and auth and self._renew(after_refusal=True):
                answer = self._send(method, target, payload, auth, headers)
        if 200 <= answer.status < 300 or answer.status == 304:
            return answer
        raise self._error(method, path, answer)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ---- credentials ----

    def auth_headers(self) -> dict[str, str]:
        """The credentials of a request sent now (an expired access token renewed first): what a WebSocket
        handshake to this server sends."""
        with self._lock:
            return self._auth_headers()

    @property
    def ws_url(self) -> str:
        """The server's multiplexed WebSocket endpoint (``/ws/v1``)."""
        scheme = "wss" if self._https else "ws"
        return f"{scheme}://{self._host}:{self._port}{self._prefix}/ws/v1"

    def _stored(self) -> StoredLogin | None:
        if not self._login_loaded:
            self._login = self._credentials.get(self.url) if self._credentials is not None else None
            self._login_loaded = True
        return self._login

    def _auth_headers(self) -> dict[str, str]:
        if self._api_key:
            return {"X-API-Key": self._api_key}
        login = self._stored()
        if login is None:
            return {}
        if login.expired():
            self._renew(after_refusal=False)
            login = self._login
        return {"Authorization": f"Bearer {login.access_token}"} if login is not None else {}

    def _renew(self, *, after_refusal: bool) -> bool:
        """Exchange the stored refresh token for a new pair (under the credentials file's lock)."""
        login = self._stored()
        if self._api_key or login is None or self._credentials is None:
            return False

        def renew(current: StoredLogin) -> StoredLogin:
            answer = self._send(
                "POST", self._prefix + "/api/v1/auth/refresh", _encode({"refresh_token": current.refresh_token}), False
            )
            if answer.status != 200 or not isinstance(answer.body, dict):
                raise RemoteRefusedError(
                    f"{self.url} refused the stored login of {current.username!r} (it expired or was revoked); "
                    + login_hint(self.url)
                )
            return attrs.evolve(
                current,
                access_token=str(answer.body["access_token"]),
                refresh_token=str(answer.body["refresh_token"]),
                expires_at=token_lifetime(answer.body),
            )

        renewed = self._credentials.replace(login, renew)
        if renewed is None:
            return False
        changed = renewed.access_token != login.access_token
        self._login = renewed
        return changed or not after_refusal

    # ---- the wire ----

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._https:
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
                )
            else:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._connection

    def _send(
        self,
        method: str,
        target: str,
        payload: bytes | None,
        auth: bool,
        extra: Mapping[str, str] | None = None,
    ) -> Answer:
        headers = {"Accept": "application/json", "User-Agent": f"gpt-trader-cli/{__version__}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if auth:
            headers.update(self._auth_headers())
        headers.update(extra or {})
        started = time.perf_counter()
        for attempt in (1, 2):
            reused = self._connection is not None
            connection = self._connect()
            try:
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()  # a kept-alive connection the server closed meanwhile: once more on a new one
                if not reused or attempt == 2:
                    raise self._unreachable(exc) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(exc) from None
        self.requests += 1
        self.seconds += time.perf_counter() - started
        if response.getheader("connection", "").lower() == "close":
            self.close()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, answer_headers, self._decode(raw, answer_headers, response.status))

    def _decode(self, raw: bytes, headers: Mapping[str, str], status: int) -> Any:
        if not raw:
            return None
        kind = headers.get("content-type", "")
        if "json" not in kind:
            if kind.startswith("text/csv"):
                return raw.decode("utf-8")
            raise RemoteUnreachableError(
                f"{self.url} is not a gpt-trader API server (it answered {status} with {kind or 'no content type'}); "
                "check the URL given to --remote"
            )
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteUnreachableError(f"{self.url} answered malformed JSON (status {status})") from None

    def _unreachable(self, exc: BaseException) -> RemoteUnreachableError:
        if isinstance(exc, ConnectionRefusedError):
            why = "connection refused (is `gpt-trader serve` running there?)"
        elif isinstance(exc, socket.gaierror):
            why = f"the host name {self._host!r} does not resolve"
        elif isinstance(exc, TimeoutError | socket.timeout):
            why = f"no answer within {self._timeout:g} s"
        elif isinstance(exc, ssl.SSLError):
            why = f"TLS failed ({exc.reason or exc})"
        else:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return RemoteUnreachableError(f"cannot reach {self.url}: {why}")

    def _error(self, method: str, path: str, answer: Answer) -> GptTraderError:
        body = answer.body if isinstance(answer.body, dict) else {}
        detail = str(body.get("detail") or body.get("title") or f"HTTP {answer.status}")
        fields = body.get("errors") or []
        if fields:
            detail += (
                " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in fields if isinstance(e, dict)) + ")"
            )
        status = answer.status
        if status == 401:
            how = login_hint(self.url)
            if self._api_key:
                how = (
                    f"check {API_KEY_ENV} (the server refused that API key), or unset it and "
                    + how[0].lower()
                    + how[1:]
                )
            return RemoteRefusedError(f"{self.url} refused the request: {detail}; {how}")
        if status == 403:
            return RemoteRefusedError(f"{self.url} refused {method} {path}: {detail}")
        if status == 429:
            wait = answer.headers.get("retry-after")
            return RemoteRefusedError(
                f"{self.url} is rate limiting: {detail}" + (f"; retry in {wait} s" if wait else "")
            )
        if status == 404:
            return NotFoundError(detail)
        if status == 409:
            return ConflictError(detail)
        if status in (400, 413, 415, 422):
            return InvalidParameterError(detail)
        request_id = answer.headers.get("x-request-id")
        suffix = f" (request id {request_id}: the server's log has the details)" if request_id else ""
        return RemoteError(f"{self.url} failed to answer {method} {path}: {detail}{suffix}")


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
