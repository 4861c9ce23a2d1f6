"""The API's ``Response`` puts the same bytes on the wire as Sanic's ``HTTPResponse`` (it only skips the
per-character sanitising when a header holds nothing to strip)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sanic.headers import format_http1_response
from sanic.response import HTTPResponse

from entrypoints.http.respond import Response

_NAMES = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), min_size=1, max_size=20)
_VALUES = st.text(max_size=60) | st.sampled_from(["a\r\nSet-Cookie: x=1", "\x00", "nosniff", "ümlaut"])


def _wire(cls: type[HTTPResponse], status: int, headers: list[tuple[str, str]]) -> bytes:
    response = cls(b"{}", status=status, content_type="application/json")
    for name, value in headers:
        response.headers.add(name, value)
    return format_http1_response(status, response.processed_headers)


@given(headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=8), status=st.sampled_from([200, 204, 304, 404, 101]))
def test_same_header_bytes_as_sanic(headers: list[tuple[str, str]], status: int) -> None:
    assert _wire(Response, status, headers) == _wire(HTTPResponse, status, headers)


def test_header_injection_is_stripped() -> None:
    wire = _wire(Response, 200, [("X-Note", "a\r\nSet-Cookie: x=1\x00")])
    assert b"X-Note: aSet-Cookie: x=1\r\n" in wire
    assert wire.count(b"\r\n") == 4  # status line, X-Note, content-type, end of head
