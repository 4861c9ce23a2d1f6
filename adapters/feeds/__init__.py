"""Market feeds: a replay of historical bars and a deterministic synthetic live feed."""
