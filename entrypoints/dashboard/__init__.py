"""The web dashboard: static files (no build step) and the routes that serve them (``server``)."""
