"""Use cases: small classes that compose slices with ports; every driver calls these."""
