"""Cache adapters: the ``Cache`` port on aiocache (memory or Redis)."""

from adapters.cache.aiocache_cache import AiocacheCache

__all__ = ["AiocacheCache"]
