"""Short-lived bearer tokens for the partner API: a JWT (HS256) scoped to one signatory.

Each token names the client secret it was issued with (`cs`, the ClientSecret id, never the
secret): the API checks that secret is still active on every call, so revoking it (or the client,
or excluding the signatory) closes the tokens already issued at once."""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

AUDIENCE = "desk-partner-api"
LIFETIME = 900  # seconds
SCOPE = "deliveries holdings lineage"


@dataclass(frozen=True)
class PartnerPrincipal:
    client_id: str
    signatory_id: int
    scope: frozenset[str]
    secret_id: int


class InvalidToken(Exception):
    pass


@functools.lru_cache(maxsize=4)
def _key(secret_key: str) -> OctKey:
    # Derived once per secret key, not at every API call.
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"desk.partner-tokens", info=b"hs256"
    ).derive(secret_key.encode())
    return OctKey.import_key(derived)


def issue(
    *, secret_key: str, issuer: str, client_id: str, signatory_id: int, secret_id: int
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": client_id,
        "sig": signatory_id,
        "cs": secret_id,
        "scope": SCOPE,
        "iat": now,
        "exp": now + LIFETIME,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims, _key(secret_key))


def verify(*, secret_key: str, issuer: str, token: str) -> PartnerPrincipal:
    try:
        decoded = jwt.decode(token, _key(secret_key), algorithms=["HS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
    claims = decoded.claims
    if not isinstance(claims.get("sig"), int):
        raise InvalidToken("no signatory")
    # Tokens from before `cs` existed cannot be checked against their secret: refused.
    secret_id = claims.get("cs")
    if not isinstance(secret_id, int) or isinstance(secret_id, bool):
        raise InvalidToken("no client secret")
    return PartnerPrincipal(
        client_id=str(claims["sub"]),
        signatory_id=int(claims["sig"]),
        scope=frozenset(str(claims.get("scope", "")).split()),
        secret_id=secret_id,
    )
