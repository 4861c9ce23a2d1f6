"""``gpt-trader keys create|list|revoke``: API keys for programs (sent as X-API-Key)."""
