"""``gpt-trader users add|list|remove|passwd``: the people who log in to the HTTP API."""
