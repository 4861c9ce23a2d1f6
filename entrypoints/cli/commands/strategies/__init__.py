"""``gpt-trader strategies``: the catalogue, recommendations and comparisons."""
