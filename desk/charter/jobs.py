"""Outbox handlers and the periodic task of the charter: reminders, alerts, residents' notices.

Mails to signatories go to their DPO mailbox (every signatory has one, whatever its adapter);
mails to residents carry links, never the answer itself. Logs carry ids only.
"""

from __future__ import annotations

import logging
from typing import Any

from desk.charter import alerts, contests, deadlines, suggestions
from desk.charter.models import Alert
from desk.core import clock
from desk.outbox.models import OutboxJob
from desk.outbox.worker import PermanentJobError
from desk.registry.models import Signatory
from desk.requests.links import answer_path, answer_token
from desk.requests.models import Delivery
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.residents.models import Resident
from desk.residents.views import kind_label
from desk.runtime import Runtime

log = logging.getLogger("desk.charter.jobs")

RESIDENT_TEMPLATES = frozenset({"deadline_missed", "signatory_excluded"})
CNIL_COMPLAINT_URL = "https://www.cnil.fr/fr/plaintes"


def dpo_mailbox(signatory: Signatory) -> str:
    """The email adapter's mailbox when set, the DPO address of the register otherwise."""
    if signatory.adapter == "email":
        mailbox = signatory.adapter_settings.get("mailbox")
        if isinstance(mailbox, str) and "@" in mailbox:
            return mailbox.strip()
    return signatory.dpo_email


async def send_partner_reminder(job: OutboxJob, rt: Runtime) -> None:
    delivery = (
        await Delivery.filter(id=int(job.payload["delivery_id"]))
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None or delivery.state not in OPEN_STATES or delivery.due_at <= clock.now():
        return  # answered meanwhile, or too late for a reminder
    settings = rt.settings
    token = answer_token(
        settings.secret_key,
        delivery_id=delivery.id,
        signatory_id=delivery.signatory_id,  # type: ignore[attr-defined]
    )
    await rt.send_mail(
        to=dpo_mailbox(delivery.signatory),
        template="partner_reminder",
        context={
            "signatory_name": delivery.signatory.name,
            "reference": delivery.request.reference,
            "kind_label": kind_label(delivery.request.kind),
            "received_at": delivery.received_at,
            "due_at": delivery.due_at,
            "one_day": job.payload.get("reminder") == "1d",
            "answer_url": settings.url(answer_path(token)),
        },
        idempotency_key=job.idempotency_key,
    )
    log.info("reminder %s sent for delivery %s", job.payload.get("reminder"), delivery.id)


async def send_resident_mail(job: OutboxJob, rt: Runtime) -> None:
    template = job.payload.get("template")
    if template not in RESIDENT_TEMPLATES:
        raise PermanentJobError(f"unknown charter resident template {template!r}")
    delivery = (
        await Delivery.filter(id=int(job.payload["delivery_id"]))
        .select_related("request", "signatory")
        .first()
    )
    if delivery is None or delivery.state in FINAL_STATES:
        return  # answered meanwhile: nothing left to tell
    resident = await Resident.filter(id=delivery.request.resident_id).first()  # type: ignore[attr-defined]
    if resident is None or not resident.email:
        return  # assisted residents hear from their mediator
    settings = rt.settings
    request = delivery.request
    context: dict[str, Any] = {
        "signatory_name": delivery.signatory.name,
        "signatory_slug": delivery.signatory.slug,
        "dpo_email": delivery.signatory.dpo_email,
        "kind_label": kind_label(request.kind),
        "reference": request.reference,
        "received_at": delivery.received_at,
        "due_at": delivery.due_at,
        "request_url": settings.url(f"/mon-espace/demandes/{request.reference}"),
        "complaint_url": settings.url(f"/mon-espace/reclamations/{delivery.id}"),
        "alerts_url": settings.url(f"/signataires/{delivery.signatory.slug}/alertes"),
        "cnil_url": CNIL_COMPLAINT_URL,
    }
    await rt.send_mail(
        to=resident.email,
        template=str(template),
        context=context,
        idempotency_key=job.idempotency_key,
        locale=resident.locale or "fr",
    )
    log.info("charter mail %s sent to resident %s (job %s)", template, resident.id, job.id)


async def send_alert_notice(job: OutboxJob, rt: Runtime) -> None:
    alert = await Alert.filter(id=int(job.payload["alert_id"])).select_related("signatory").first()
    if alert is None:
        return
    settings = rt.settings
    signatory = alert.signatory
    token = alerts.signatory_token(settings.secret_key, signatory_id=signatory.id)
    await rt.send_mail(
        to=dpo_mailbox(signatory),
        template="alert_notice",
        context={
            "signatory_name": signatory.name,
            "level": int(alert.level),
            "level_label": alerts.LEVEL_LABELS[int(alert.level)],
            "level_explained": alerts.LEVEL_EXPLANATIONS[int(alert.level)],
            "reason": alert.reason,
            "created_at": alert.created_at,
            "answer_url": settings.url(alerts.signatory_path(token)),
            "public_url": settings.url(f"/signataires/{signatory.slug}/alertes"),
            "formal_notice_days": settings.alert_formal_notice_days,
            "exclusion_days": settings.alert_exclusion_days,
        },
        idempotency_key=job.idempotency_key,
    )
    log.info("alert notice %s sent to signatory %s", alert.id, signatory.id)


async def charter_maintenance(rt: Runtime) -> None:
    """The periodic task: reminders, missed deadlines, then one step of the alert ladder."""
    now = clock.now()
    await deadlines.run(now=now)
    await alerts.evaluate_alerts(now=now, thresholds=alerts.Thresholds.from_settings(rt.settings))
    await suggestions.purge_unanswered_addresses(now=now)


HANDLERS = {
    deadlines.PARTNER_REMINDER_JOB: send_partner_reminder,
    deadlines.RESIDENT_MAIL_JOB: send_resident_mail,
    alerts.ALERT_NOTICE_JOB: send_alert_notice,
    contests.MAIL_JOB: contests.send_contest_mail,
    suggestions.MAIL_JOB: suggestions.send_answer_mail,
}
