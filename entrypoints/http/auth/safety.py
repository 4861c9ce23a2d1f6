"""Safe defaults: auth may be off only on a loopback bind; the first start says how to add an admin."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from gpt_trader_core.errors import ConfigurationError

log = logging.getLogger("gpt_trader.security")

FIRST_ADMIN_HINT = (
    "no users yet: nobody can log in. Create the first admin with "
    "`gpt-trader users add NAME --role admin` (or an API key with `gpt-trader keys create --name N --role admin`)"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def check_bind(host: str, *, auth_enabled: bool) -> None:
    """Refuse serving without auth on a non-loopback interface; warn when auth is off on loopback."""
    if auth_enabled:
        return
    if not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve on {host} with api.auth.enabled false: anyone who can reach this address "
            "could trade. Turn auth on (the default), or bind 127.0.0.1 for local use"
        )
    log.warning("security_event=auth_disabled host=%s: every request acts as the local admin", host)


async def announce_first_start(auth: Any) -> None:
    """Log how to create the first admin when there is no user and no API key yet."""
    if not await auth.list_users() and not await auth.list_keys():
        log.warning(FIRST_ADMIN_HINT)
