"""``TokenCodec`` with pyjwt: HMAC-signed JWTs whose every claim is required and checked.

What pyjwt does not do by itself and this adapter adds (see shared/INTERFACES.md): ``exp``, ``nbf``,
``iat``, ``sub``, ``jti``, ``iss``, ``aud`` and our ``typ`` claim are all *required*; the token type
must be the expected one (an access token is never a refresh token); the header's ``alg`` must be
exactly the configured HMAC algorithm (so ``none`` and RS/HS confusion never reach a verifier); the
``kid`` must name one of the known keys (current, and the previous one kept during a rotation) and is
never used to look anything else up; tokens above ``max_bytes`` are refused before parsing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

import attrs
import jwt

from gpt_trader_core.domain.auth import AuthenticationError, TokenClaims
from gpt_trader_core.errors import ConfigurationError

REQUIRED = ("exp", "nbf", "iat", "sub", "jti", "iss", "aud", "typ")
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
MIN_SECRET_BYTES = 32


@attrs.frozen
class SigningKey:
    """An HMAC secret and its key id (derived from the secret: no id to configure or leak)."""

    secret: str = attrs.field(repr=False)
    kid: str = attrs.field(init=False)

    @kid.default
    def _kid(self) -> str:
        return hashlib.sha256(b"gpt-trader kid:" + self.secret.encode()).hexdigest()[:16]

    def __attrs_post_init__(self) -> None:
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"api.auth.jwt_secret must be at least {MIN_SECRET_BYTES} bytes: leave it empty to have one generated"
            )


def _ts(value: dt.datetime) -> int:
    return int(value.replace(tzinfo=dt.UTC).timestamp())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _dt(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)


class JwtTokenCodec:
    """Signs with ``keys[0]``; verifies with any of ``keys`` chosen by the header's ``kid``."""

    def __init__(
        self,
        keys: Sequence[SigningKey],
        *,
        algorithm: str = "HS256",
        issuer: str = "gpt-trader",
        audience: str = "gpt-trader-api",
        leeway: float = 5.0,
        max_bytes: int = 4096,
    ) -> None:
        if not keys:
            raise ConfigurationError("the token codec needs at least one signing key")
        if algorithm not in HMAC_ALGORITHMS:
            raise ConfigurationError(f"api.auth.jwt_algorithm must be one of {', '.join(HMAC_ALGORITHMS)}")
        self._current = keys[0]
        self._keys = {key.kid: key for key in keys}
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._max_bytes = max_bytes
        # Access tokens already verified → their claims: a client sends the same token on every request
        # for 15 minutes, so the signature and claim checks run once per token, not per request. Only
        # the expiry is re-checked; the cache is bounded and holds nothing a forged token could reach.
        self._verified: dict[str, TokenClaims] = {}
        self._verified_max = 10_000

    def __repr__(self) -> str:
        return f"JwtTokenCodec({self._algorithm}, kids={list(self._keys)}, iss={self._issuer!r})"

    def encode(self, claims: TokenClaims) -> str:
        payload: dict[str, object] = {
            "sub": claims.subject,
            "typ": claims.type,
            "jti": claims.jti,
            "iat": _ts(claims.issued_at),
            "nbf": _ts(claims.issued_at),
            "exp": _ts(claims.expires_at),
            "iss": self._issuer,
            "aud": self._audience,
        }
        if claims.family is not None:
            payload["fam"] = claims.family
        return jwt.encode(
            payload, self._current.secret, algorithm=self._algorithm, headers={"kid": self._current.kid, "typ": "JWT"}
        )

    def decode(self, token: str, expected_type: str) -> TokenClaims:
        cached = self._verified.get(token) if isinstance(token, str) else None
        if cached is not None and cached.type == expected_type:
            if _now() < cached.expires_at + dt.timedelta(seconds=self._leeway):
                return cached
            del self._verified[token]
        claims = self._decode(token, expected_type)
        if expected_type == "access":
            if len(self._verified) >= self._verified_max:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _decode(self, token: str, expected_type: str) -> TokenClaims:
        if not isinstance(token, str) or not token:
            raise AuthenticationError("missing token")
        if len(token) > self._max_bytes:
            raise AuthenticationError(f"token longer than {self._max_bytes} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("malformed token") from None
        if header.get("alg") != self._algorithm:
            raise AuthenticationError(f"token algorithm must be {self._algorithm}")
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None or not hmac.compare_digest(key.kid, str(kid)):
            raise AuthenticationError("token signed with an unknown key")
        try:
            payload = jwt.decode(
                token,
                key.secret,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED), "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("token not valid yet") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("token for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("token from another issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("bad token signature") from None
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token") from None
        if payload.get("typ") != expected_type:
            raise AuthenticationError(f"expected a{'n' if expected_type[0] in 'aeiou' else ''} {expected_type} token")
        sub, jti, fam = payload.get("sub"), payload.get("jti"), payload.get("fam")
        if not isinstance(sub, str) or not sub or not isinstance(jti, str) or not jti:
            raise AuthenticationError("invalid token subject or id")
        if fam is not None and not isinstance(fam, str):
            raise AuthenticationError("invalid token family")
        return TokenClaims(sub, expected_type, jti, _dt(payload["iat"]), _dt(payload["exp"]), fam)
