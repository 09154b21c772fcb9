"""The desk's receipt signing key: created once, kept in the data directory, published as JWKS."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"
RECEIPT_TYPE = "desk-receipt+jws"
# The order of P-256's group: (r, s) and (r, n - s) are both valid ECDSA signatures.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def low_s(token: str) -> str:
    """The same compact ES256 JWS with s in the lower half of the group order.

    ECDSA lets anyone turn a signature (r, s) into a second valid one, (r, n - s). Issuing only
    the low form gives each statement one canonical token; verification still finds a
    re-encoded one by what was signed (see signing_input).
    """
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    r, s = raw[:32], int.from_bytes(raw[32:], "big")
    if s <= P256_ORDER // 2:
        return token
    return f"{head}.{payload}.{_b64(r + (P256_ORDER - s).to_bytes(32, 'big'))}"


def signing_input(token: str) -> bytes:
    """What a compact JWS signs: "header.payload", the same whatever encodes the signature."""
    return token.rsplit(".", 1)[0].encode("ascii")


class Keyring:
    def __init__(self, signing_key: ECKey, published: list[ECKey]) -> None:
        self.signing_key = signing_key
        # Every key ever used stays published, so old receipts keep verifying after a rotation.
        self.published = published

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Keyring:
        path = data_dir / "receipt-keys.json"
        if path.exists():
            keys = [ECKey.import_key(k) for k in json.loads(path.read_text())["keys"]]
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            keys = [cls._new_key()]
            path.write_text(json.dumps({"keys": [k.as_dict(private=True) for k in keys]}))
            path.chmod(0o600)
        return cls(signing_key=keys[-1], published=keys)

    @staticmethod
    def _new_key() -> ECKey:
        key = ECKey.generate_key(
            "P-256", parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True
        )
        return key

    @property
    def kid(self) -> str:
        return str(self.signing_key.kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in self.published]}

    def key_set(self) -> KeySet:
        return KeySet.import_key_set(self.jwks())  # type: ignore[arg-type]

    def sign(self, payload: bytes, *, typ: str = RECEIPT_TYPE) -> str:
        """A compact ES256 JWS of `payload`, low-s (every signer of the desk goes through here)."""
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": typ}
        token = jws.serialize_compact(header, payload, self.signing_key, algorithms=[ALGORITHM])
        return low_s(token)
