"""``gpt-trader cache ...``."""
