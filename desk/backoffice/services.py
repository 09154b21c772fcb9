"""The back office: who is late, what failed and why, and what staff may do about it.

Plain keyword-only async functions; no HTTP objects. Every change goes through the delivery
state machine (desk.requests.transitions) with actor "staff:<id>", so the audit trail says
which staff member did what.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from adapters.base import adapter_names
from adapters.network import Network
from adapters.postal import validate_settings as validate_postal_settings
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.services import retry_dead
from desk.partners import services as answers
from desk.partners.channels import ChannelError, configure_channel
from desk.receipts.keys import Keyring
from desk.registry.models import Declaration, Signatory
from desk.requests import queries, transitions
from desk.requests.audit import record_event
from desk.requests.dispatch import build_envelope
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.requests.transitions import AlreadyAnswered, DeliveryNotFound, UploadedFile
from desk.residents.views import answer_lines
from desk.runtime import Runtime

log = logging.getLogger("desk.backoffice")

POSTAL = "postal"
LETTER_PRINTED = "letter_printed"
CHANNEL_CHANGED = "channel_changed"
LIST_LIMIT = 300
STATE_ORDER = [s.value for s in DeliveryState]


def actor_for(staff_id: int) -> str:
    return f"staff:{staff_id}"


def channel_of(delivery: Delivery) -> str:
    """The channel a delivery travels by: the back office's choice, else the signatory's."""
    return delivery.channel or delivery.signatory.adapter


# --- overview ----------------------------------------------------------------------------------


@dataclass
class SignatoryLine:
    signatory: Signatory
    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class DeadJob:
    job: OutboxJob
    delivery: Delivery | None
    # The adapter that failed ("email", "webhook"...), for delivery jobs.
    connector: str | None


@dataclass
class Overview:
    lines: list[SignatoryLine]
    dead: list[DeadJob]
    states: list[str]
    postal_waiting: int


async def state_counts(*, signatory_id: int | None = None) -> dict[int, dict[str, int]]:
    """signatory id → {state: deliveries}, in one aggregated query."""
    query = Delivery.all()
    if signatory_id is not None:
        query = query.filter(signatory_id=signatory_id)
    rows = (
        await query.annotate(n=Count("id"))
        .group_by("signatory_id", "state")
        .values("signatory_id", "state", "n")
    )
    counts: dict[int, dict[str, int]] = {}
    for row in rows:
        state = str(DeliveryState(row["state"]).value)
        counts.setdefault(row["signatory_id"], {})[state] = int(row["n"])
    return counts


async def overdue_counts(*, now: datetime, signatory_id: int | None = None) -> dict[int, int]:
    query = Delivery.filter(due_at__lt=now, paused_since__isnull=True).exclude(
        state__in=list(FINAL_STATES)
    )
    if signatory_id is not None:
        query = query.filter(signatory_id=signatory_id)
    rows = await query.annotate(n=Count("id")).group_by("signatory_id").values("signatory_id", "n")
    return {row["signatory_id"]: int(row["n"]) for row in rows}


async def dead_jobs() -> list[DeadJob]:
    """Parked jobs, newest first, with the delivery and signatory they were about."""
    jobs = await OutboxJob.filter(state=JobState.DEAD).order_by("-finished_at", "-id")
    ids = {
        int(job.payload["delivery_id"])
        for job in jobs
        if str(job.payload.get("delivery_id", "")).isdigit()
    }
    deliveries = {
        d.id: d
        for d in await Delivery.filter(id__in=list(ids)).select_related("signatory", "request")
    }
    out: list[DeadJob] = []
    for job in jobs:
        raw = str(job.payload.get("delivery_id", ""))
        delivery = deliveries.get(int(raw)) if raw.isdigit() else None
        connector = channel_of(delivery) if delivery and job.kind.startswith("delivery.") else None
        out.append(DeadJob(job=job, delivery=delivery, connector=connector))
    return out


async def overview(*, now: datetime | None = None) -> Overview:
    moment = now or clock.now()
    signatories = await Signatory.all().order_by("name")
    counts = await state_counts()
    overdue = await overdue_counts(now=moment)
    lines = [
        SignatoryLine(signatory=s, counts=counts.get(s.id, {}), overdue=overdue.get(s.id, 0))
        for s in signatories
    ]
    return Overview(
        lines=lines,
        dead=await dead_jobs(),
        states=STATE_ORDER,
        postal_waiting=await _postal_query(printed=False).count(),
    )


async def retry_job(*, job_id: int, staff_id: int, keyring: Keyring, issuer: str) -> OutboxJob:
    """Give a dead job another go.

    A dead dispatch has already marked its delivery failed, and a dispatch only carries a
    pending delivery: so for those the delivery is retried through the state machine (which
    writes a fresh dispatch job) and the dead job is closed, rather than revived to do nothing.
    """
    job = await OutboxJob.filter(id=job_id).first()
    if job is None:
        raise DeskError("Cette tâche est introuvable.", code="not_found")
    if job.state != JobState.DEAD:
        raise DeskError(
            "Cette tâche n'est plus en échec : elle a déjà été relancée.", code="conflict"
        )
    raw = str(job.payload.get("delivery_id", ""))
    if job.kind == "delivery.dispatch" and raw.isdigit():
        delivery = await Delivery.filter(id=int(raw)).first()
        if delivery is not None and delivery.state == DeliveryState.FAILED:
            await retry_delivery(
                delivery_id=delivery.id, staff_id=staff_id, keyring=keyring, issuer=issuer
            )
            await job.refresh_from_db()
            return job
    if not await retry_dead(job_id=job.id):
        raise DeskError(
            "Cette tâche n'est plus en échec : elle a déjà été relancée.", code="conflict"
        )
    log.info("dead job %s retried by staff %s", job.id, staff_id)
    await job.refresh_from_db()
    return job


async def _close_dead_dispatches(delivery_id: int) -> None:
    await OutboxJob.filter(
        Q(idempotency_key=f"dispatch-{delivery_id}")
        | Q(idempotency_key__startswith=f"dispatch-{delivery_id}-"),
        state=JobState.DEAD,
        kind="delivery.dispatch",
    ).update(state=JobState.DONE, finished_at=clock.now())


# --- one signatory ------------------------------------------------------------------------------


@dataclass
class SignatoryView:
    signatory: Signatory
    counts: dict[str, int]
    overdue: int
    deliveries: list[Delivery]
    truncated: bool
    state: str | None
    kind: str | None
    late_only: bool


def parse_state(raw: str | None) -> DeliveryState | None:
    if not raw:
        return None
    try:
        return DeliveryState(raw)
    except ValueError as exc:
        raise DeskError("État inconnu : choisissez un état dans la liste.") from exc


def parse_kind(raw: str | None) -> RequestKind | None:
    if not raw:
        return None
    try:
        return RequestKind(raw)
    except ValueError as exc:
        raise DeskError("Type de demande inconnu : choisissez-en un dans la liste.") from exc


async def signatory_view(
    *,
    slug: str,
    state: str | None = None,
    kind: str | None = None,
    late_only: bool = False,
    now: datetime | None = None,
) -> SignatoryView:
    moment = now or clock.now()
    signatory = await Signatory.filter(slug=slug[:64]).first()
    if signatory is None:
        raise DeskError("Ce signataire est introuvable.", code="not_found")
    wanted_state = parse_state(state)
    wanted_kind = parse_kind(kind)
    query = Delivery.filter(signatory_id=signatory.id)
    if wanted_state is not None:
        query = query.filter(state=wanted_state)
    if wanted_kind is not None:
        query = query.filter(request__kind=wanted_kind)
    if late_only:
        query = query.filter(due_at__lt=moment).exclude(state__in=list(FINAL_STATES))
    rows = await query.select_related("request").order_by("due_at", "id").limit(LIST_LIMIT + 1)
    counts = await state_counts(signatory_id=signatory.id)
    overdue = await overdue_counts(now=moment, signatory_id=signatory.id)
    return SignatoryView(
        signatory=signatory,
        counts=counts.get(signatory.id, {}),
        overdue=overdue.get(signatory.id, 0),
        deliveries=list(rows[:LIST_LIMIT]),
        truncated=len(rows) > LIST_LIMIT,
        state=wanted_state.value if wanted_state else None,
        kind=wanted_kind.value if wanted_kind else None,
        late_only=late_only,
    )


# --- one delivery -------------------------------------------------------------------------------


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


async def _delivery(delivery_id: int) -> Delivery:
    delivery = (
        await Delivery.filter(id=delivery_id)
        .select_related("request__resident", "signatory")
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


async def delivery_view(*, delivery_id: int, now: datetime | None = None) -> DeliveryView:
    moment = now or clock.now()
    delivery = await _delivery(delivery_id)
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


async def retry_delivery(
    *, delivery_id: int, staff_id: int, keyring: Keyring, issuer: str
) -> Delivery:
    """Send a failed delivery again, through its (possibly changed) channel."""
    current = await _delivery(delivery_id)
    if current.state != DeliveryState.FAILED:
        raise DeskError(
            "Seul un envoi en échec peut être relancé : celui-ci ne l'est pas (ou plus).",
            code="conflict",
        )
    delivery = await transitions.retry(delivery_id=delivery_id, actor=actor_for(staff_id))
    await _close_dead_dispatches(delivery_id)
    log.info("delivery %s retried by staff %s", delivery_id, staff_id)
    return delivery


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
    delivery = await _delivery(delivery_id)
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
    delivery = await _delivery(delivery_id)
    if delivery.state in FINAL_STATES:
        raise AlreadyAnswered(delivery.state)
    answers.ensure_allowed(
        action, delivery.state, received_at=delivery.received_at, now=clock.now()
    )
    answer: transitions.PartnerAnswer = transitions.Acknowledge()
    if action == "extend":
        reason, months = answers.parse_extension(fields)
        answer = transitions.Extend(reason=reason, extra_months=months)
    elif action == "deny":
        reason, detail = answers.parse_denial(fields)
        answer = transitions.Deny(reason=reason, detail=detail)
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
        answer = transitions.Fulfil(outcome=outcome, file=file)
    return await transitions.answer(
        delivery_id=delivery.id,
        answer=answer,
        actor=actor_for(staff_id),
        keyring=keyring,
        issuer=issuer,
        download_max_age=download_max_age,
    )


# --- postal letters ----------------------------------------------------------------------------


def _postal_query(*, printed: bool) -> Any:
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
        await _postal_query(printed=False)
        .select_related("request", "signatory")
        .order_by("received_at", "id")
        .limit(LIST_LIMIT)
    )
    awaiting = (
        await _postal_query(printed=True)
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
    delivery = await _delivery(delivery_id)
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
