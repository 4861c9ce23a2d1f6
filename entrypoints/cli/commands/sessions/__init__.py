"""``gpt-trader sessions ...``."""
