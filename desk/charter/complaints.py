"""Residents' complaints to the charter's ethics committee, filed through the desk."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter.models import Complaint
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.requests.models import Delivery
from desk.runtime import Runtime

log = logging.getLogger("desk.charter.complaints")

TEXT_MAX = 4000
MSG_EMPTY = N_("Écrivez votre réclamation : ce qui s'est passé et ce que vous attendez.")
MSG_TOO_LONG = N_("Votre réclamation est trop longue : 4000 caractères au plus.")
MSG_NOT_FOUND = N_("Cette demande est introuvable dans votre espace.")


async def delivery_of_resident(*, resident_id: int, delivery_id: int) -> Delivery:
    delivery = (
        await Delivery.filter(id=delivery_id, request__resident_id=resident_id)
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    return delivery


async def file_complaint(
    *, resident_id: int, delivery_id: int, text: str, now: datetime
) -> Complaint:
    delivery = await delivery_of_resident(resident_id=resident_id, delivery_id=delivery_id)
    cleaned = (text or "").strip()
    if not cleaned:
        raise DeskError(MSG_EMPTY)
    if len(cleaned) > TEXT_MAX:
        raise DeskError(MSG_TOO_LONG)
    complaint = await Complaint.create(
        resident_id=resident_id, delivery=delivery, text=cleaned, created_at=now
    )
    log.info("complaint %s filed on delivery %s", complaint.id, delivery.id)
    return complaint


async def complaints_of(*, resident_id: int, delivery_id: int) -> list[Complaint]:
    return await Complaint.filter(resident_id=resident_id, delivery_id=delivery_id).order_by(
        "created_at", "id"
    )


# --- the committee closes the loop ----------------------------------------------------------------
#
# received → acknowledged → asked (the signatory answers in its space) → signatory_answered →
# closed (upheld / not upheld / resolved). The resident is told at each step by mail; each step is
# audited with the committee member's id (never the resident's address).

MAIL_JOB = "mail.complaint"
OUTCOMES: dict[str, str] = {
    "upheld": N_("fondée : le comité donne raison à la personne"),
    "not_upheld": N_("non fondée : le comité ne donne pas raison à la personne"),
    "resolved": N_("résolue : le signataire a réglé le problème"),
}
STATUS_LABELS: dict[str, str] = {
    "received": N_("reçue"),
    "acknowledged": N_("prise en compte par le comité"),
    "asked": N_("le signataire doit répondre au comité"),
    "signatory_answered": N_("le signataire a répondu"),
    "closed": N_("décision rendue"),
}
MSG_COMPLAINT_NOT_FOUND = N_("Cette réclamation n'existe pas.")
MSG_CLOSED = N_("Cette réclamation est close : le comité a déjà rendu sa décision.")
MSG_NOT_NOW = N_("Cette étape n'est pas possible à ce stade de la réclamation.")
MSG_QUESTION = N_("Écrivez la question posée au signataire.")
MSG_REASONING = N_("Écrivez la décision du comité et ses raisons : la personne la reçoit.")
MSG_OUTCOME = N_("Choisissez la décision : fondée, non fondée ou résolue.")
MSG_ANSWER = N_("Écrivez votre réponse au comité d'éthique.")
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "acknowledge": frozenset({"received"}),
    "ask": frozenset({"received", "acknowledged", "signatory_answered"}),
    "answer": frozenset({"asked"}),
    "decide": frozenset({"received", "acknowledged", "asked", "signatory_answered"}),
}


# A decision's reasoning may be longer, as the committee's decisions on alerts.
REASONING_MAX = 8000


def _text(raw: str, *, missing: str, limit: int = TEXT_MAX) -> str:
    cleaned = (raw or "").strip()
    if not cleaned:
        raise DeskError(missing)
    if len(cleaned) > limit:
        raise DeskError(N_("Ce texte est trop long : réduisez-le, puis réessayez."))
    return cleaned


async def _locked(
    conn: BaseDBAsyncClient, complaint_id: int, step: str, *, signatory_id: int | None = None
) -> Complaint:
    query = Complaint.filter(id=complaint_id)
    if signatory_id is not None:
        query = query.filter(delivery__signatory_id=signatory_id)
    complaint = await query.using_db(conn).select_for_update().first()
    if complaint is None:
        raise DeskError(MSG_COMPLAINT_NOT_FOUND, code="not_found")
    if complaint.status == "closed":
        raise DeskError(MSG_CLOSED, code="conflict")
    if complaint.status not in ALLOWED_FROM[step]:
        raise DeskError(MSG_NOT_NOW, code="conflict")
    return complaint


async def _step(
    conn: BaseDBAsyncClient, complaint: Complaint, *, actor: str, step: str, tell: str
) -> None:
    await record_action(
        action=f"complaint.{step}",
        actor=actor,
        subject=f"complaint:{complaint.id}",
        detail={"status": complaint.status},
        connection=conn,
    )
    await enqueue(
        kind=MAIL_JOB,
        payload={"complaint_id": complaint.id, "to": tell, "status": complaint.status},
        idempotency_key=f"complaint-{complaint.id}-{step}-{tell}-{clock.now().timestamp()}",
        connection=conn,
    )


async def acknowledge_complaint(*, complaint_id: int, member_id: int) -> Complaint:
    async with in_transaction() as conn:
        complaint = await _locked(conn, complaint_id, "acknowledge")
        complaint.status = "acknowledged"
        complaint.acknowledged_at = clock.now()
        await complaint.save(using_db=conn, update_fields=["status", "acknowledged_at"])
        await _step(
            conn, complaint, actor=f"staff:{member_id}", step="acknowledge", tell="resident"
        )
    return complaint


async def ask_signatory(*, complaint_id: int, member_id: int, question: str) -> Complaint:
    """The committee asks the signatory for its answer; it answers in its space."""
    text = _text(question, missing=MSG_QUESTION)
    async with in_transaction() as conn:
        complaint = await _locked(conn, complaint_id, "ask")
        now = clock.now()
        complaint.status = "asked"
        complaint.question = text
        complaint.asked_at = now
        complaint.acknowledged_at = complaint.acknowledged_at or now
        await complaint.save(
            using_db=conn, update_fields=["status", "question", "asked_at", "acknowledged_at"]
        )
        await _step(conn, complaint, actor=f"staff:{member_id}", step="ask", tell="resident")
        await _step(conn, complaint, actor=f"staff:{member_id}", step="ask", tell="signatory")
    return complaint


async def answer_as_signatory(
    *, complaint_id: int, signatory_id: int, answer: str, actor: str
) -> Complaint:
    text = _text(answer, missing=MSG_ANSWER)
    async with in_transaction() as conn:
        complaint = await _locked(conn, complaint_id, "answer", signatory_id=signatory_id)
        complaint.status = "signatory_answered"
        complaint.signatory_answer = text
        complaint.signatory_answered_at = clock.now()
        await complaint.save(
            using_db=conn, update_fields=["status", "signatory_answer", "signatory_answered_at"]
        )
        await _step(conn, complaint, actor=actor, step="signatory_answer", tell="resident")
    return complaint


async def decide_complaint(
    *, complaint_id: int, member_id: int, outcome: str, reasoning: str
) -> Complaint:
    if outcome not in OUTCOMES:
        raise DeskError(MSG_OUTCOME)
    text = _text(reasoning, missing=MSG_REASONING, limit=REASONING_MAX)
    async with in_transaction() as conn:
        complaint = await _locked(conn, complaint_id, "decide")
        complaint.status = "closed"
        complaint.outcome = outcome
        complaint.answer = text
        complaint.answered_at = clock.now()
        await complaint.save(
            using_db=conn, update_fields=["status", "outcome", "answer", "answered_at"]
        )
        await _step(conn, complaint, actor=f"staff:{member_id}", step="decide", tell="resident")
        await _step(conn, complaint, actor=f"staff:{member_id}", step="decide", tell="signatory")
    return complaint


async def get_complaint(*, complaint_id: int, signatory_id: int | None = None) -> Complaint:
    query = Complaint.filter(id=complaint_id)
    if signatory_id is not None:
        query = query.filter(delivery__signatory_id=signatory_id)
    complaint = await query.select_related("delivery__signatory", "delivery__request").first()
    if complaint is None:
        raise DeskError(MSG_COMPLAINT_NOT_FOUND, code="not_found")
    return complaint


async def complaints_for_signatory(*, signatory_id: int) -> list[Complaint]:
    """The complaints the committee asked this signatory about, and their outcome."""
    return list(
        await Complaint.filter(delivery__signatory_id=signatory_id, asked_at__isnull=False)
        .select_related("delivery__request")
        .order_by("-asked_at", "-id")
    )


async def send_complaint_mail(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.complaint": the resident, or the signatory's DPO, hears."""
    complaint = (
        await Complaint.filter(id=int(job.payload["complaint_id"]))
        .select_related("delivery__signatory", "delivery__request", "resident")
        .first()
    )
    if complaint is None:
        return
    status = str(job.payload.get("status", complaint.status))
    signatory = complaint.delivery.signatory
    context: dict[str, Any] = {
        "to": job.payload.get("to"),
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "signatory_name": signatory.name,
        "reference": complaint.delivery.request.reference,
        "question": complaint.question,
        "outcome_label": OUTCOMES.get(complaint.outcome, ""),
        "decision": complaint.answer or "",
        "complaint_url": rt.settings.url(f"/mon-espace/reclamations/{complaint.delivery.id}"),
        "space_url": rt.settings.url("/organisation/reclamations"),
    }
    if job.payload.get("to") == "signatory":
        await rt.send_mail(
            to=signatory.dpo_email,
            template="complaint_update",
            context=context,
            idempotency_key=job.idempotency_key,
        )
        return
    resident = complaint.resident
    if not resident.email:
        return  # an assisted resident hears from their mediator
    await rt.send_mail(
        to=resident.email,
        template="complaint_update",
        context=context,
        idempotency_key=job.idempotency_key,
        locale=resident.locale or "fr",
    )
