"""The desk's receipt signing key: created once, kept in the data directory, published as JWKS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey, KeySet

ALGORITHM = "ES256"


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

    def sign(self, payload: bytes) -> str:
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": "desk-receipt+jws"}
        return jws.serialize_compact(header, payload, self.signing_key, algorithms=[ALGORITHM])
