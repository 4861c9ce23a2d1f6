"""A client of our own server behind the same use-case interfaces: ``gpt-trader --remote URL``.

``RemoteClient`` speaks JSON over HTTP (keep-alive, credentials, errors mapped once);
``adapters.remote.services`` answers the use cases the CLI calls through it (imported on first use);
``CredentialsFile`` keeps the logins of ``gpt-trader login`` (0600).
"""

from adapters.remote.client import RemoteClient
from adapters.remote.credentials import API_KEY_ENV, CredentialsFile, StoredLogin, normalise_url
from adapters.remote.errors import RemoteError, RemoteRefusedError, RemoteUnreachableError

__all__ = [
    "API_KEY_ENV",
    "CredentialsFile",
    "RemoteClient",
    "RemoteError",
    "RemoteRefusedError",
    "RemoteUnreachableError",
    "StoredLogin",
    "normalise_url",
]
