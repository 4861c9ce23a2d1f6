"""Drivers: CLI, HTTP/WebSocket server and the composition root."""
