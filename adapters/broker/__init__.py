"""Brokers: the simulated broker (paper trading); real brokers are later adapters."""
