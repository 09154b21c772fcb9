"""A signatory contests an alert; the ethics committee decides (principle 2: alerts are fair).

The DPO files the contest with a reason in the organisation's space; the committee upholds it
(the alert is withdrawn: it no longer counts in the ladder and the register says so) or
dismisses it (the alert stands). The decision is dated and published without personal data;
the signatory hears of it by mail, through the outbox, in the decision's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter.models import Alert, AlertContest, ContestOutcome
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.registry.models import Signatory
from desk.runtime import Runtime

log = logging.getLogger("desk.charter.contests")

MAIL_JOB = "mail.alert_contest"
REASON_MAX = 2000
REASONING_MAX = 8000

OUTCOME_LABELS: dict[str, str] = {
    ContestOutcome.UPHELD.value: N_("contestation fondée : l'alerte est retirée"),
    ContestOutcome.DISMISSED.value: N_("contestation rejetée : l'alerte est maintenue"),
}
MSG_REASON = N_(
    "Écrivez pourquoi vous contestez cette alerte : ce qui, selon vous, est inexact ou injuste."
)
MSG_REASON_TOO_LONG = N_("Votre motif est trop long : 2 000 caractères au plus.")
MSG_ALERT = N_("Cette alerte est introuvable pour votre organisme.")
MSG_WITHDRAWN = N_("Cette alerte a déjà été retirée : il n'y a plus rien à contester.")
MSG_PENDING = N_(
    "Vous avez déjà contesté cette alerte : le comité d'éthique n'a pas encore décidé."
)
MSG_DECIDED = N_("Le comité a déjà rendu sa décision sur cette contestation.")
MSG_ONCE = N_(
    "Le comité d'éthique a déjà décidé sur votre contestation de cette alerte : une alerte se "
    "conteste une fois."
)
MSG_CONTEST = N_("Cette contestation est introuvable.")
MSG_OUTCOME = N_("Choisissez la décision : contestation fondée ou rejetée.")
MSG_REASONING = N_(
    "Écrivez la motivation de la décision : elle est publiée et envoyée au signataire."
)
MSG_REASONING_TOO_LONG = N_("La motivation est trop longue : 8 000 caractères au plus.")


def _text(raw: object, *, missing: str, too_long: str, limit: int) -> str:
    cleaned = raw.strip() if isinstance(raw, str) else ""
    if not cleaned:
        raise DeskError(missing)
    if len(cleaned) > limit:
        raise DeskError(too_long)
    return cleaned


async def contest_alert(
    *, alert_id: int, signatory_id: int, reason: object, actor: str
) -> AlertContest:
    """File a contest of one of the signatory's own alerts (an alert is contested once)."""
    text = _text(reason, missing=MSG_REASON, too_long=MSG_REASON_TOO_LONG, limit=REASON_MAX)
    async with in_transaction() as conn:
        alert = (
            await Alert.filter(id=alert_id, signatory_id=signatory_id)
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if alert is None:
            raise DeskError(MSG_ALERT, code="not_found")
        if alert.withdrawn_at is not None:
            raise DeskError(MSG_WITHDRAWN, code="conflict")
        earlier = await AlertContest.filter(alert_id=alert.id).using_db(conn).first()
        if earlier is not None:
            raise DeskError(MSG_ONCE if earlier.outcome else MSG_PENDING, code="conflict")
        contest = await AlertContest.create(
            alert=alert, reason=text, filed_at=clock.now(), using_db=conn
        )
        await record_action(
            action="charter.alert_contested",
            actor=actor,
            subject=f"alert:{alert.id}",
            detail={"contest": contest.id},
            connection=conn,
        )
    log.info("signatory %s contested alert %s (contest %s)", signatory_id, alert_id, contest.id)
    return contest


async def decide_contest(
    *, contest_id: int, member_id: int, outcome: object, reasoning: object
) -> AlertContest:
    """The committee's decision: upheld withdraws the alert, dismissed keeps it."""
    try:
        chosen = ContestOutcome(str(outcome))
    except ValueError as exc:
        raise DeskError(MSG_OUTCOME) from exc
    text = _text(
        reasoning, missing=MSG_REASONING, too_long=MSG_REASONING_TOO_LONG, limit=REASONING_MAX
    )
    async with in_transaction() as conn:
        contest = (
            await AlertContest.filter(id=contest_id).using_db(conn).select_for_update().first()
        )
        if contest is None:
            raise DeskError(MSG_CONTEST, code="not_found")
        if contest.outcome:
            raise DeskError(MSG_DECIDED, code="conflict")
        now = clock.now()
        contest.outcome = chosen.value
        contest.reasoning = text
        contest.decided_at = now
        await contest.save(using_db=conn, update_fields=["outcome", "reasoning", "decided_at"])
        alert_id: int = contest.alert_id  # type: ignore[attr-defined]
        if chosen == ContestOutcome.UPHELD:
            alert = await Alert.get(id=alert_id, using_db=conn)
            alert.withdrawn_at = now
            alert.closed_at = alert.closed_at or now
            await alert.save(using_db=conn, update_fields=["withdrawn_at", "closed_at"])
        await record_action(
            action="charter.contest_decided",
            actor=f"staff:{member_id}",
            subject=f"alert:{alert_id}",
            detail={"contest": contest.id, "outcome": chosen.value},
            connection=conn,
        )
        await enqueue(
            kind=MAIL_JOB,
            payload={"contest_id": contest.id},
            idempotency_key=f"alert-contest-{contest.id}-decided",
            connection=conn,
        )
    log.info("committee member %s decided contest %s: %s", member_id, contest_id, chosen.value)
    return contest


@dataclass(frozen=True)
class ContestView:
    contest: AlertContest
    alert: Alert
    signatory: Signatory


async def all_contests() -> list[ContestView]:
    """Every contest, those awaiting a decision first (the committee's list)."""
    found = await AlertContest.all().select_related("alert__signatory").order_by("-filed_at", "-id")
    views = [ContestView(c, c.alert, c.alert.signatory) for c in found]
    return sorted(views, key=lambda v: bool(v.contest.outcome))


async def contests_of(*, signatory_id: int) -> dict[int, list[AlertContest]]:
    """The signatory's contests by alert id, newest first."""
    found = await AlertContest.filter(alert__signatory_id=signatory_id).order_by("-filed_at", "-id")
    by_alert: dict[int, list[AlertContest]] = {}
    for contest in found:
        by_alert.setdefault(contest.alert_id, []).append(contest)  # type: ignore[attr-defined]
    return by_alert


async def send_contest_mail(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.alert_contest": the signatory's DPO hears the decision."""
    contest = (
        await AlertContest.filter(id=int(job.payload["contest_id"]))
        .select_related("alert__signatory")
        .first()
    )
    if contest is None or not contest.outcome:
        return
    signatory = contest.alert.signatory
    await rt.send_mail(
        to=signatory.dpo_email,
        template="alert_contest",
        context={
            "signatory_name": signatory.name,
            "alert_id": contest.alert.id,
            "alert_date": clock.local(contest.alert.created_at),
            "outcome": contest.outcome,
            "outcome_label": OUTCOME_LABELS.get(contest.outcome, ""),
            "reasoning": contest.reasoning,
            "space_url": rt.settings.url("/organisation/alertes"),
            "public_url": rt.settings.url(f"/signataires/{signatory.slug}/alertes"),
        },
        idempotency_key=job.idempotency_key,
    )
