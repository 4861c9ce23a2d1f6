"""``gpt-trader portfolio``: positions, performance, risk, rebalancing and position sizing."""
