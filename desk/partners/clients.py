"""Partner API credentials: OAuth2 clients, their hashed secrets (two at once for rotation),
and each signatory's hashing key for holdings and lineage events."""

from __future__ import annotations

import asyncio
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock, crypto
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.db_rows import placeholder
from desk.partners.models import ClientSecret, PartnerClient
from desk.registry.models import CharterStatus, Signatory

MAX_ACTIVE_SECRETS = 2
LABEL_MAX = 200
MSG_LABEL = N_(
    "Donnez un nom à ce client (le logiciel qui l'utilise, par exemple « Logiciel de gestion "
    "des abonnés »), 200 caractères au plus."
)
MSG_NO_CLIENT = N_("Ce client n'existe pas, ou il est déjà révoqué.")


@dataclass(frozen=True)
class NewCredential:
    client_id: str
    client_secret: str  # shown once, never stored in clear
    signatory_slug: str


@dataclass(frozen=True)
class Authenticated:
    """Who a token is issued to, and with which secret (checked again on every API call)."""

    client_id: str
    signatory_id: int
    secret_id: int


@dataclass(frozen=True)
class ClientView:
    """A client as its signatory's space lists it: never a secret, only their first letters."""

    client_id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    active_prefixes: list[str]


class UnknownSignatory(LookupError):
    pass


def clean_label(raw: str) -> str:
    """A client's name as typed in the space: required, one line, 200 characters at most."""
    label = " ".join((raw or "").split())
    if not label or len(label) > LABEL_MAX:
        raise DeskError(MSG_LABEL)
    return label


async def list_clients(*, signatory_id: int) -> list[ClientView]:
    clients = await PartnerClient.filter(signatory_id=signatory_id).order_by("-created_at", "-id")
    active: dict[int, list[str]] = {}
    for secret in await ClientSecret.filter(
        client__signatory_id=signatory_id, revoked_at=None
    ).order_by("created_at", "id"):
        active.setdefault(secret.client_id, []).append(secret.prefix)  # type: ignore[attr-defined]
    return [
        ClientView(
            client_id=c.client_id,
            label=c.label,
            created_at=c.created_at,
            last_used_at=c.last_used_at,
            revoked_at=c.revoked_at,
            active_prefixes=active.get(c.id, []) if c.revoked_at is None else [],
        )
        for c in clients
    ]


