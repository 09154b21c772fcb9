"""Filing rights requests and moving deliveries through the state machine.

Every transition writes the new state, an audit event and its outbox jobs in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.services import enqueue, enqueue_new
from desk.receipts.keys import Keyring
from desk.receipts.services import issue_receipt
from desk.registry.models import CharterStatus, Signatory
from desk.requests import assurance as assurance_levels
from desk.requests import outcomes
from desk.requests.audit import record_event, record_first_events
from desk.requests.models import (
    AccessCopy,
    Delivery,
    DeliveryState,
    RequestKind,
    RightsRequest,
)
from desk.requests.states import FINAL_STATES, check

MAX_UPLOAD_TYPES = {
    "application/json": ".json",
    "text/csv": ".csv",
    "application/pdf": ".pdf",
}


class DeliveryNotFound(DeskError):
    def __init__(self) -> None:
        super().__init__("Cette demande est introuvable.", code="not_found")


class AlreadyAnswered(DeskError):
    def __init__(self, state: DeliveryState) -> None:
        super().__init__(
            N_(
                "Cette demande a déjà reçu une réponse définitive : "
                "elle ne peut plus être modifiée."
            ),
            code="conflict",
        )
        self.state = state


@dataclass(frozen=True)
class JobSpec:
    """A follow-up job written in the same transaction as a transition."""

    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    run_after: datetime | None = None


async def enqueue_spec(spec: JobSpec, *, connection: BaseDBAsyncClient | None = None) -> None:
    await enqueue(
        kind=spec.kind,
        payload=spec.payload,
        idempotency_key=spec.idempotency_key,
        run_after=spec.run_after,
        connection=connection,
    )


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    content: bytes


def new_reference() -> str:
    return f"DSK-{clock.now():%Y}-{secrets.token_hex(4).upper()}"


async def file_request(
    *,
    resident_id: int,
    kind: RequestKind,
    signatory_ids: list[int] | None = None,
    submission_key: str | None = None,
    filed_via: str = "online",
    actor: str = "resident",
    actor_detail: dict[str, Any] | None = None,
    assurance: str = "email",
) -> RightsRequest:
    """One request, one delivery per signatory; a repeated submission key returns the first.

    `actor` names who filed it in the audit trail (a mediator files on a resident's behalf).
    `assurance` says how the resident's identity was established (partners see it):
    "email" (login link), "franceconnect", or "in_person" (a mediator checked it).
    """
    if assurance not in assurance_levels.LEVELS:
        raise ValueError(f"unknown assurance level {assurance!r}")
    if submission_key:
        existing = await RightsRequest.filter(submission_key=submission_key).first()
        if existing is not None:
            if existing.resident_id != resident_id:  # type: ignore[attr-defined]
                raise DeskError("Cette demande a déjà été envoyée.", code="conflict")
            return existing
    signatories = Signatory.filter(charter_status=CharterStatus.SIGNED)
    if signatory_ids is not None:
        signatories = signatories.filter(id__in=signatory_ids)
    # Ids only: the deliveries need nothing else, and a model per signatory was a tenth of
    # the filing's time (bench/erasure.py).
    targets = [cast(int, sid) for sid in await signatories.values_list("id", flat=True)]
    if not targets:
        raise DeskError("Choisissez au moins un signataire de la charte.")
    received = clock.now()
    try:
        async with in_transaction() as conn:
            request = await RightsRequest.create(
                reference=new_reference(),
                resident_id=resident_id,
                kind=kind,
                filed_via=filed_via,
                submission_key=submission_key,
                assurance=assurance,
                using_db=conn,
            )
            # Three statements for the deliveries, their first events and their dispatch
            # jobs, whatever the number of signatories: one by one, filing to 32 signatories
            # took 160 statements (bench/erasure.py).
            due = clock.add_months(received, 1)
            await Delivery.bulk_create(
                [
                    Delivery(request=request, signatory_id=sid, received_at=received, due_at=due)
                    for sid in targets
                ],
                using_db=conn,
            )
            created = (
                await Delivery.filter(request_id=request.id)
                .using_db(conn)
                .order_by("id")
                .values_list("id", flat=True)
            )
            delivery_ids = [cast(int, i) for i in created]
            await record_first_events(
                delivery_ids=delivery_ids,
                action="file",
                actor=actor,
                state=DeliveryState.PENDING.value,
                detail=actor_detail or {},
                connection=conn,
            )
            await enqueue_new(
                kind="delivery.dispatch",
                jobs=[(f"dispatch-{i}", {"delivery_id": i}) for i in delivery_ids],
                connection=conn,
            )
    except IntegrityError:
        # A concurrent double submission with the same key: the other one won.
        if submission_key:
            existing = await RightsRequest.filter(submission_key=submission_key).first()
            if existing is not None:
                return existing
        raise
    return request


async def _record(
    conn: BaseDBAsyncClient,
    delivery: Delivery,
    action: str,
    actor: str,
    from_state: DeliveryState,
    detail: dict[str, Any],
) -> None:
    await record_event(
        delivery_id=delivery.id,
        action=action,
        actor=actor,
        from_state=from_state.value,
        to_state=delivery.state.value,
        detail=detail,
        connection=conn,
    )


async def apply(
    *,
    delivery_id: int,
    action: str,
    actor: str,
    keyring: Keyring,
    issuer: str,
    outcome: dict[str, Any] | None = None,
    reason: str | None = None,
    detail: str | None = None,
    file: UploadedFile | None = None,
    extra_months: int = 2,
    dispatch_ref: str | None = None,
    download_max_age: int = 7 * 24 * 3600,
    signatory_id: int | None = None,
    jobs: list[JobSpec] | None = None,
) -> Delivery:
    """Apply one state-machine action to a delivery, with its audit event and side effects.

    `signatory_id`, when given, must be the delivery's signatory (a partner answering).
    """
    return await _apply_once(
        delivery_id=delivery_id,
        action=action,
        actor=actor,
        keyring=keyring,
        issuer=issuer,
        outcome=outcome,
        reason=reason,
        detail=detail,
        file=file,
        extra_months=extra_months,
        dispatch_ref=dispatch_ref,
        download_max_age=download_max_age,
        signatory_id=signatory_id,
        jobs=jobs or [],
    )


async def _apply_once(
    *,
    delivery_id: int,
    action: str,
    actor: str,
    keyring: Keyring,
    issuer: str,
    outcome: dict[str, Any] | None,
    reason: str | None,
    detail: str | None,
    file: UploadedFile | None,
    extra_months: int,
    dispatch_ref: str | None,
    download_max_age: int,
    signatory_id: int | None,
    jobs: list[JobSpec],
) -> Delivery:
    async with in_transaction() as conn:
        delivery = (
            await Delivery.filter(id=delivery_id)
            .using_db(conn)
            .select_for_update(of=("delivery",))
            .select_related("request__resident", "signatory")
            .first()
        )
        if delivery is None or (signatory_id is not None and delivery.signatory_id != signatory_id):  # type: ignore[attr-defined]
            raise DeliveryNotFound()
        previous = delivery.state
        if previous in FINAL_STATES:
            raise AlreadyAnswered(previous)
        try:
            transition = check(action, previous)
        except Exception as exc:
            raise DeskError(
                "Cette action n'est pas possible dans l'état actuel de la demande.",
                code="conflict",
            ) from exc
        kind = delivery.request.kind
        event_detail: dict[str, Any] = {}
        now = clock.now()

        if action == "send":
            delivery.dispatch_ref = dispatch_ref
        elif action == "extend":
            if delivery.extension_reason:
                raise DeskError("Le délai a déjà été prolongé une fois.", code="conflict")
            if now > clock.add_months(delivery.received_at, 1):
                raise DeskError(
                    "Le délai ne peut être prolongé que pendant le premier mois.", code="conflict"
                )
            if not reason or not reason.strip():
                raise DeskError("Indiquez la raison de la prolongation.")
            if extra_months not in (1, 2):
                raise DeskError("La prolongation est d'un ou deux mois au plus.")
            delivery.extension_reason = reason.strip()[:2000]
            delivery.due_at = clock.add_months(delivery.received_at, 1 + extra_months)
            event_detail = {
                "reason": delivery.extension_reason,
                "due_at": delivery.due_at.isoformat(),
            }
        elif action == "fulfil":
            clean = outcomes.validate(kind, outcome or {}, has_file=file is not None)
            delivery.outcome = clean
            delivery.completed_at = now
            event_detail = {"outcome": clean}
        elif action == "deny":
            clean_reason = outcomes.validate_denial(reason)
            delivery.denial_reason = clean_reason
            delivery.denial_detail = (detail or "").strip()[:2000] or None  # type: ignore[assignment]
            delivery.completed_at = now
            event_detail = {"reason": clean_reason}
        elif action == "need_info":
            if not detail or not detail.strip():
                raise DeskError("Écrivez la question posée à la personne.")
            delivery.info_request = detail.strip()[:2000]
            delivery.info_answer = None  # type: ignore[assignment]
            event_detail = {"question": delivery.info_request}
        elif action == "provide_info":
            if not detail or not detail.strip():
                raise DeskError("Écrivez votre réponse à la question de l'organisme.")
            delivery.info_answer = detail.strip()[:4000]
            event_detail = {"answer": delivery.info_answer}
        elif action == "fail":
            event_detail = {"error": (detail or "")[:500]}

        target = transition.target
        if action == "provide_info" and delivery.extension_reason:
            target = DeliveryState.EXTENDED
        delivery.state = target
        await delivery.save(using_db=conn)
        await _record(conn, delivery, action, actor, previous, event_detail)

        resident_id = delivery.request.resident_id  # type: ignore[attr-defined]
        if action == "fulfil" and kind == RequestKind.ACCESS and file is not None:
            copy = await _store_copy(conn, delivery, file, download_max_age)
            await _notify(conn, resident_id, "copy_ready", delivery, {"copy_id": copy.id})
        if action in ("fulfil", "deny"):
            receipt = await issue_receipt(
                delivery=delivery, keyring=keyring, issuer=issuer, connection=conn
            )
            if kind in (RequestKind.ERASURE, RequestKind.OBJECTION) or action == "deny":
                await _notify(conn, resident_id, "receipt", delivery, {"receipt_id": receipt.id})
            if kind == RequestKind.DISCOVERY:
                await _notify_if_request_complete(conn, delivery)
        elif action == "extend":
            await _notify(conn, resident_id, "delivery_extended", delivery, {})
        elif action == "need_info":
            await _notify(
                conn,
                resident_id,
                "info_requested",
                delivery,
                {},
                key=f"mail-info_requested-{delivery.id}-{secrets.token_hex(4)}",
            )
        elif action == "provide_info":
            await enqueue(
                kind="partner.info_answered",
                payload={"delivery_id": delivery.id},
                idempotency_key=f"info-answered-{delivery.id}-{secrets.token_hex(4)}",
                connection=conn,
            )
        elif action == "retry":
            await enqueue(
                kind="delivery.dispatch",
                payload={"delivery_id": delivery.id},
                idempotency_key=f"dispatch-{delivery.id}-retry-{secrets.token_hex(4)}",
                connection=conn,
            )
        for spec in jobs:
            await enqueue_spec(spec, connection=conn)
        return delivery


async def _store_copy(
    conn: BaseDBAsyncClient, delivery: Delivery, file: UploadedFile, max_age: int
) -> AccessCopy:
    return await AccessCopy.create(
        id=secrets.token_urlsafe(24),
        delivery=delivery,
        filename=file.filename,
        content_type=file.content_type,
        size=len(file.content),
        sha256=hashlib.sha256(file.content).hexdigest(),
        content=file.content,
        expires_at=clock.now() + timedelta(seconds=max_age),
        using_db=conn,
    )


async def _notify(
    conn: BaseDBAsyncClient,
    resident_id: int,
    template: str,
    delivery: Delivery,
    context: dict[str, Any],
    key: str | None = None,
) -> None:
    await enqueue(
        kind="mail.resident",
        payload={
            "resident_id": resident_id,
            "template": template,
            "delivery_id": delivery.id,
            "context": context,
        },
        idempotency_key=key or f"mail-{template}-{delivery.id}",
        connection=conn,
    )


async def _notify_if_request_complete(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
    open_left = (
        await Delivery.filter(request_id=delivery.request_id)  # type: ignore[attr-defined]
        .using_db(conn)
        .exclude(state__in=list(FINAL_STATES))
        .count()
    )
    if open_left == 0:
        await _notify(
            conn,
            delivery.request.resident_id,  # type: ignore[attr-defined]
            "discovery_complete",
            delivery,
            {"request_reference": delivery.request.reference},
            key=f"mail-discovery_complete-request-{delivery.request.id}",
        )
