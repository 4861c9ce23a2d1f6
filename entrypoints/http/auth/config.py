"""What the HTTP auth layer needs from the settings, in one value (read once per app)."""

from __future__ import annotations

from typing import Any

import attrs


def _limits_of(rates: Any) -> dict[str, str]:
    """Endpoint class → limit: logins strict, reads generous, writes moderate, heavy POSTs tight."""
    return {"login": rates.login, "read": rates.read, "write": rates.write, "heavy": rates.heavy}


def _default_limits() -> dict[str, str]:
    from entrypoints.settings.schema import RateLimitSettings

    return _limits_of(RateLimitSettings())


@attrs.frozen
class HttpAuthConfig:
    """``enabled``: auth on; ``cors_origins``: the browser origins allowed (``*`` for any);
    ``rate_limits``: endpoint class → limit; ``redis_url``: shared rate-limit counters when set;
    ``tls``: the server speaks HTTPS (adds Strict-Transport-Security)."""

    enabled: bool = True
    cors_origins: tuple[str, ...] = ()
    rate_limits_enabled: bool = True
    rate_limits: dict[str, str] = attrs.field(factory=_default_limits)
    redis_url: str | None = None
    tls: bool = False


def _secret_text(value: Any) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _shared_redis(settings: Any) -> str | None:
    """The Redis every worker shares (the cache's, else the event bus's): rate-limit counters live there."""
    if settings.cache.backend == "redis":
        return _secret_text(settings.cache.redis_url)
    if settings.bus.backend == "redis":
        return _secret_text(settings.bus.redis_url)
    return None


def config_from_settings(settings: Any) -> HttpAuthConfig:
    api = settings.api
    rates = api.rate_limits
    return HttpAuthConfig(
        enabled=bool(api.auth.enabled),
        cors_origins=tuple(api.cors_origins),
        rate_limits_enabled=bool(rates.enabled),
        rate_limits=_limits_of(rates),
        redis_url=_shared_redis(settings),
        tls=api.tls.cert_file is not None,
    )
