"""One command class per module."""