async def revoke_client(*, client_id: str, signatory_id: int, actor: str) -> None:
    """Close a client for good: its secrets and every token issued with them stop working."""
    async with in_transaction() as conn:
        client = (
            await PartnerClient.filter(
                client_id=client_id, signatory_id=signatory_id, revoked_at=None
            )
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if client is None:
            raise DeskError(MSG_NO_CLIENT, code="not_found")
        now = clock.now()
        await PartnerClient.filter(id=client.id).using_db(conn).update(revoked_at=now)
        await (
            ClientSecret.filter(client_id=client.id, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=now)
        )
        await record_action(
            action="partner.client_revoked",
            actor=actor,
            subject=f"client:{client.client_id}",
            detail={"signatory": signatory_id},
            connection=conn,
        )


async def create_client(*, slug: str, label: str = "", actor: str = "system") -> NewCredential:
    signatory = await Signatory.get_or_none(slug=slug)
    if signatory is None:
        raise UnknownSignatory(slug)
    client_id = f"{slug}-{secrets.token_hex(6)}"
    secret, secret_hash = await _new_secret()
    async with in_transaction() as conn:
        client = await PartnerClient.create(
            client_id=client_id, signatory=signatory, label=label, using_db=conn
        )
        await ClientSecret.create(
            client=client,
            secret_hash=secret_hash,
            prefix=secret[:8],
            using_db=conn,
        )
        await record_action(
            action="partner.client_created",
            actor=actor,
            subject=f"client:{client_id}",
            detail={"signatory": signatory.id, "secret_prefix": secret[:8]},
            connection=conn,
        )
    return NewCredential(client_id=client_id, client_secret=secret, signatory_slug=slug)


async def rotate_secret(
    *, client_id: str, signatory_id: int | None = None, actor: str = "system"
) -> NewCredential:
    """Add a secret; the oldest is revoked when two are already active. With `signatory_id`
    (the signatory's own space), only one of its own clients."""
    client = await PartnerClient.get_or_none(client_id=client_id, revoked_at=None).prefetch_related(
        "signatory"
    )
    if client is None or (signatory_id is not None and client.signatory.id != signatory_id):
        raise LookupError(client_id)
    secret, secret_hash = await _new_secret()
    async with in_transaction() as conn:
        active = (
            await ClientSecret.filter(client=client, revoked_at=None)
            .using_db(conn)
            .order_by("created_at", "id")
        )
        retired = active[: max(0, len(active) - MAX_ACTIVE_SECRETS + 1)]
        for old in retired:
            old.revoked_at = clock.now()
            await old.save(using_db=conn, update_fields=["revoked_at"])
        await ClientSecret.create(
            client=client,
            secret_hash=secret_hash,
            prefix=secret[:8],
            using_db=conn,
        )
        # Prefixes only: enough to tell secrets apart, useless to log in.
        await record_action(
            action="partner.secret_rotated",
            actor=actor,
            subject=f"client:{client.client_id}",
            detail={"secret_prefix": secret[:8], "revoked": [o.prefix for o in retired]},
            connection=conn,
        )
    return NewCredential(
        client_id=client.client_id, client_secret=secret, signatory_slug=client.signatory.slug
    )


async def revoke_secret(
    *, client_id: str, prefix: str, signatory_id: int | None = None, actor: str = "system"
) -> bool:
    async with in_transaction() as conn:
        found = ClientSecret.filter(client__client_id=client_id, prefix=prefix, revoked_at=None)
        if signatory_id is not None:
            found = found.filter(client__signatory_id=signatory_id)
        ids = await found.using_db(conn).values_list("id", flat=True)
        updated = (
            await ClientSecret.filter(id__in=list(ids))
            .using_db(conn)
            .update(revoked_at=clock.now())
            if ids
            else 0
        )
        if updated:
            await record_action(
                action="partner.secret_revoked",
                actor=actor,
                subject=f"client:{client_id}",
                detail={"secret_prefix": prefix},
                connection=conn,
            )
    return bool(updated)


async def authenticate(*, client_id: str, client_secret: str) -> Authenticated | None:
    """The client and the secret that matched, if that secret is active and the signatory may
    answer (`secret_still_active` applies the same rule to tokens already issued)."""
    client = await PartnerClient.get_or_none(client_id=client_id, revoked_at=None).prefetch_related(
        "signatory"
    )
    # The same queries and the same number of scrypt runs whatever the answer (unknown client,
    # excluded signatory, one or two active secrets, right or wrong secret): the time taken
    # tells nothing about which client ids exist or how many secrets they have.
    stored = await ClientSecret.filter(client_id=client.id if client else 0, revoked_at=None)
    hashes: list[str | None] = [s.secret_hash for s in stored]
    hashes += [None] * max(0, MAX_ACTIVE_SECRETS - len(hashes))
    # Off the event loop (hashlib's scrypt releases the GIL): a run takes about 37 ms, and
    # every request of the process, residents' pages included, waited for both.
    matches = await asyncio.to_thread(_matches, client_secret, hashes)
    matched = next((stored[n] for n, ok in enumerate(matches[: len(stored)]) if ok), None)
    if client is None or matched is None:
        return None
    if client.signatory.charter_status == CharterStatus.EXCLUDED:
        return None
    await PartnerClient.filter(id=client.id).update(last_used_at=clock.now())
    return Authenticated(
        client_id=client.client_id, signatory_id=client.signatory.id, secret_id=matched.id
    )


def _matches(secret: str, hashes: list[str | None]) -> list[bool]:
    """Whether `secret` matches each hash, every hash checked whatever the first ones say; an
    empty slot (None) is checked against a stand-in of the same cost, and never matches."""
    return [crypto.check_secret(secret, h or _stand_in()) and h is not None for h in hashes]


@functools.cache
def _stand_in() -> str:
    """The hash an empty slot is checked against, made at first use in the checking thread:
    made at import, its 37 ms of scrypt were paid by every process and command at start-up."""
    return crypto.hash_secret("not-a-real-secret")


async def secret_still_active(*, secret_id: int, client_id: str, signatory_id: int) -> bool:
    """Whether a token issued with this secret may still be used: the secret and its client not
    revoked, the signatory not excluded. One query, joined on primary keys, written by hand:
    built by the query set at every API call, it was a sixth of an answer's time
    (bench/concurrent_load.py --mode e2e)."""
    db = ClientSecret._meta.db
    p = [placeholder(db, n) for n in range(1, 5)]
    sql = (
        f'SELECT 1 FROM "{ClientSecret._meta.db_table}" s '
        f'JOIN "{PartnerClient._meta.db_table}" c ON c."id" = s."client_id" '
        f'JOIN "{Signatory._meta.db_table}" g ON g."id" = c."signatory_id" '
        f'WHERE s."id" = {p[0]} AND s."revoked_at" IS NULL AND c."client_id" = {p[1]} '
        f'AND c."revoked_at" IS NULL AND c."signatory_id" = {p[2]} '
        f'AND g."charter_status" <> {p[3]} LIMIT 1'
    )
    values = [secret_id, client_id, signatory_id, CharterStatus.EXCLUDED.value]
    _, rows = await db.execute_query(sql, values)
    return bool(rows)


async def hashing_key(*, signatory: Signatory, secret_key: str, create: bool = True) -> str | None:
    """The signatory's key for keyed hashes of identifiers, created on first use."""
    if signatory.hashing_key:
        return crypto.decrypt(secret_key, signatory.hashing_key)
    if not create:
        return None
    key = secrets.token_urlsafe(32)
    signatory.hashing_key = crypto.encrypt(secret_key, key)
    await signatory.save(update_fields=["hashing_key"])
    return key


async def _new_secret() -> tuple[str, str]:
    """A new client secret and its hash, made off the event loop (scrypt takes about 37 ms) and
    before the caller's transaction opens (on SQLite it held the write lock meanwhile)."""
    secret = "dsk_" + secrets.token_urlsafe(32)
    return secret, await asyncio.to_thread(crypto.hash_secret, secret)
