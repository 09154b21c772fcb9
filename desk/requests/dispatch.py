"""Outbox handlers that carry deliveries to signatories through their adapters."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import URLSafeTimedSerializer

from adapters.base import (
    AdapterContext,
    Answer,
    Envelope,
    load_adapter,
)
from desk.core import clock, crypto
from desk.core.errors import DeskError
from desk.db_rows import BuiltSelect
from desk.outbox.models import OutboxJob
from desk.requests import partner_answer, transitions
from desk.requests.assurance import of_request as assurance_of
from desk.requests.effects import JobSpec, UploadedFile
from desk.requests.identifiers import known_identifiers
from desk.requests.links import SALT, answer_path
from desk.requests.models import Delivery, RightsRequest
from desk.runtime import Runtime

log = logging.getLogger("desk.dispatch")

MAX_POLLS = 200


# A delivery with its request, resident and signatory, read by each poll: the joined statement
# built once per database dialect (Tortoise built it again at every query, 0.58 of the 0.83 ms a
# load cost on SQLite; tests/desk/requests/test_dispatch_load.py compares the models).
_WITH_PARTIES = BuiltSelect(
    Delivery,
    lambda delivery_id: Delivery.filter(id=delivery_id).select_related(
        "request__resident", "signatory"
    ),
    markers=1,
)


async def _load(delivery_id: int) -> Delivery | None:
    found = await _WITH_PARTIES.run(delivery_id)
    return found[0] if found else None


async def build_envelope(delivery: Delivery, rt: Runtime) -> Envelope:
    signatory = delivery.signatory
    resident = delivery.request.resident
    request = delivery.request
    declarations = [
        {
            "code": d.code,
            "title": d.title,
            "data_categories": d.data_categories,
            "recipients": d.recipients,
        }
        for d in await signatory.declarations.all()
    ]
    return envelope_of(
        rt,
        delivery_id=delivery.id,
        signatory_id=signatory.id,
        state=delivery.state.value,
        received_at=delivery.received_at,
        due_at=delivery.due_at,
        dispatch_ref=delivery.dispatch_ref,
        reference=request.reference,
        kind=request.kind.value,
        assurance=request.assurance,
        filed_via=request.filed_via,
        scope=scope_of(request),
        slug=signatory.slug,
        name=signatory.name,
        accepted=signatory.accepted_identifiers,
        known=await known_identifiers(resident.id),
        email=resident.email,
        declarations=declarations,
    )


@functools.cache
def _token_serializer(secret: str) -> URLSafeTimedSerializer:
    # desk.requests.links.answer_token's serializer, made once per key rather than per link.
    return URLSafeTimedSerializer(secret, salt=SALT)


def envelope_of(
    rt: Runtime,
    *,
    delivery_id: int,
    signatory_id: int,
    state: str,
    received_at: datetime,
    due_at: datetime,
    dispatch_ref: str | None,
    reference: str,
    kind: str,
    assurance: str,
    filed_via: str,
    scope: dict[str, str] | None,
    slug: str,
    name: str,
    accepted: list[str] | None,
    known: dict[str, str],
    email: str | None,
    declarations: list[dict[str, Any]],
) -> Envelope:
    """The envelope of one delivery, from its columns (a model's or a batch's row)."""
    known = dict(known)
    if email:
        known["email"] = email
    # Only what the signatory accepts to find a person, and nothing else.
    allowed = set(accepted or [])
    identifiers = {k: value for k, value in known.items() if k in allowed}
    token = _token_serializer(rt.settings.secret_key).dumps({"d": delivery_id, "s": signatory_id})
    return Envelope(
        delivery_id=delivery_id,
        request_reference=reference,
        kind=kind,
        signatory_slug=slug,
        signatory_name=name,
        identifiers=identifiers,
        received_at=received_at,
        due_at=due_at,
        answer_url=rt.settings.url(answer_path(token)),
        idempotency_key=f"delivery-{delivery_id}",
        state=state,
        dispatch_reference=dispatch_ref,
        declarations=declarations,
        assurance=assurance_of(assurance=assurance, filed_via=filed_via),
        scope=scope,
    )


def scope_of(request: RightsRequest) -> dict[str, str] | None:
    """The one declaration an objection or a consent withdrawal names, as filed (None: all)."""
    return scope_from(request.scope, consent_withdrawal=request.consent_withdrawal)


def scope_from(scope: dict[str, Any] | None, *, consent_withdrawal: bool) -> dict[str, str] | None:
    if not scope:
        return None
    return {
        "declaration": str(scope.get("declaration", "")),
        "title": str(scope.get("title", "")),
        "purposes": str(scope.get("purposes", "")),
        "legal_basis": str(scope.get("legal_basis", "")),
        "ground": "consent_withdrawal" if consent_withdrawal else "objection",
    }


def channel_of(delivery: Delivery) -> str:
    """The back office may switch one delivery to another channel than its signatory's."""
    return delivery.channel or delivery.signatory.adapter


