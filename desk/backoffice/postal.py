"""Postal letters: the queue of letters to print and of those awaiting a paper answer, what
one letter says, and recording that it was printed and posted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery

from adapters.postal import validate_settings as validate_postal_settings
from desk.backoffice.services import (
    LETTER_PRINTED,
    LIST_LIMIT,
    POSTAL,
    actor_for,
    channel_of,
    load_delivery,
)
from desk.core import clock
from desk.core.errors import DeskError
from desk.requests.audit import record_event
from desk.requests.dispatch import build_envelope
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.requests.transitions import AlreadyAnswered
from desk.runtime import Runtime

log = logging.getLogger("desk.backoffice")


def postal_query(*, printed: bool) -> Any:
    printed_ids = Subquery(DeliveryEvent.filter(action=LETTER_PRINTED).values("delivery_id"))
    query = Delivery.filter(Q(channel=POSTAL) | Q(channel__isnull=True, signatory__adapter=POSTAL))
    if printed:
        return query.filter(id__in=printed_ids, state__in=list(OPEN_STATES))
    return query.filter(state=DeliveryState.SENT).exclude(id__in=printed_ids)


@dataclass
class PostalQueue:
    to_print: list[Delivery]
    # Printed and posted, still waiting for the signatory's paper answer.
    awaiting_answer: list[Delivery]


async def postal_queue() -> PostalQueue:
    to_print = (
        await postal_query(printed=False)
        .select_related("request", "signatory")
        .order_by("received_at", "id")
        .limit(LIST_LIMIT)
    )
    awaiting = (
        await postal_query(printed=True)
        .select_related("request", "signatory")
        .order_by("due_at", "id")
        .limit(LIST_LIMIT)
    )
    return PostalQueue(to_print=list(to_print), awaiting_answer=list(awaiting))


@dataclass
class Letter:
    delivery: Delivery
    kind: str
    reference: str
    signatory_name: str
    # The DPO's postal address, one line per list item (adapter_settings["address"]).
    address: list[str]
    identifiers: dict[str, str]
    declarations: list[dict[str, Any]]
    received_at: datetime
    due_at: datetime
    extension_deadline: datetime
    answer_url: str
    printed_at: datetime | None
    written_on: datetime


async def _postal_delivery(delivery_id: int) -> Delivery:
    delivery = await load_delivery(delivery_id)
    if channel_of(delivery) != POSTAL:
        raise DeskError(
            "Cet envoi ne passe pas par courrier : il n'y a pas de lettre à imprimer.",
            code="not_found",
        )
    return delivery


async def letter(*, delivery_id: int, runtime: Runtime) -> Letter:
    """What the printed letter says. The Signatory has no postal address column: the address
    is the postal adapter's own setting, adapter_settings["address"] (multi-line text)."""
    delivery = await _postal_delivery(delivery_id)
    try:
        settings = validate_postal_settings(delivery.signatory.adapter_settings or {})
    except ValueError as exc:
        raise DeskError(
            "Ce signataire n'a pas d'adresse postale enregistrée (réglage « address » de son "
            "connecteur) : complétez le registre avant d'imprimer.",
            code="conflict",
        ) from exc
    # The envelope names the identifiers this signatory accepts, and only those.
    envelope = await build_envelope(delivery, runtime)
    printed = await DeliveryEvent.filter(delivery_id=delivery.id, action=LETTER_PRINTED).first()
    return Letter(
        delivery=delivery,
        kind=envelope.kind,
        reference=envelope.request_reference,
        signatory_name=envelope.signatory_name,
        address=str(settings["address"]).splitlines(),
        identifiers=envelope.identifiers,
        declarations=envelope.declarations,
        received_at=envelope.received_at,
        due_at=envelope.due_at,
        extension_deadline=clock.add_months(envelope.received_at, 1),
        answer_url=envelope.answer_url,
        printed_at=printed.at if printed else None,
        written_on=clock.now(),
    )


async def mark_printed(*, delivery_id: int, staff_id: int) -> DeliveryEvent:
    """Record that the letter was printed and posted (state unchanged: still "sent")."""
    delivery = await _postal_delivery(delivery_id)
    if delivery.state in FINAL_STATES:
        raise AlreadyAnswered(delivery.state)
    if delivery.state not in OPEN_STATES or delivery.state == DeliveryState.PENDING:
        raise DeskError(
            "Cette lettre ne peut pas être marquée comme imprimée : la demande n'a pas encore "
            "été mise dans la file des courriers, ou son envoi a échoué.",
            code="conflict",
        )
    event = await record_event(
        delivery_id=delivery.id,
        actor=actor_for(staff_id),
        action=LETTER_PRINTED,
        from_state=delivery.state.value,
        to_state=delivery.state.value,
        detail={},
    )
    log.info("letter for delivery %s printed by staff %s", delivery.id, staff_id)
    return event
