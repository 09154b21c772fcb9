"""Outbox handlers telling partners about residents' news on their deliveries."""

from __future__ import annotations

import logging

from desk.outbox.models import OutboxJob
from desk.requests.links import answer_path, answer_token
from desk.requests.models import Delivery
from desk.runtime import Runtime

log = logging.getLogger("desk.partners.notify")

# Partners on other channels (webhook, their own API…) read the answer through the API.
EMAIL_ADAPTER = "email"


async def notify_info_answered(job: OutboxJob, rt: Runtime) -> None:
    """Job "partner.info_answered" {delivery_id}: email the DPO the resident's answer."""
    delivery = (
        await Delivery.filter(id=int(job.payload["delivery_id"]))
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None or not delivery.info_answer:
        return
    signatory = delivery.signatory
    if (delivery.channel or signatory.adapter) != EMAIL_ADAPTER:
        return
    settings = signatory.adapter_settings or {}
    mailbox = settings.get("mailbox")
    to = mailbox if isinstance(mailbox, str) and mailbox else signatory.dpo_email
    token = answer_token(rt.settings.secret_key, delivery_id=delivery.id, signatory_id=signatory.id)
    await rt.send_mail(
        to=to,
        template="partner_info_answered",
        context={
            "signatory_name": signatory.name,
            "reference": delivery.request.reference,
            "kind": delivery.request.kind.value,
            "question": delivery.info_request or "",
            "answer": delivery.info_answer,
            "due_at": delivery.due_at,
            "answer_url": rt.settings.url(answer_path(token)),
        },
        idempotency_key=job.idempotency_key,
    )
    log.info("info answer of delivery %s mailed to signatory %s", delivery.id, signatory.id)