def adapter_settings(delivery: Delivery, secret_key: str) -> dict[str, Any]:
    """The signatory's adapter settings with secrets decrypted, for the adapter only."""
    return decrypted_settings(
        delivery.signatory.dpo_email, delivery.signatory.adapter_settings, secret_key
    )


def decrypted_settings(
    dpo_email: str, raw: dict[str, Any] | None, secret_key: str
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        # Every signatory has a DPO mailbox; an adapter's own settings may name another.
        "mailbox": dpo_email,
        **(raw or {}),
    }
    for name, value in settings.items():
        if crypto.is_encrypted(value):
            settings[name] = crypto.decrypt(secret_key, value)
        elif isinstance(value, list):
            settings[name] = [
                crypto.decrypt(secret_key, v) if crypto.is_encrypted(v) else v for v in value
            ]
    return settings


def make_adapter(delivery: Delivery, rt: Runtime) -> object:
    return new_adapter(
        channel=channel_of(delivery),
        dpo_email=delivery.signatory.dpo_email,
        raw_settings=delivery.signatory.adapter_settings,
        rt=rt,
    )


def new_adapter(
    *, channel: str, dpo_email: str, raw_settings: dict[str, Any] | None, rt: Runtime
) -> object:
    adapter_class = load_adapter(channel)
    context = AdapterContext(
        settings=decrypted_settings(dpo_email, raw_settings, rt.settings.secret_key),
        send_mail=rt.send_mail,
        base_url=rt.settings.base_url,
        options={"simulated_delay": rt.settings.simulated_delay, "env": rt.env},
        allowed_networks=rt.settings.partner_networks,
    )
    return adapter_class(context)


def poll_job(delivery_id: int, attempt: int, after: float) -> JobSpec:
    return JobSpec(
        kind="delivery.poll",
        payload={"delivery_id": delivery_id, "attempt": attempt},
        idempotency_key=f"poll-{delivery_id}-{attempt}",
        run_after=clock.now() + timedelta(seconds=after),
    )


def polled_answer(answer: Answer, upload: UploadedFile | None) -> partner_answer.PartnerAnswer:
    """An adapter's answer (an action name and its fields) as a typed partner answer."""
    match answer.action:
        case "acknowledge":
            return partner_answer.Acknowledge()
        case "extend":
            return partner_answer.Extend(reason=answer.reason)
        case "need_info":
            return partner_answer.NeedInfo(question=answer.detail)
        case "fulfil":
            return partner_answer.Fulfil(outcome=answer.outcome, file=upload)
        case "deny":
            return partner_answer.Deny(reason=answer.reason, detail=answer.detail)
    raise DeskError(transitions.MSG_NOT_NOW, code="conflict")


def interval_of(channel: str, settings: dict[str, Any] | None, rt: Runtime) -> float:
    """Seconds between two polls: the signatory's `poll_interval` setting, hourly by default."""
    if channel == "simulated":
        return rt.settings.simulated_delay
    try:
        return max(1.0, float((settings or {}).get("poll_interval", 3600)))
    except (TypeError, ValueError):
        return 3600.0


async def dispatch_dead(job: OutboxJob, rt: Runtime, error: str) -> None:
    """The adapter gave up: the delivery is failed, for the back office to decide."""
    try:
        await transitions.fail(
            delivery_id=int(job.payload["delivery_id"]), actor="worker", error=error
        )
    except DeskError:
        pass
