"""System probes: machine and process utilisation (Linux /proc, with a stdlib fallback elsewhere)."""
