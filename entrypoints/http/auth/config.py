"""What the HTTP auth layer needs from the settings, in one value (read once per app)."""

from __future__ import annotations

from typing import Any

import attrs

from gpt_trader_core.domain.auth import AuthPolicy

#: Endpoint classes and their default limits (``limits`` notation): logins strict, reads generous,
#: writes moderate, heavy POSTs (backtests, optimisations, workflows) tight.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "login": "10/minute",
    "read": "600/minute",
    "write": "120/minute",
    "heavy": "20/minute",
}


@attrs.frozen
class HttpAuthConfig:
    """``enabled``: auth on; ``cors_origins``: the browser origins allowed (``*`` for any);
    ``rate_limits``: endpoint class → limit; ``redis_url``: shared rate-limit counters when set;
    ``tls``: the server speaks HTTPS (adds Strict-Transport-Security)."""

    enabled: bool = True
    cors_origins: tuple[str, ...] = ()
    rate_limits_enabled: bool = True
    rate_limits: dict[str, str] = attrs.field(factory=lambda: dict(DEFAULT_RATE_LIMITS))
    redis_url: str | None = None
    tls: bool = False


def _secret_text(value: Any) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def config_from_settings(settings: Any) -> HttpAuthConfig:
    api = settings.api
    return HttpAuthConfig(
        enabled=bool(api.auth.enabled),
        cors_origins=tuple(api.cors_origins),
        redis_url=_secret_text(settings.cache.redis_url) if settings.cache.backend == "redis" else None,
    )


def policy_from_settings(settings: Any) -> AuthPolicy:
    auth = settings.api.auth
    return AuthPolicy(access_ttl=int(auth.access_token_ttl), refresh_ttl=int(auth.refresh_token_ttl))
