"""``Secret``: a setting that does not show itself, and the redaction of passwords in URLs."""

from __future__ import annotations

import re

import attrs


@attrs.frozen
class Secret:
    """A string that does not show itself: ``str``/``repr`` give ``***`` when it is set.

    Not a ``str`` subclass on purpose: a subclass would leak through ``json.dumps``, ``+`` and
    f-strings. Call ``get_secret_value()`` where the real value is needed.
    """

    _value: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self._value, str):
            raise TypeError("a Secret holds a string")

    def get_secret_value(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return "***" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def redact_url(url: str) -> str:
    """``scheme://user:***@host/...``: hide the password of a URL, if it holds one."""
    return re.sub(r"://([^/@:]*):[^@/]*@", r"://\1:***@", url, count=1)
