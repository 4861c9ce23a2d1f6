"""Security adapters: Argon2id password hashing, pyjwt bearer tokens, the signing-secret file."""

from adapters.security.argon2_hasher import Argon2Hasher
from adapters.security.jwt_codec import JwtTokenCodec, SigningKey
from adapters.security.secret_file import load_or_create_secret

__all__ = ["Argon2Hasher", "JwtTokenCodec", "SigningKey", "load_or_create_secret"]
