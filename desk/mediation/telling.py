"""What the resident is told by mail when a mediator acts for them: a mandate in effect, a
request filed in their name. Jobs are written in the transaction of the change (outbox); the
handlers below send them. Logs carry ids only.
"""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from desk.mediation.models import Mandate
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.registry.models import Signatory
from desk.requests.models import RightsRequest
from desk.residents.views import kind_label
from desk.runtime import Runtime

log = logging.getLogger("desk.mediation")

MANDATE_MAIL_JOB = "mail.mediation_mandate"
FILED_MAIL_JOB = "mail.mediation_request_filed"


async def tell_mandate(*, mandate: Mandate, conn: BaseDBAsyncClient) -> None:
    """Mail the resident (if they have an address) the mandate now in effect."""
    await enqueue(
        kind=MANDATE_MAIL_JOB,
        payload={"mandate_id": mandate.id},
        idempotency_key=f"mediation-mandate-{mandate.id}",
        connection=conn,
    )


async def tell_filed(*, request: RightsRequest, conn: BaseDBAsyncClient) -> None:
    """Mail the resident (if they have an address) the request a mediator filed for them."""
    await enqueue(
        kind=FILED_MAIL_JOB,
        payload={"request_id": request.id},
        idempotency_key=f"mediation-filed-{request.id}",
        connection=conn,
    )


async def signatory_names(ids: list[int] | None) -> list[str]:
    if ids is None:
        return []
    return [s.name for s in await Signatory.filter(id__in=ids).order_by("name")]


async def mandate_context(mandate: Mandate | None) -> dict[str, Any]:
    if mandate is None:
        return {"kinds": [], "signatories": [], "valid_until": None}
    return {
        "kinds": [kind_label(k) for k in mandate.kinds],
        "signatories": await signatory_names(mandate.signatory_ids),
        "valid_until": mandate.valid_until,
    }


async def send_mandate_given(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: the resident hears of a mandate given for them, and what to do if it
    was not them."""
    mandate = (
        await Mandate.filter(id=int(job.payload.get("mandate_id", 0)))
        .select_related("resident", "mediator", "session")
        .first()
    )
    if mandate is None or not mandate.resident.email:
        return  # deleted meanwhile, or a resident without email: the mediator tells them
    session = mandate.session
    await rt.send_mail(
        to=mandate.resident.email,
        template="mediation_mandate",
        context={
            "given_at": session.consented_at or session.opened_at,
            "mediator_name": mandate.mediator.display_name,
            "help_point": mandate.mediator.help_point,
            **(await mandate_context(mandate)),
            "dashboard_url": rt.settings.url("/mon-espace"),
            "login_url": rt.settings.url("/connexion"),
            "contact": rt.settings.dpo_contact,
        },
        idempotency_key=job.idempotency_key,
        locale=mandate.resident.locale or "fr",
    )
    log.info("mandate %s mailed to resident %s", mandate.id, mandate.resident.id)


async def send_request_filed(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler: the resident hears of a request a mediator filed in their name."""
    request = (
        await RightsRequest.filter(id=int(job.payload.get("request_id", 0)))
        .select_related("resident", "assisted_filing__mediator")
        .prefetch_related("deliveries__signatory")
        .first()
    )
    if request is None or not request.resident.email:
        return
    filing = request.assisted_filing  # type: ignore[attr-defined]
    await rt.send_mail(
        to=request.resident.email,
        template="mediation_request_filed",
        context={
            "filed_at": filing.filed_at,
            "mediator_name": filing.mediator.display_name,
            "help_point": filing.help_point,
            "kind_label": kind_label(request.kind),
            "reference": request.reference,
            "signatories": sorted(d.signatory.name for d in request.deliveries),
            "request_url": rt.settings.url(f"/mon-espace/demandes/{request.reference}"),
            "contact": rt.settings.dpo_contact,
        },
        idempotency_key=job.idempotency_key,
        locale=request.resident.locale or "fr",
    )
    log.info("filed request %s mailed to resident %s", request.id, request.resident.id)


HANDLERS = {
    MANDATE_MAIL_JOB: send_mandate_given,
    FILED_MAIL_JOB: send_request_filed,
}
