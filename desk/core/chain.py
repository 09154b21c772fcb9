"""Append-only hash chains and signed statements about them: the mechanics every chain shares.

A chain row stores `prev_digest` (the digest of the row before it, `GENESIS` for the first)
and `digest`, the SHA-256 of the canonical JSON of `[prev, field, …]`. Editing, deleting,
inserting or moving a row breaks a link, and `Verifier` finds it. A chain cut short at its end
breaks nothing: a signed statement of its head ("n rows up to id i, last digest d"), kept
elsewhere, shows it. Statements are compact JWS signed by the desk's keyring with their own
`typ`, so that one kind of statement can never be read as another.

Used by the deliveries' trails (desk.requests.audit), the desk's own audit log and its
checkpoints (desk.audit), and the receipts' tree heads (desk.receipts.log). The digest format
is the one already stored: changing it would break every row written so far.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from joserfc import jws
from joserfc.jwk import ECKey

GENESIS = "0" * 64
# Why a row fails: it does not follow the row before it, or its content changed.
LINK = "link"
CONTENT = "content"


def moment(at: datetime) -> int:
    """Microseconds since the epoch: the same on SQLite and PostgreSQL, whatever the tz object."""
    return round(at.timestamp() * 1_000_000)


def canonical_json(value: object) -> str:
    """The JSON a chain row's digest covers: sorted keys, no spaces, UTF-8 text kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_digest(prev: str, *fields: object) -> str:
    """SHA-256 (hex) of the canonical JSON of `[prev, *fields]`: a chain row's digest."""
    return hashlib.sha256(canonical_json([prev, *fields]).encode("utf-8")).hexdigest()


class Row(Protocol):
    """What the verifier reads of a chain row (int id, str-or-None digests).

    Typed Any: ORM models declare these as field descriptors, not as plain attributes.
    """

    @property
    def id(self) -> Any: ...

    @property
    def prev_digest(self) -> Any: ...

    @property
    def digest(self) -> Any: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class ChainHead:
    """Where a chain ends: rows, last id, last digest (GENESIS when empty)."""

    count: int
    last_id: int
    last_digest: str


class Verifier(Generic[R]):
    """Follows one chain, or many interleaved ones (`chain_of`), row by row in id order."""

    def __init__(
        self,
        content_ok: Callable[[R], bool],
        chain_of: Callable[[R], Hashable] = lambda row: None,
    ) -> None:
        self._content_ok = content_ok
        self._chain_of = chain_of
        self.heads: dict[Hashable, ChainHead] = {}

    def check(self, row: R) -> list[str]:
        """The breaks of this row (`LINK`, `CONTENT`), in that order; the chain moves on."""
        chain = self._chain_of(row)
        head = self.heads.get(chain, ChainHead(0, 0, GENESIS))
        breaks = []
        if row.prev_digest != head.last_digest:
            breaks.append(LINK)
        if not self._content_ok(row):
            breaks.append(CONTENT)
        self.heads[chain] = ChainHead(head.count + 1, int(row.id), str(row.digest or ""))
        return breaks

    def head(self, chain: Hashable = None) -> ChainHead:
        return self.heads.get(chain, ChainHead(0, 0, GENESIS))


async def rows_by_id(
    page: Callable[[int, int], Awaitable[list[R]]], *, batch: int
) -> AsyncIterator[R]:
    """Every row in id order, `batch` at a time: `page(after_id, batch)` reads one batch."""
    after = 0
    while True:
        rows = await page(after, batch)
        if not rows:
            return
        for row in rows:
            yield row
        after = int(rows[-1].id)


# --- Signed statements about a chain (checkpoints, tree heads) ------------------------------------


class Signer(Protocol):
    """The desk's keyring (desk.receipts.keys.Keyring) as the floor sees it."""

    def sign(self, payload: bytes, *, typ: str) -> str: ...


class StatementError(ValueError):
    """A statement that cannot be trusted; `reason` is NOT_OURS, UNKNOWN_KEY or BAD_SIGNATURE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_OURS = "not_ours"
UNKNOWN_KEY = "unknown_key"
BAD_SIGNATURE = "bad_signature"


def sign_statement(
    signer: Signer, payload: dict[str, Any], *, typ: str, ensure_ascii: bool = False
) -> str:
    """The payload as compact JSON, signed as a compact JWS whose header names `typ`."""
    body = json.dumps(payload, ensure_ascii=ensure_ascii, separators=(",", ":")).encode("utf-8")
    return signer.sign(body, typ=typ)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def read_statement(
    token: object, *, typ: str, find_key: Callable[[Any], ECKey | None], algorithm: str
) -> dict[str, Any]:
    """The payload of a statement of type `typ`, its signature checked; else StatementError.

    `find_key(kid)` gives the public key the header names, or None: only public keys are
    needed, so this is also the offline check.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        raise StatementError(NOT_OURS)
    try:
        header = json.loads(_b64decode(token.split(".")[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise StatementError(NOT_OURS) from exc
    if not isinstance(header, dict) or header.get("typ") != typ:
        raise StatementError(NOT_OURS)
    try:
        key = find_key(header.get("kid"))
    except Exception as exc:  # noqa: BLE001 — a published key that does not load verifies nothing
        raise StatementError(BAD_SIGNATURE) from exc
    if key is None:
        raise StatementError(UNKNOWN_KEY)
    try:
        payload = json.loads(jws.deserialize_compact(token, key, algorithms=[algorithm]).payload)
    except Exception as exc:  # noqa: BLE001 — any failure means "not a valid signature"
        raise StatementError(BAD_SIGNATURE) from exc
    if not isinstance(payload, dict):
        raise StatementError(NOT_OURS)
    return payload
