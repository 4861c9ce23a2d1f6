"""The checks behind every settings field, and the errors they raise.

A check refuses a value with ``InvalidValueError`` whose ``detail`` reads well after the dotted key
the loader prints; ``field_validator`` turns a check into an attrs validator. The converter uses the
``expect_*`` checks as strict structure hooks (no ``"abc"`` → int, no ``1.5`` → int, no ``"yes"`` →
bool). ``InvalidSettingsError`` collects every problem of a configuration in one error.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, get_args

import attrs

from entrypoints.settings.secret import Secret, redact_url
from gpt_trader_core.errors import ConfigurationError


class InvalidValueError(ValueError):
    """A refused value. ``detail`` reads well after the dotted key the loader prints.

    ``subkey`` points below the validated field (``market_data`` → ``path``); ``source_key`` names
    the setting whose origin explains the problem, when it is not the key itself.
    """

    def __init__(self, detail: str, *, key: str = "", subkey: str | None = None, source_key: str | None = None) -> None:
        super().__init__(f"{key}: {detail}" if key else detail)
        self.detail = detail
        self.subkey = subkey
        self.source_key = source_key


_Check = Callable[[Any], object]
_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def field_validator(check: _Check) -> _Validator:
    """An attrs validator from a check, naming the field when used outside the loader."""

    def validate(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        try:
            check(value)
        except InvalidValueError as exc:
            key = f"{attribute.name}.{exc.subkey}" if exc.subkey else attribute.name
            raise InvalidValueError(exc.detail, key=key, subkey=exc.subkey, source_key=exc.source_key) from None

    return validate


def expect_int(value: Any) -> int:
    # bool is an int subclass; a float (even 2.0) is refused rather than truncated.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValueError(f"expected an int, got {value!r}")
    return value


def expect_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidValueError(f"expected a finite number, got {value!r}")
    return float(value)


def expect_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"expected true or false, got {value!r}")
    return value


def expect_str(value: Any) -> str:
    if not isinstance(value, str):
        hint = " (quote it to make it text)" if isinstance(value, int | float) else ""
        raise InvalidValueError(f"expected a string, got {value!r}{hint}")
    return value


def expect_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):  # the value is not shown: it may be the secret itself
        raise InvalidValueError(f"expected a string, got a value of type {type(value).__name__} (quote it)")
    return Secret(value)


def int_in(low: int, high: int | None = None) -> _Validator:
    def check(value: Any) -> None:
        expect_int(value)
        if high is not None and not low <= value <= high:
            raise InvalidValueError(f"{value} is out of range {low}..{high}")
        if value < low:
            raise InvalidValueError(f"must be >= {low}, got {value}")

    return field_validator(check)


def number_in(low: float, high: float | None = None, *, low_open: bool = False) -> _Validator:
    """``[low, high)`` (``(low, ...`` when ``low_open``); ``high`` is open to match the core's checks."""

    def check(value: Any) -> None:
        expect_float(value)
        too_low = value <= low if low_open else value < low
        if too_low or (high is not None and value >= high):
            if high is None:
                raise InvalidValueError(f"must be {'>' if low_open else '>='} {low:g}, got {value!r}")
            raise InvalidValueError(f"must be in {'(' if low_open else '['}{low:g}, {high:g}), got {value!r}")

    return field_validator(check)


def one_of(choices: Any) -> _Validator:
    options: tuple[str, ...] = get_args(choices)

    def check(value: Any) -> None:
        if not isinstance(value, str) or value not in options:
            raise InvalidValueError(f"expected one of {', '.join(map(repr, options))}, got {value!r}")

    return field_validator(check)


def non_empty_text(value: Any) -> None:
    if not expect_str(value):
        raise InvalidValueError("must not be empty")


def optional_text(value: Any) -> None:
    if value is not None:
        non_empty_text(value)


def remote_url(value: Any) -> None:
    """Empty (run locally) or ``http(s)://host[:port]``."""
    text = expect_str(value)
    if text and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise InvalidValueError(f"expected http(s)://host:port (e.g. http://127.0.0.1:9000) or empty, got {text!r}")


def is_bool(value: Any) -> None:
    expect_bool(value)


def valid_origins(value: Any) -> None:
    if not isinstance(value, tuple):
        raise InvalidValueError(f"expected a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise InvalidValueError(f"expected a list of non-empty strings, got {list(value)!r}")


def valid_ttls(value: Any) -> None:
    if not isinstance(value, dict):
        raise InvalidValueError(f"expected a mapping of kind → seconds, got {value!r}")
    for kind, seconds in value.items():
        if not isinstance(kind, str) or not kind or ":" in kind:  # ':' separates parts of cache keys
            raise InvalidValueError(f"a cache kind must be a non-empty string without ':', got {kind!r}")
        try:
            expect_int(seconds)
        except InvalidValueError as exc:
            raise InvalidValueError(exc.detail, subkey=kind) from None
        if seconds < 0:
            raise InvalidValueError(f"must be >= 0 seconds (0 = no expiry), got {seconds}", subkey=kind)
    if "default" not in value:
        raise InvalidValueError("needs a 'default' entry (the TTL of the kinds not listed)")


def valid_secret(value: Any) -> None:
    if not isinstance(value, Secret):
        raise InvalidValueError("expected a Secret")


def valid_redis_url(value: Any) -> None:
    valid_secret(value)
    if not re.match(r"rediss?://", value.get_secret_value()):
        raise InvalidValueError("expected a redis:// or rediss:// URL")


#: The package each optional backend imports, and the extra that installs it.
_BACKEND_PACKAGES = {"redis": ("redis", "redis")}


def backend_installed(value: Any) -> None:
    """A backend whose package is missing is refused here, with the install command, rather than
    failing later with an ``ImportError`` deep inside an adapter."""
    package, extra = _BACKEND_PACKAGES.get(value, (None, None))
    if package is not None and importlib.util.find_spec(package) is None:
        raise InvalidValueError(f'{value!r} needs the {package} package: pip install "gpt-trader[{extra}]"')


def valid_state_url(value: Any) -> None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:.+", expect_str(value)):
        raise InvalidValueError(f"expected a URL such as sqlite:///~/state.db or sqlite::memory:, got {value!r}")
    _state_backend_known(value)


# -- the state store's backend, chosen by the URL's scheme (see entrypoints/container.py) -----------
_STATE_SCHEMES = {
    "sqlite": None,
    "memory": None,
    "postgresql": ("psycopg", "postgres"),
    "postgres": ("psycopg", "postgres"),
}


def _state_backend_known(url: str) -> None:
    scheme = url.split(":", 1)[0].lower()
    if scheme not in _STATE_SCHEMES:
        raise InvalidValueError(
            f"unknown state store {scheme!r} in {redact_url(url)!r}: use sqlite:///~/state.db, sqlite::memory:, "
            "memory:// or postgresql://user@host:5432/database"
        )
    needs = _STATE_SCHEMES[scheme]
    if needs is not None and importlib.util.find_spec(needs[0]) is None:
        raise InvalidValueError(f'{scheme}:// needs the {needs[0]} package: pip install "gpt-trader[{needs[1]}]"')


class InvalidSettingsError(ConfigurationError):
    """Every problem of a configuration, in one error; ``problems`` lists them one by one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = "invalid configuration" + (f" ({count} problems)" if count > 1 else "")
        super().__init__(f"{head}: {'; '.join(self.problems)}")
