"""permessage-deflate (RFC 7692) for Sanic's WebSocket: negotiated when the client offers it.

Sanic builds websockets' ``ServerProtocol`` without extensions; ``StreamProtocol`` (pass it as
``protocol=`` when serving) is Sanic's ``WebSocketProtocol`` whose handshake offers websockets' own
server defaults for permessage-deflate (window 2**12, memLevel 5: a few KB per connection). A client
that does not offer it gets plain frames. Tested with sanic 25.12 and websockets 15-17.

Its protocol is a ``WatchedServerProtocol``: it tells the connection's ``Client`` the moment the
connection leaves OPEN (a close frame received or sent, a failure), so the fan-out checks one flag of
the client per message instead of the protocol's state (which costs more than the write decision).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sanic.exceptions import SanicException
from sanic.log import websockets_logger
from sanic.server.protocols.websocket_protocol import WebSocketProtocol
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol


class WatchedServerProtocol(ServerProtocol):
    """websockets' server protocol, calling ``on_leave_open`` when the state leaves OPEN. websockets
    changes the state only through the ``state`` setter (so does Sanic's ``fail_connection``)."""

    on_leave_open: Callable[[], None] | None = None

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        ServerProtocol.state.fset(self, state)  # type: ignore[attr-defined]
        if state is not State.OPEN and self.on_leave_open is not None:
            self.on_leave_open()


class StreamProtocol(WebSocketProtocol):
    async def websocket_handshake(self, request: Any, subprotocols: Sequence[str] | None = None) -> Any:
        try:
            ws_proto = WatchedServerProtocol(
                extensions=enable_server_permessage_deflate(None),
                max_size=self.websocket_max_size,
                subprotocols=[Subprotocol(s) for s in subprotocols] if subprotocols is not None else None,
                state=State.OPEN,
                logger=websockets_logger,
            )
            resp = ws_proto.accept(self.sanic_request_to_ws_request(request))
        except Exception:
            raise SanicException("Failed to open a WebSocket connection.", status_code=500) from None
        if not 100 <= resp.status_code <= 299:
            raise SanicException(bytes(resp.body or b""), resp.status_code)
        head = f"HTTP/1.1 {resp.status_code} {resp.reason_phrase}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in resp.headers.items())
        await super(WebSocketProtocol, self).send((head + "\r\n").encode())  # type: ignore[no-untyped-call]
        self.websocket = WebsocketImplProtocol(
            ws_proto,
            ping_interval=self.websocket_ping_interval,
            ping_timeout=self.websocket_ping_timeout,
            close_timeout=self.websocket_timeout,
        )
        loop = getattr(getattr(request, "transport", None), "loop", None)
        await self.websocket.connection_made(self, loop=loop)
        self.websocket_url = self._http.request.url
        self.websocket_peer = f"{id(self):X}"[-5:-1] + "unx"
        if ip := self._http.request.client_ip:
            self.websocket_peer = f"{ip}:{self._http.request.port}"
        self.log_websocket("OPEN")  # type: ignore[no-untyped-call]
        return self.websocket
