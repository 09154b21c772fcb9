"""One delivery in the back office: what its page shows, switching a failed delivery to
another channel, and typing in an answer that came by mail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from adapters.base import adapter_names
from adapters.network import Network
from desk.backoffice.services import (
    CHANNEL_CHANGED,
    LETTER_PRINTED,
    POSTAL,
    actor_for,
    channel_of,
    load_delivery,
    retry_delivery,
)
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.partners import services as answers
from desk.partners.channels import ChannelError, configure_channel
from desk.receipts.keys import Keyring
from desk.registry.models import Declaration
from desk.requests import partner_answer, queries
from desk.requests.audit import record_event
from desk.requests.effects import UploadedFile
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES
from desk.requests.transitions import AlreadyAnswered
from desk.residents.views import answer_lines

log = logging.getLogger("desk.backoffice")


@dataclass
class DeliveryView:
    delivery: Delivery
    kind: str
    events: list[DeliveryEvent]
    receipt: queries.ReceiptInfo | None
    connector: str
    # Other installed adapters the delivery may be switched to.
    channels: list[str]
    # What a paper answer may still record (acknowledge, extend, fulfil, deny).
    actions: tuple[str, ...]
    declarations: list[Declaration]
    declared_recipients: list[str]
    answer: list[str]
    overdue: bool
    last_error: str | None
    printed: bool

    @property
    def final(self) -> bool:
        return self.delivery.state in FINAL_STATES

    @property
    def failed(self) -> bool:
        return self.delivery.state == DeliveryState.FAILED


async def delivery_view(*, delivery_id: int, now: datetime | None = None) -> DeliveryView:
    moment = now or clock.now()
    delivery = await load_delivery(delivery_id)
    events = list(await DeliveryEvent.filter(delivery_id=delivery.id).order_by("at", "id"))
    declarations = list(await Declaration.filter(signatory_id=delivery.signatory.id))
    recipients: list[str] = []
    for declaration in declarations:
        for recipient in declaration.recipients or []:
            if recipient not in recipients:
                recipients.append(recipient)
    receipts = await queries.receipts_for(delivery_ids=[delivery.id])
    connector = channel_of(delivery)
    failures = [e for e in events if e.action == "fail"]
    last_error = (str(failures[-1].detail.get("error") or "") or None) if failures else None
    kind = delivery.request.kind
    return DeliveryView(
        delivery=delivery,
        kind=kind.value,
        events=events,
        receipt=receipts.get(delivery.id),
        connector=connector,
        channels=[name for name in adapter_names() if name != connector],
        actions=answers.available_actions(
            delivery.state, received_at=delivery.received_at, now=moment
        ),
        declarations=declarations,
        declared_recipients=recipients,
        answer=answer_lines(kind, delivery, {d.code: d.title for d in declarations}),
        overdue=delivery.due_at < moment and delivery.state not in FINAL_STATES,
        last_error=last_error,
        printed=any(e.action == LETTER_PRINTED for e in events),
    )


MSG_NO_POSTAL_ADDRESS = N_(
    "Ce signataire n'a pas d'adresse postale enregistrée (réglage « address » de "
    "son connecteur) : impossible de lui écrire par courrier pour l'instant."
)


@dataclass(frozen=True)
class ChannelSwitch:
    delivery: Delivery
    # Secrets the desk generated for the new channel (a webhook's): shown once to staff.
    generated: list[str]


async def change_channel(
    *,
    delivery_id: int,
    channel: str,
    staff_id: int,
    keyring: Keyring,
    issuer: str,
    secret_key: str,
    settings: dict[str, Any] | None = None,
    allowed_networks: tuple[Network, ...] = (),
) -> ChannelSwitch:
    """Switch a failed delivery to another installed adapter, then send it again.

    The new channel's settings go through the same validated path as `desk partners
    configure` (validated, secrets encrypted, audited with the staff member as actor); the
    signatory keeps its own adapter for its other deliveries.
    """
    delivery = await load_delivery(delivery_id)
    name = channel.strip()
    if name not in adapter_names():
        raise DeskError("Ce canal d'envoi n'existe pas : choisissez-en un dans la liste.")
    previous = channel_of(delivery)
    if name == previous:
        raise DeskError("Cet envoi passe déjà par ce canal : choisissez-en un autre.")
    if delivery.state != DeliveryState.FAILED:
        raise DeskError(
            "On ne change de canal que pour un envoi en échec : celui-ci ne l'est pas (ou plus).",
            code="conflict",
        )
    given = settings or {}
    async with in_transaction() as conn:
        try:
            result = await configure_channel(
                slug=delivery.signatory.slug,
                adapter=name,
                settings=given,
                secret_key=secret_key,
                actor=actor_for(staff_id),
                delivery_id=delivery.id,
                connection=conn,
                allowed_networks=allowed_networks,
            )
        except ChannelError as exc:
            if name == POSTAL and "address" not in given:
                raise DeskError(MSG_NO_POSTAL_ADDRESS) from exc
            raise
        won = (
            await Delivery.filter(id=delivery.id, state=DeliveryState.FAILED)
            .using_db(conn)
            .update(channel=name)
        )
        if not won:
            # Rolls the settings and their audit record back with it.
            raise DeskError(
                "Cet envoi vient de changer d'état : rechargez la page.", code="conflict"
            )
        await record_event(
            delivery_id=delivery.id,
            actor=actor_for(staff_id),
            action=CHANNEL_CHANGED,
            from_state=delivery.state.value,
            to_state=delivery.state.value,
            detail={"from": previous, "to": name},
            connection=conn,
        )
    log.info(
        "delivery %s switched from %s to %s by staff %s", delivery.id, previous, name, staff_id
    )
    retried = await retry_delivery(
        delivery_id=delivery.id, staff_id=staff_id, keyring=keyring, issuer=issuer
    )
    return ChannelSwitch(delivery=retried, generated=result.generated)


async def record_paper_answer(
    *,
    delivery_id: int,
    staff_id: int,
    fields: Mapping[str, list[str]],
    upload: UploadedFile | None,
    keyring: Keyring,
    issuer: str,
    download_max_age: int,
) -> Delivery:
    """Type in an answer received by mail: the partner page's forms, with a staff actor."""
    action = answers.parse_action(fields)
    delivery = await load_delivery(delivery_id)
    if delivery.state in FINAL_STATES:
        raise AlreadyAnswered(delivery.state)
    answers.ensure_allowed(
        action, delivery.state, received_at=delivery.received_at, now=clock.now()
    )
    answer: partner_answer.PartnerAnswer = partner_answer.Acknowledge()
    if action == "extend":
        reason, months = answers.parse_extension(fields)
        answer = partner_answer.Extend(reason=reason, extra_months=months)
    elif action == "deny":
        reason, detail = answers.parse_denial(fields)
        answer = partner_answer.Deny(reason=reason, detail=detail)
    elif action == "fulfil":
        kind = delivery.request.kind.value
        outcome = answers.parse_outcome(kind, fields)
        file = upload if kind == RequestKind.ACCESS else None
        if file is not None and outcome.get("holds_data") is False:
            raise answers.AnswerRefused(
                "Vous avez indiqué que l'organisme ne détient aucune donnée, mais joint un "
                "fichier : choisissez l'un ou l'autre.",
                status=422,
            )
        answer = partner_answer.Fulfil(outcome=outcome, file=file)
    return await partner_answer.answer(
        delivery_id=delivery.id,
        answer=answer,
        actor=actor_for(staff_id),
        keyring=keyring,
        issuer=issuer,
        download_max_age=download_max_age,
    )
