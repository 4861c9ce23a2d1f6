"""``gpt-trader config ...``."""
