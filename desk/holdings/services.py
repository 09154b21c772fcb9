"""Holdings and lineage stored, and shown to the resident they are about.

Keyword-only services, no HTTP objects: the API routes are in desk/holdings/api.py.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from desk.core import clock, crypto
from desk.core.translatable import N_
from desk.holdings import hashing
from desk.holdings.models import Holding, LineageEvent
from desk.holdings.rules import (
    LINEAGE_SHOWN,
    MAX_GROUPED_UPDATES,
    EventItem,
    HoldingItem,
    HoldingsResult,
    PayloadRefused,
    chunks,
)
from desk.partners import clients
from desk.registry.models import Declaration, Signatory
from desk.residents.models import Resident

log = logging.getLogger("desk.holdings.api")

# --- services -----------------------------------------------------------------------------------


async def signatory_hashing_key(*, signatory_id: int, secret_key: str) -> str:
    """The signatory's hashing key, created on first use.

    Created with a conditional write: if two clients of one signatory ask at the same moment,
    both get the key that was stored, never one that was overwritten.
    """
    signatory = await Signatory.get(id=signatory_id)
    existing = await clients.hashing_key(signatory=signatory, secret_key=secret_key, create=False)
    if existing is not None:
        return existing
    key = secrets.token_urlsafe(32)
    stored = await Signatory.filter(id=signatory_id, hashing_key="").update(
        hashing_key=crypto.encrypt(secret_key, key)
    )
    if stored:
        log.info("hashing key created for signatory %s", signatory_id)
        return key
    signatory = await Signatory.get(id=signatory_id)
    created = await clients.hashing_key(signatory=signatory, secret_key=secret_key, create=False)
    assert created is not None
    return created


async def _check_declarations(signatory_id: int, items: list[HoldingItem]) -> None:
    wanted = {code for item in items for code in item.declarations}
    if not wanted:
        return
    known = set(await Declaration.filter(signatory_id=signatory_id).values_list("code", flat=True))
    unknown = sorted(wanted - known)
    if unknown:
        names = ", ".join(f"« {code} »" for code in unknown[:5])
        more = f" (et {len(unknown) - 5} autres)" if len(unknown) > 5 else ""
        raise PayloadRefused(
            f"Code de traitement inconnu pour votre organisme : {names}{more}. Utilisez les "
            "codes de vos traitements tels que publiés dans le registre des signataires."
        )


async def _save_changes(changed: list[Holding], *, now: datetime, conn: BaseDBAsyncClient) -> None:
    """Write changed holdings: one UPDATE per distinct (kind, declarations) when they are few,
    as they usually are (a partner has a handful of processing activities); row by row in
    batches otherwise."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for row in changed:
        groups.setdefault((row.identifier_kind, tuple(row.declarations)), []).append(row.id)
    if len(groups) > MAX_GROUPED_UPDATES:
        await Holding.bulk_update(
            changed,
            fields=["identifier_kind", "declarations", "updated_at"],
            batch_size=500,
            using_db=conn,
        )
        return
    for (kind, declarations), ids in groups.items():
        for some in chunks(ids):
            await (
                Holding.filter(id__in=list(some))
                .using_db(conn)
                .update(identifier_kind=kind, declarations=list(declarations), updated_at=now)
            )


async def declare_holdings(
    *, signatory_id: int, items: list[HoldingItem], replace: bool
) -> HoldingsResult:
    """Upsert these holdings; with `replace`, also delete the signatory's holdings not listed.

    Each item is the whole truth about that person: its declarations replace the stored ones.
    Everything happens in one transaction, so the dashboard never shows half a set.
    """
    await _check_declarations(signatory_id, items)
    wanted = {item.subject_hash: item for item in items}
    now = clock.now()
    removed = 0
    try:
        async with in_transaction() as conn:
            existing: dict[str, Holding] = {}
            if replace:
                rows = await Holding.filter(signatory_id=signatory_id).using_db(conn)
                existing = {h.subject_hash: h for h in rows}
                stale = [h.id for h in rows if h.subject_hash not in wanted]
                for ids in chunks(stale):
                    await Holding.filter(id__in=list(ids)).using_db(conn).delete()
                removed = len(stale)
            else:
                for some in chunks(list(wanted)):
                    for h in await Holding.filter(
                        signatory_id=signatory_id, subject_hash__in=list(some)
                    ).using_db(conn):
                        existing[h.subject_hash] = h
            created: list[Holding] = []
            changed: list[Holding] = []
            for item in items:
                row = existing.get(item.subject_hash)
                if row is None:
                    created.append(
                        Holding(
                            signatory_id=signatory_id,
                            subject_hash=item.subject_hash,
                            identifier_kind=item.kind,
                            declarations=list(item.declarations),
                        )
                    )
                elif row.identifier_kind != item.kind or list(row.declarations) != list(
                    item.declarations
                ):
                    row.identifier_kind = item.kind
                    row.declarations = list(item.declarations)
                    row.updated_at = now
                    changed.append(row)
            if created:
                await Holding.bulk_create(created, batch_size=500, using_db=conn)
            await _save_changes(changed, now=now, conn=conn)
    except IntegrityError as exc:
        # Another push for the same signatory committed the same person meanwhile.
        raise PayloadRefused(
            N_("Un autre envoi de vos détentions est en cours : réessayez dans un instant."),
            status=409,
        ) from exc
    log.info("holdings of signatory %s: %s declared, %s removed", signatory_id, len(items), removed)
    return HoldingsResult(count=len(items), removed=removed)


