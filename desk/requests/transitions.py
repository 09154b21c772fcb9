"""The delivery transitions: one function per arrow of the state machine (desk.requests.states).

Each one locks the delivery, checks the arrow, writes the new state and its audit event, and
enqueues what must happen outside the database — all in one transaction, through `_transition`.
Each takes, keyword-only, just what its arrow needs. A partner's answer arriving as data is
routed here by desk.requests.partner_answer; what a transition enqueues beside its state (the
access copy, the resident's mails) is desk.requests.effects.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.services import enqueue
from desk.receipts.keys import Keyring
from desk.receipts.services import issue_receipt
from desk.requests import effects, outcomes, pause
from desk.requests.audit import record_event
from desk.requests.effects import JobSpec as JobSpec  # re-exported: partner_answer names it here
from desk.requests.effects import UploadedFile, enqueue_spec
from desk.requests.locking import locked
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES, TransitionNotAllowed, check

# How long a resident's download link for an access copy lives, unless the settings say.
DEFAULT_DOWNLOAD_MAX_AGE = 7 * 24 * 3600


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


MSG_NOT_NOW = N_("Cette action n'est pas possible dans l'état actuel de la demande.")


# What `_transition` itself changes: the state, a paused deadline (desk.requests.pause).
LOCKED_FIELDS = ("state", "due_at", "paused_since", "updated_at")

# --- the one helper: lock, record, enqueue --------------------------------------------------

# Changes the locked delivery (its state is already the arrow's target) and returns the audit
# event's detail; raising a DeskError rolls everything back.
Change = Callable[[Delivery, datetime], dict[str, Any]]
# What the transition enqueues, in the same transaction.
Enqueue = Callable[[BaseDBAsyncClient, Delivery], Awaitable[None]]


async def _transition(
    *,
    delivery_id: int,
    action: str,
    actor: str,
    signatory_id: int | None = None,
    change: Change | None = None,
    after: Enqueue | None = None,
    jobs: Sequence[JobSpec] = (),
    related: bool = True,
    fields: Sequence[str] | None = None,
) -> Delivery:
    """Select the delivery FOR UPDATE, check the arrow, write state + event + outbox jobs.

    `signatory_id`, when given, must be the delivery's signatory (a partner answering).
    `related=False`: the row alone, without request, resident and signatory; `fields`: the
    only columns `change` sets, written beside `LOCKED_FIELDS` (None: every column).
    """
    async with in_transaction() as conn:
        delivery = await locked(conn, delivery_id, related=related)
        if delivery is None or (signatory_id is not None and delivery.signatory_id != signatory_id):  # type: ignore[attr-defined]
            raise DeliveryNotFound()
        previous = delivery.state
        if previous in FINAL_STATES:
            raise AlreadyAnswered(previous)
        try:
            transition = check(action, previous)
        except TransitionNotAllowed as exc:
            raise DeskError(MSG_NOT_NOW, code="conflict") from exc
        delivery.state = transition.target
        now = clock.now()
        event_detail = change(delivery, now) if change is not None else {}
        if delivery.state != DeliveryState.AWAITING_INFO:
            # Leaving a question about identity: the deadline moves by the pause.
            resumed = pause.resume(delivery, now)
            if resumed is not None:
                event_detail = {**event_detail, "due_at": resumed.isoformat()}
        if fields is None:
            await delivery.save(using_db=conn)
        else:
            await delivery.save(using_db=conn, update_fields=[*LOCKED_FIELDS, *fields])
        await record_event(
            delivery_id=delivery.id,
            action=action,
            actor=actor,
            from_state=previous.value,
            to_state=delivery.state.value,
            detail=event_detail,
            connection=conn,
        )
        if after is not None:
            await after(conn, delivery)
        for spec in jobs:
            await enqueue_spec(spec, connection=conn)
        return delivery


# --- the transitions --------------------------------------------------------------------------


async def send(
    *, delivery_id: int, actor: str, dispatch_ref: str | None, jobs: Sequence[JobSpec] = ()
) -> Delivery:
    """The channel handed the delivery over; `dispatch_ref` is its reference there.

    The worker's hot path: the row alone (request and signatory not loaded), one column."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        delivery.dispatch_ref = dispatch_ref
        return {}

    return await _transition(
        delivery_id=delivery_id,
        action="send",
        actor=actor,
        change=change,
        jobs=jobs,
        related=False,
        fields=("dispatch_ref",),
    )


