"""Event buses: in-memory (one process) and, for scale-out, Redis."""
