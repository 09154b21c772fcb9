"""Answering a delivery through the signed link of the partner email: the database side (what
the page shows, and the answer submitted through the transitions). The form's rules are
desk.partners.services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.queryset import QuerySet

from desk.core import clock
from desk.db_rows import BuiltSelect
from desk.partners.services import (
    ACTOR,
    AnswerRefused,
    Fields,
    available_actions,
    ensure_allowed,
    parse_action,
    parse_denial,
    parse_extension,
    parse_outcome,
    parse_question,
)
from desk.receipts.keys import Keyring
from desk.registry.models import Declaration
from desk.requests import assurance, partner_answer, pause
from desk.requests.dispatch import build_envelope
from desk.requests.effects import UploadedFile
from desk.requests.models import Delivery, DeliveryEvent, RequestKind
from desk.requests.states import FINAL_STATES
from desk.requests.transitions import AlreadyAnswered, DeliveryNotFound
from desk.runtime import Runtime


@dataclass(frozen=True)
class AnswerPage:
    delivery: Delivery
    kind: str
    state: str
    reference: str
    signatory_name: str
    identifiers: dict[str, str]
    declarations: list[Declaration]
    declared_recipients: list[str]
    events: list[DeliveryEvent]
    actions: tuple[str, ...]
    final: bool
    extension_closes_at: datetime
    # (extra months, new deadline) for each extension the partner may choose.
    extension_choices: list[tuple[int, datetime]]
    # How the desk established who filed (desk.requests.assurance), in French.
    assurance_label: str = ""
    assurance_explanation: str = ""
    # The one declaration an objection names (None: all); the deadline paused (pause.py).
    scope: dict[str, str] | None = None
    paused: bool = False


def _delivery_query(delivery_id: int, signatory_id: int) -> QuerySet[Delivery]:
    return Delivery.filter(id=delivery_id, signatory_id=signatory_id).select_related(
        "request__resident", "signatory"
    )


# Read at every API answer and answer page: built once per dialect (desk.db_rows).
_DELIVERY = BuiltSelect(Delivery, _delivery_query, markers=2)


async def delivery_for(*, delivery_id: int, signatory_id: int) -> Delivery:
    """One of this signatory's deliveries; another signatory's is "not found" (no hint)."""
    found = await _DELIVERY.run(delivery_id, signatory_id)
    if not found:
        raise DeliveryNotFound()
    return found[0]


async def load_answer_page(*, delivery_id: int, signatory_id: int, runtime: Runtime) -> AnswerPage:
    delivery = await delivery_for(delivery_id=delivery_id, signatory_id=signatory_id)
    # The envelope names the identifiers this signatory accepts, and only those.
    envelope = await build_envelope(delivery, runtime)
    declarations = await Declaration.filter(signatory_id=signatory_id).order_by("id")
    recipients: list[str] = []
    for declaration in declarations:
        for recipient in declaration.recipients or []:
            if recipient not in recipients:
                recipients.append(recipient)
    events = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("at", "id")
    received = delivery.received_at
    return AnswerPage(
        delivery=delivery,
        kind=delivery.request.kind.value,
        state=delivery.state.value,
        reference=delivery.request.reference,
        signatory_name=delivery.signatory.name,
        identifiers=envelope.identifiers,
        declarations=list(declarations),
        declared_recipients=recipients,
        events=list(events),
        actions=available_actions(delivery.state, received_at=received, now=clock.now()),
        final=delivery.state in FINAL_STATES,
        extension_closes_at=clock.add_months(received, 1),
        extension_choices=[(m, clock.add_months(received, 1 + m)) for m in (1, 2)],
        assurance_label=assurance.label(envelope.assurance),
        assurance_explanation=assurance.explanation(envelope.assurance),
        scope=envelope.scope,
        paused=pause.is_paused(delivery),
    )


async def submit_answer(
    *,
    delivery_id: int,
    signatory_id: int,
    fields: Fields,
    upload: UploadedFile | None,
    keyring: Keyring,
    issuer: str,
    download_max_age: int,
) -> Delivery:
    """Parse the form and apply it; a French DeskError when refused (nothing changed)."""
    action = parse_action(fields)
    delivery = await delivery_for(delivery_id=delivery_id, signatory_id=signatory_id)
    if delivery.state in FINAL_STATES:
        raise AlreadyAnswered(delivery.state)
    ensure_allowed(action, delivery.state, received_at=delivery.received_at, now=clock.now())
    answer: partner_answer.PartnerAnswer = partner_answer.Acknowledge()
    if action == "extend":
        reason, months = parse_extension(fields)
        answer = partner_answer.Extend(reason=reason, extra_months=months)
    elif action == "need_info":
        question, identity = parse_question(fields)
        answer = partner_answer.NeedInfo(question=question, identity=identity)
    elif action == "deny":
        reason, detail = parse_denial(fields)
        answer = partner_answer.Deny(reason=reason, detail=detail)
    elif action == "fulfil":
        kind = delivery.request.kind.value
        outcome = parse_outcome(kind, fields)
        file = upload if kind == RequestKind.ACCESS else None
        if file is not None and outcome.get("holds_data") is False:
            raise AnswerRefused(
                "Vous avez indiqué ne détenir aucune donnée, mais joint un fichier : "
                "choisissez l'un ou l'autre.",
                status=422,
            )
        answer = partner_answer.Fulfil(outcome=outcome, file=file)
    return await partner_answer.answer(
        delivery_id=delivery_id,
        answer=answer,
        actor=ACTOR,
        keyring=keyring,
        issuer=issuer,
        signatory_id=signatory_id,
        download_max_age=download_max_age,
    )