async def acknowledge(
    *,
    delivery_id: int,
    actor: str,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    return await _transition(
        delivery_id=delivery_id,
        action="acknowledge",
        actor=actor,
        signatory_id=signatory_id,
        jobs=jobs,
        fields=(),
    )


async def extend(
    *,
    delivery_id: int,
    actor: str,
    reason: str | None,
    extra_months: int = 2,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    """Once, within the first month, with a reason, by one or two months (Art. 12(3))."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
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
        return {"reason": delivery.extension_reason, "due_at": delivery.due_at.isoformat()}

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        await effects.notify_resident(conn, delivery, "delivery_extended", {})

    return await _transition(
        delivery_id=delivery_id,
        action="extend",
        actor=actor,
        signatory_id=signatory_id,
        change=change,
        after=after,
        jobs=jobs,
    )


async def need_info(
    *,
    delivery_id: int,
    actor: str,
    question: str | None,
    identity: bool = False,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    """The signatory asks the resident a question; the resident is told by mail.

    A question about the resident's identity (`identity`) pauses the deadline until the
    answer (EDPB guidelines 01/2022 on the right of access); any other question does not."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        if not question or not question.strip():
            raise DeskError("Écrivez la question posée à la personne.")
        delivery.info_request = question.strip()[:2000]
        delivery.info_answer = None  # type: ignore[assignment]
        delivery.info_identity = identity
        delivery.paused_since = now if identity else None
        return {"question": delivery.info_request, "identity": identity}

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        await effects.notify_resident(
            conn,
            delivery,
            "info_requested",
            {},
            key=f"mail-info_requested-{delivery.id}-{secrets.token_hex(4)}",
        )

    return await _transition(
        delivery_id=delivery_id,
        action="need_info",
        actor=actor,
        signatory_id=signatory_id,
        change=change,
        after=after,
        jobs=jobs,
    )


async def provide_info(*, delivery_id: int, actor: str, answer: str | None) -> Delivery:
    """The resident answers the question; the delivery goes back to the signatory."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        if not answer or not answer.strip():
            raise DeskError("Écrivez votre réponse à la question de l'organisme.")
        delivery.info_answer = answer.strip()[:4000]
        if delivery.extension_reason:
            delivery.state = DeliveryState.EXTENDED
        return {"answer": delivery.info_answer}

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        await enqueue(
            kind="partner.info_answered",
            payload={"delivery_id": delivery.id},
            idempotency_key=f"info-answered-{delivery.id}-{secrets.token_hex(4)}",
            connection=conn,
        )

    return await _transition(
        delivery_id=delivery_id, action="provide_info", actor=actor, change=change, after=after
    )


async def fulfil(
    *,
    delivery_id: int,
    actor: str,
    outcome: Mapping[str, Any] | BaseModel,
    keyring: Keyring,
    issuer: str,
    file: UploadedFile | None = None,
    download_max_age: int = DEFAULT_DOWNLOAD_MAX_AGE,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    """The signatory answered; the outcome is checked against the request's kind, a receipt
    is issued, and the resident is told (access: the copy is ready; erasure, objection: the
    receipt; discovery: once every signatory answered)."""
    raw = outcome.model_dump(mode="json") if isinstance(outcome, BaseModel) else dict(outcome)

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        clean = outcomes.validate(delivery.request.kind, raw, has_file=file is not None)
        stored = clean.stored()
        delivery.outcome = stored
        delivery.completed_at = now
        return {"outcome": stored}

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        kind = delivery.request.kind
        if kind == RequestKind.ACCESS and file is not None:
            copy = await effects.store_copy(conn, delivery, file, download_max_age)
            await effects.notify_resident(conn, delivery, "copy_ready", {"copy_id": copy.id})
        receipt = await issue_receipt(
            delivery=delivery, keyring=keyring, issuer=issuer, connection=conn
        )
        if kind in (RequestKind.ERASURE, RequestKind.OBJECTION):
            await effects.notify_resident(conn, delivery, "receipt", {"receipt_id": receipt.id})
        if kind == RequestKind.DISCOVERY:
            await effects.notify_if_request_complete(conn, delivery)

    return await _transition(
        delivery_id=delivery_id,
        action="fulfil",
        actor=actor,
        signatory_id=signatory_id,
        change=change,
        after=after,
        jobs=jobs,
        fields=("outcome", "completed_at"),
    )


async def deny(
    *,
    delivery_id: int,
    actor: str,
    reason: str | None,
    keyring: Keyring,
    issuer: str,
    detail: str | None = None,
    signatory_id: int | None = None,
    jobs: Sequence[JobSpec] = (),
) -> Delivery:
    """The signatory refuses, with a Data Rights Protocol reason; a receipt says so."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        clean_reason = outcomes.validate_denial(reason)
        delivery.denial_reason = clean_reason
        delivery.denial_detail = (detail or "").strip()[:2000] or None  # type: ignore[assignment]
        delivery.completed_at = now
        return {"reason": clean_reason}

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        receipt = await issue_receipt(
            delivery=delivery, keyring=keyring, issuer=issuer, connection=conn
        )
        await effects.notify_resident(conn, delivery, "receipt", {"receipt_id": receipt.id})
        if delivery.request.kind == RequestKind.DISCOVERY:
            await effects.notify_if_request_complete(conn, delivery)

    return await _transition(
        delivery_id=delivery_id,
        action="deny",
        actor=actor,
        signatory_id=signatory_id,
        change=change,
        after=after,
        jobs=jobs,
    )


async def fail(*, delivery_id: int, actor: str, error: str | None) -> Delivery:
    """The adapter gave up: the back office decides what next."""

    def change(delivery: Delivery, now: datetime) -> dict[str, Any]:
        return {"error": (error or "")[:500]}

    return await _transition(delivery_id=delivery_id, action="fail", actor=actor, change=change)


async def retry(*, delivery_id: int, actor: str) -> Delivery:
    """Back to pending, and dispatched again (through a possibly changed channel)."""

    async def after(conn: BaseDBAsyncClient, delivery: Delivery) -> None:
        await enqueue(
            kind="delivery.dispatch",
            payload={"delivery_id": delivery.id},
            idempotency_key=f"dispatch-{delivery.id}-retry-{secrets.token_hex(4)}",
            connection=conn,
        )

    return await _transition(delivery_id=delivery_id, action="retry", actor=actor, after=after)


async def withdraw(*, delivery_id: int, actor: str) -> Delivery:
    """The resident withdraws the delivery before it is answered."""
    return await _transition(delivery_id=delivery_id, action="withdraw", actor=actor)