async def record_lineage(*, signatory_id: int, events: list[EventItem]) -> int:
    if events:
        await LineageEvent.bulk_create(
            [
                LineageEvent(
                    signatory_id=signatory_id,
                    subject_hash=event.subject_hash,
                    category=event.category,
                    purpose=event.purpose,
                    recipient=event.recipient,
                    occurred_on=event.occurred_on,
                )
                for event in events
            ],
            batch_size=500,
        )
    log.info("lineage of signatory %s: %s events", signatory_id, len(events))
    return len(events)


# --- the resident's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredHolding:
    signatory_id: int
    signatory_name: str
    # Titles of the declarations the signatory named (its code when a title is unknown).
    declarations: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class LineageRow:
    occurred_on: date
    signatory_name: str
    category: str
    purpose: str
    recipient: str


@dataclass
class Transparency:
    """What signatories told, by keyed hash, about one resident."""

    holdings: dict[int, DeclaredHolding] = field(default_factory=dict)
    events: list[LineageRow] = field(default_factory=list)
    total_events: int = 0

    @property
    def more(self) -> bool:
        return self.total_events > len(self.events)


async def resident_transparency(*, resident_id: int, secret_key: str) -> Transparency:
    """Holdings and lineage events matching this resident, in a fixed number of queries.

    Each signatory's key is decrypted once; a row counts only when its signatory is the one
    whose key gives that hash.
    """
    resident = await Resident.get_or_none(id=resident_id)
    result = Transparency()
    if resident is None or not resident.email:
        return result
    signatories = await Signatory.exclude(hashing_key="").prefetch_related("declarations")
    hashes: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    titles: dict[int, dict[str, str]] = {}
    for signatory in signatories:
        try:
            key = crypto.decrypt(secret_key, signatory.hashing_key)
        except ValueError:
            log.warning("hashing key of signatory %s cannot be decrypted", signatory.id)
            continue
        found = hashing.resident_hashes(resident, key)
        if found:
            hashes[signatory.id] = found
            names[signatory.id] = signatory.name
            titles[signatory.id] = {d.code: d.title for d in signatory.declarations}
    if not hashes:
        return result
    pairs = {(sid, h) for sid, hs in hashes.items() for h in hs}
    every_hash = sorted({h for hs in hashes.values() for h in hs})
    for holding in await Holding.filter(subject_hash__in=every_hash):
        sid: int = holding.signatory_id  # type: ignore[attr-defined]
        if (sid, holding.subject_hash) not in pairs:
            continue
        named = titles[sid]
        result.holdings[sid] = DeclaredHolding(
            signatory_id=sid,
            signatory_name=names[sid],
            declarations=[named.get(code, code) for code in holding.declarations],
            updated_at=holding.updated_at,
        )
    mine = Q(
        *[Q(signatory_id=sid, subject_hash__in=hs) for sid, hs in hashes.items()],
        join_type="OR",
    )
    result.total_events = await LineageEvent.filter(mine).count()
    if result.total_events:
        rows = (
            await LineageEvent.filter(mine)
            .order_by("-occurred_on", "-id")
            .limit(LINEAGE_SHOWN)
            .values("signatory_id", "category", "purpose", "recipient", "occurred_on")
        )
        result.events = [
            LineageRow(
                occurred_on=row["occurred_on"],
                signatory_name=names[row["signatory_id"]],
                category=row["category"],
                purpose=row["purpose"],
                recipient=row["recipient"],
            )
            for row in rows
        ]
    return result


# --- the signatory's own view --------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingsStatus:
    """What a signatory has told the desk through the holdings API, as its space shows it."""

    count: int
    last_push: datetime | None
    lineage_count: int
    last_lineage: datetime | None


async def holdings_status(*, signatory_id: int) -> HoldingsStatus:
    """How many residents it declared holding data about, and when it last pushed."""
    holdings = Holding.filter(signatory_id=signatory_id)
    events = LineageEvent.filter(signatory_id=signatory_id)
    last_holding = await holdings.order_by("-updated_at").first().values_list("updated_at")
    last_event = await events.order_by("-created_at").first().values_list("created_at")
    return HoldingsStatus(
        count=await holdings.count(),
        last_push=last_holding[0] if last_holding else None,
        lineage_count=await events.count(),
        last_lineage=last_event[0] if last_event else None,
    )
