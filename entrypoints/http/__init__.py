"""The Sanic HTTP and WebSocket drivers."""
