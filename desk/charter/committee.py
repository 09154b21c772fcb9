"""The ethics committee: exclusion proposals, residents' complaints, and reasoned decisions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from desk.charter.models import Alert, AlertLevel, CommitteeDecision, Complaint, DecisionOutcome
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.services import enqueue
from desk.registry.joining import record_status
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery
from desk.requests.states import FINAL_STATES

log = logging.getLogger("desk.charter.committee")

RESIDENT_MAIL_JOB = "charter.resident_mail"
REASONING_MAX = 8000

OUTCOME_LABELS: dict[str, str] = {
    DecisionOutcome.EXCLUDED.value: N_("Exclusion de la charte"),
    DecisionOutcome.KEPT_WITH_CONDITIONS.value: N_("Maintien sous conditions"),
    DecisionOutcome.KEPT.value: N_("Maintien"),
}

MSG_NO_REASONING = N_(
    "Écrivez la motivation de la décision : elle est publiée avec elle, pour que chacun "
    "comprenne pourquoi."
)
MSG_NO_CONDITIONS = N_("Écrivez les conditions du maintien : ce que le signataire doit faire.")
MSG_BAD_OUTCOME = N_("Choisissez une décision : exclusion, maintien sous conditions ou maintien.")
MSG_TOO_LONG = N_("La motivation est trop longue : 8000 caractères au plus.")
MSG_NO_PROPOSAL = N_("Cette proposition d'exclusion est introuvable.")
MSG_ALREADY_DECIDED = N_("Le comité a déjà rendu sa décision sur cette proposition.")


@dataclass(frozen=True)
class Proposal:
    alert: Alert
    signatory: Signatory
    decision: CommitteeDecision | None


async def proposals() -> list[Proposal]:
    """Every exclusion proposal, those awaiting a decision first."""
    alerts = (
        await Alert.filter(level=AlertLevel.EXCLUSION_PROPOSED, withdrawn_at__isnull=True)
        .select_related("signatory")
        .order_by("-created_at", "-id")
    )
    decisions = {
        d.alert_id: d  # type: ignore[attr-defined]
        for d in await CommitteeDecision.filter(alert_id__in=[a.id for a in alerts])
    }
    result = [Proposal(a, a.signatory, decisions.get(a.id)) for a in alerts]
    return sorted(result, key=lambda p: p.decision is not None)


async def complaints() -> list[Complaint]:
    return (
        await Complaint.all()
        .select_related("delivery__signatory", "delivery__request")
        .order_by("-created_at", "-id")
    )


async def decisions_of(*, signatory_id: int) -> list[CommitteeDecision]:
    return await CommitteeDecision.filter(alert__signatory_id=signatory_id).order_by(
        "-decided_at", "-id"
    )


def parse_outcome(raw: object) -> DecisionOutcome:
    try:
        return DecisionOutcome(str(raw))
    except ValueError as exc:
        raise DeskError(MSG_BAD_OUTCOME) from exc


async def decide(
    *,
    alert_id: int,
    member_id: int,
    outcome: DecisionOutcome,
    reasoning: str,
    conditions: str = "",
    now: datetime,
) -> CommitteeDecision:
    """Record the committee's decision on an exclusion proposal and carry it out.

    Exclusion sets the signatory EXCLUDED (the register shows it; `file_request` sends new
    requests only to SIGNED signatories) and tells each resident with an open delivery there.
    Any decision closes the alert episode.
    """
    reasoning = (reasoning or "").strip()
    conditions = (conditions or "").strip()
    if not reasoning:
        raise DeskError(MSG_NO_REASONING)
    if len(reasoning) > REASONING_MAX or len(conditions) > REASONING_MAX:
        raise DeskError(MSG_TOO_LONG)
    if outcome == DecisionOutcome.KEPT_WITH_CONDITIONS and not conditions:
        raise DeskError(MSG_NO_CONDITIONS)
    async with in_transaction() as conn:
        alert = (
            await Alert.filter(
                id=alert_id, level=AlertLevel.EXCLUSION_PROPOSED, withdrawn_at__isnull=True
            )
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if alert is None:
            raise DeskError(MSG_NO_PROPOSAL, code="not_found")
        if await CommitteeDecision.filter(alert_id=alert.id).using_db(conn).exists():
            raise DeskError(MSG_ALREADY_DECIDED, code="conflict")
        decision = await CommitteeDecision.create(
            alert=alert,
            member_id=member_id,
            outcome=outcome,
            reasoning=reasoning,
            conditions=conditions,
            decided_at=now,
            using_db=conn,
        )
        signatory_id: int = alert.signatory_id  # type: ignore[attr-defined]
        await (
            Alert.filter(signatory_id=signatory_id, closed_at__isnull=True)
            .using_db(conn)
            .update(closed_at=now)
        )
        if outcome == DecisionOutcome.EXCLUDED:
            await record_status(
                signatory_id=signatory_id,
                status=CharterStatus.EXCLUDED,
                reason=reasoning,
                connection=conn,
            )
            open_rows = (
                await Delivery.filter(signatory_id=signatory_id)
                .using_db(conn)
                .exclude(state__in=list(FINAL_STATES))
                .values("id")
            )
            for delivery_id in (int(row["id"]) for row in open_rows):
                await enqueue(
                    kind=RESIDENT_MAIL_JOB,
                    payload={"delivery_id": delivery_id, "template": "signatory_excluded"},
                    idempotency_key=f"signatory-excluded-{delivery_id}",
                    connection=conn,
                )
    log.info("committee member %s decided %s on alert %s", member_id, outcome.value, alert_id)
    return decision
