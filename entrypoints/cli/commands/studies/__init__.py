"""``gpt-trader studies …``: stored optimisation studies."""
