"""The desk's own audit log: security-relevant actions, one global hash chain.

Write only through `record_action`, inside the transaction of the change it records when
there is one. Ids only in `actor`, `subject` and `detail` (never an email or a name).
`verify_records` recomputes the chain (`desk audit verify`); desk.audit.checkpoint signs
its head so a truncated log shows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.models import AuditRecord
from desk.core import clock
from desk.core.chain import (
    CONTENT,
    GENESIS,
    LINK,
    ChainHead,
    Verifier,
    link_digest,
    moment,
    rows_by_id,
)

__all__ = ["GENESIS", "ChainHead", "RecordProblem", "record_action", "verify_records"]
# Any constant works: it only has to be the same for every writer of the chain.
_CHAIN_LOCK_KEY = 4_711_2026


def record_digest(
    *, prev: str, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> str:
    return link_digest(prev, moment(at), actor, action, subject, detail)


async def _append(
    conn: BaseDBAsyncClient, *, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> AuditRecord:
    if conn.capabilities.dialect == "postgres":
        # Two writers must not both read the same head: serialise appends to the chain.
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_CHAIN_LOCK_KEY])
    last = await AuditRecord.all().using_db(conn).order_by("-id").first()
    prev = last.digest if last is not None else GENESIS
    at = clock.now()
    actor, action, subject = actor[:100], action[:48], subject[:100]
    digest = record_digest(
        prev=prev, at=at, actor=actor, action=action, subject=subject, detail=detail
    )
    return await AuditRecord.create(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail,
        prev_digest=prev,
        digest=digest,
        using_db=conn,
    )


async def record_action(
    *,
    action: str,
    actor: str,
    subject: str = "",
    detail: dict[str, Any] | None = None,
    connection: BaseDBAsyncClient | None = None,
) -> AuditRecord:
    """Append one action, e.g. `record_action(action="resident.login", actor="resident:12")`.

    Actors and subjects are typed ids: "resident:12", "staff:3", "client:ab12", "system".
    """
    payload = detail or {}
    if connection is not None:
        return await _append(
            connection, actor=actor, action=action, subject=subject, detail=payload
        )
    async with in_transaction() as conn:
        return await _append(conn, actor=actor, action=action, subject=subject, detail=payload)


@dataclass(frozen=True)
class RecordProblem:
    record_id: int | None
    reason_fr: str


def digest_of(record: AuditRecord) -> str:
    return record_digest(
        prev=record.prev_digest or "",
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        detail=record.detail,
    )


async def verify_records(*, batch: int = 2000) -> tuple[ChainHead, list[RecordProblem]]:
    """Recompute the global chain: (its head, problems), an edited, deleted or moved row found.

    A deleted *last* row leaves no gap here: a signed checkpoint (desk.audit.checkpoint)
    taken earlier shows it.
    """
    problems: list[RecordProblem] = []
    verifier: Verifier[AuditRecord] = Verifier(lambda row: row.digest == digest_of(row))

    async def page(after: int, size: int) -> list[AuditRecord]:
        return await AuditRecord.filter(id__gt=after).order_by("id").limit(size)

    async for row in rows_by_id(page, batch=batch):
        for kind in verifier.check(row):
            problems.append(RecordProblem(row.id, _REASONS[kind]))
    return verifier.head(), problems


_REASONS = {
    LINK: "Maillon manquant ou déplacé : cette action ne suit pas la précédente "
    "(une ligne a été supprimée, insérée ou déplacée).",
    CONTENT: "Action modifiée après son enregistrement.",
}
