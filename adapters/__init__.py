"""Adapters: implementations of the core's ports (market data, cache, state, bus, broker, executor)."""
