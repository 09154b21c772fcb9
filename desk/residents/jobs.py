"""Outbox handlers that email residents: login links and news about their requests.

Sending errors propagate: the worker retries. Mails carry links, never the answer itself.
"""

from __future__ import annotations

import logging
from typing import Any

from desk.identity.login import mail_batch_handler, mail_handler
from desk.outbox.models import OutboxJob
from desk.outbox.worker import PermanentJobError
from desk.requests.models import AccessCopy, Delivery, DeliveryState
from desk.residents import digest
from desk.residents.models import Resident
from desk.residents.services import AUDIENCE
from desk.residents.views import discovery_summary, kind_label
from desk.runtime import Runtime

log = logging.getLogger("desk.residents.jobs")

# "receipt" mails nothing by itself: it feeds its request's digest (desk.residents.digest).
NOTIFICATION_TEMPLATES = frozenset(
    {"receipt", "copy_ready", "delivery_extended", "discovery_complete", "info_requested"}
)


# The one login flow's mail, for residents (in the language they read the desk in).
send_login_link = mail_handler(AUDIENCE)
send_login_links = mail_batch_handler(AUDIENCE)


async def send_notification(job: OutboxJob, rt: Runtime) -> None:
    payload = job.payload
    template = payload.get("template")
    if template not in NOTIFICATION_TEMPLATES:
        raise PermanentJobError(f"unknown resident mail template {template!r}")
    resident = await Resident.filter(id=int(payload["resident_id"])).first()
    if resident is None or not resident.email:
        return  # assisted residents without email hear from their mediator
    delivery = (
        await Delivery.filter(id=int(payload["delivery_id"]))
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None:
        return
    extra: dict[str, Any] = payload.get("context") or {}
    request = delivery.request
    if template == "receipt":
        # Receipts arriving together make one mail per request (desk.residents.digest).
        await digest.feed(
            request_id=request.id,
            receipt_id=str(extra["receipt_id"]),
            quiet_seconds=rt.settings.receipt_digest_quiet,
        )
        return
    settings = rt.settings
    context: dict[str, Any] = {
        "signatory_name": delivery.signatory.name,
        "kind_label": kind_label(request.kind),
        "reference": request.reference,
        "request_url": settings.url(f"/mon-espace/demandes/{request.reference}"),
        "dashboard_url": settings.url("/mon-espace"),
    }
    if template == "copy_ready":
        copy = await AccessCopy.filter(
            id=str(extra.get("copy_id", "")), deleted_at__isnull=True
        ).values("expires_at")
        if not copy:
            return  # already downloaded or expired
        context["expires_at"] = copy[0]["expires_at"]
    elif template == "delivery_extended":
        context["due_at"] = delivery.due_at
        context["reason"] = delivery.extension_reason or ""
    elif template == "info_requested":
        if delivery.state != DeliveryState.AWAITING_INFO:
            return  # answered or closed meanwhile: nothing left to ask
        # About identity, the deadline is paused until the answer (desk.requests.pause).
        context["identity"] = delivery.info_identity
    elif template == "discovery_complete":
        deliveries = await Delivery.filter(request_id=request.id)
        holders, asked = discovery_summary(deliveries)
        context["holders"] = holders
        context["asked"] = asked
    await rt.send_mail(
        to=resident.email,
        template=str(template),
        context=context,
        idempotency_key=job.idempotency_key,
        locale=resident.locale or "fr",
    )
    log.info("resident mail %s sent to resident %s (job %s)", template, resident.id, job.id)
