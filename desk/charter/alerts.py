"""The charter-compliance ladder: alert 1 (reminder) → alert 2 (formal notice) → exclusion proposed.

An *episode* is the run of open (not closed) alerts of one signatory. One evaluation takes at
most one step per signatory, and never the same step twice in an episode:

- no open episode and a delivery overdue → alert 1;
- alert 1 and still overdue `alert_formal_notice_days` after it, or `alert_rolling_overdue`
  late deliveries within the last 365 days → alert 2;
- alert 2 and still overdue `alert_exclusion_days` after it → alert 3, exclusion proposed;
- nothing overdue any more before alert 3 → the episode is closed (resolved). An exclusion
  proposal stays open until the ethics committee decides (desk.charter.committee).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from tortoise.transactions import in_transaction

from desk.charter.models import Alert, AlertLevel
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.services import enqueue
from desk.registry.models import CharterStatus, Signatory
from desk.requests.models import Delivery
from desk.requests.states import OPEN_STATES
from desk.settings import Settings

log = logging.getLogger("desk.charter.alerts")

ALERT_NOTICE_JOB = "charter.alert_notice"
ROLLING_YEAR = timedelta(days=365)
LINK_SALT = "desk.charter-signatory"
RESPONSE_MAX = 4000

LEVEL_LABELS: dict[int, str] = {
    1: N_("Alerte 1 : rappel"),
    2: N_("Alerte 2 : mise en demeure"),
    3: N_("Alerte 3 : exclusion proposée au comité d'éthique"),
}
LEVEL_EXPLANATIONS: dict[int, str] = {
    1: N_(
        "Le signataire a laissé passer le délai de réponse d'au moins une demande. "
        "Le guichet le lui rappelle."
    ),
    2: N_(
        "Le retard dure ou se répète : le guichet demande formellement au signataire de "
        "respecter ses engagements (mise en demeure)."
    ),
    3: N_(
        "Le retard dure malgré la mise en demeure : le comité d'éthique de la charte est saisi "
        "et décide de l'exclusion ou du maintien du signataire."
    ),
}


# --- the signatory's signed link (answers to alerts, self-evaluation) ----------------------


class SignatoryLinkInvalid(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def signatory_token(secret: str, *, signatory_id: int) -> str:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT).dumps({"s": signatory_id})


def read_signatory_token(secret: str, token: str, *, max_age: int) -> int:
    try:
        data = URLSafeTimedSerializer(secret, salt=LINK_SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise SignatoryLinkInvalid(expired=True) from exc
    except BadSignature as exc:
        raise SignatoryLinkInvalid(expired=False) from exc
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise SignatoryLinkInvalid(expired=False)
    return int(data["s"])


def signatory_path(token: str) -> str:
    return f"/partenaires/charte/{token}"


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    formal_notice_days: int
    rolling_overdue: int
    exclusion_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            formal_notice_days=settings.alert_formal_notice_days,
            rolling_overdue=settings.alert_rolling_overdue,
            exclusion_days=settings.alert_exclusion_days,
        )


async def overdue_ids(*, signatory_id: int, now: datetime) -> list[int]:
    # A deadline paused for the resident's answer about identity is not missed (pause.py).
    rows = (
        await Delivery.filter(
            signatory_id=signatory_id, state__in=list(OPEN_STATES), due_at__lt=now
        )
        .filter(paused_since__isnull=True)
        .values("id")
    )
    return sorted(int(r["id"]) for r in rows)


async def late_in_rolling_year(*, signatory_id: int, now: datetime) -> int:
    """Deliveries due within the last 365 days that were, or still are, past their deadline."""
    rows = await Delivery.filter(
        signatory_id=signatory_id, due_at__lt=now, due_at__gte=now - ROLLING_YEAR
    ).values("state", "due_at", "completed_at", "paused_since")
    late = 0
    for row in rows:
        completed = row["completed_at"]
        still_open = row["state"] in OPEN_STATES and row["paused_since"] is None
        if still_open or (completed is not None and completed > row["due_at"]):
            late += 1
    return late


def _ids_text(ids: list[int]) -> str:
    shown = ", ".join(f"n° {i}" for i in ids[:20])
    return shown + (f" et {len(ids) - 20} autres" if len(ids) > 20 else "")


async def _raise(
    signatory: Signatory, level: AlertLevel, reason: str, ids: list[int], now: datetime
) -> Alert:
    async with in_transaction() as conn:
        alert = await Alert.create(
            signatory=signatory,
            level=level,
            reason=reason,
            delivery_ids=ids,
            created_at=now,
            using_db=conn,
        )
        await enqueue(
            kind=ALERT_NOTICE_JOB,
            payload={"alert_id": alert.id},
            idempotency_key=f"alert-notice-{alert.id}",
            connection=conn,
        )
    log.info("alert %s level %s raised for signatory %s", alert.id, int(level), signatory.id)
    return alert


async def evaluate_signatory(
    signatory: Signatory, *, now: datetime, thresholds: Thresholds
) -> Alert | None:
    """Take the next step of the ladder for this signatory, if one is due; the new alert."""
    if signatory.charter_status == CharterStatus.EXCLUDED:
        return None
    overdue = await overdue_ids(signatory_id=signatory.id, now=now)
    # Deliveries behind an alert the committee withdrew (contest upheld) raise no new one.
    withdrawn = await Alert.filter(
        signatory_id=signatory.id, withdrawn_at__isnull=False
    ).values_list("delivery_ids", flat=True)
    excused = {int(i) for ids in withdrawn for i in (ids or [])}
    overdue = [i for i in overdue if i not in excused]
    episode = await Alert.filter(signatory_id=signatory.id, closed_at__isnull=True).order_by(
        "-level", "-created_at"
    )
    if not episode:
        if not overdue:
            return None
        count = len(overdue)
        reason = (
            f"{count} demande{'s' if count > 1 else ''} d'habitant{'s' if count > 1 else ''} "
            f"sans réponse définitive après la date limite ({_ids_text(overdue)})."
        )
        return await _raise(signatory, AlertLevel.REMINDER, reason, overdue, now)
    top = episode[0]
    if not overdue:
        if top.level < AlertLevel.EXCLUSION_PROPOSED:
            await Alert.filter(signatory_id=signatory.id, closed_at__isnull=True).update(
                closed_at=now
            )
            log.info("alert episode of signatory %s resolved", signatory.id)
        return None
    if top.level == AlertLevel.REMINDER:
        waited = now - top.created_at >= timedelta(days=thresholds.formal_notice_days)
        late = await late_in_rolling_year(signatory_id=signatory.id, now=now)
        if waited:
            reason = (
                f"Des demandes restent sans réponse {thresholds.formal_notice_days} jours après "
                f"le rappel du {clock.local(top.created_at):%d/%m/%Y} ({_ids_text(overdue)})."
            )
        elif late >= thresholds.rolling_overdue:
            reason = (
                f"{late} demandes ont dépassé leur date limite au cours des douze derniers mois "
                f"(seuil : {thresholds.rolling_overdue}) ; en retard aujourd'hui : "
                f"{_ids_text(overdue)}."
            )
        else:
            return None
        return await _raise(signatory, AlertLevel.FORMAL_NOTICE, reason, overdue, now)
    if top.level == AlertLevel.FORMAL_NOTICE:
        if now - top.created_at < timedelta(days=thresholds.exclusion_days):
            return None
        reason = (
            f"Des demandes restent sans réponse {thresholds.exclusion_days} jours après la mise "
            f"en demeure du {clock.local(top.created_at):%d/%m/%Y} ({_ids_text(overdue)}). "
            "L'exclusion de la charte est proposée au comité d'éthique."
        )
        return await _raise(signatory, AlertLevel.EXCLUSION_PROPOSED, reason, overdue, now)
    return None


async def evaluate_alerts(*, now: datetime, thresholds: Thresholds) -> list[Alert]:
    """One evaluation of every signatory still in the charter; the alerts raised."""
    raised: list[Alert] = []
    signatories = await Signatory.filter(
        charter_status__in=[CharterStatus.SIGNED, CharterStatus.SUSPENDED]
    ).order_by("id")
    for signatory in signatories:
        alert = await evaluate_signatory(signatory, now=now, thresholds=thresholds)
        if alert is not None:
            raised.append(alert)
    return raised


# --- reading and answering ----------------------------------------------------------------


async def alerts_of(*, signatory_id: int) -> list[Alert]:
    return await Alert.filter(signatory_id=signatory_id).order_by("-created_at", "-id")


def alert_document(alert: Alert) -> dict[str, Any]:
    """An alert as published (public JSON and the partner API)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": alert.id,
        "level": int(alert.level),
        "label": LEVEL_LABELS[int(alert.level)],
        "reason": alert.reason,
        "delivery_ids": list(alert.delivery_ids),
        "created_at": iso(alert.created_at),
        "closed_at": iso(alert.closed_at),
        "response": alert.response,
        "corrective_plan": alert.corrective_plan,
        "responded_at": iso(alert.responded_at),
        "withdrawn_at": iso(alert.withdrawn_at),
    }


MSG_EXPLANATION = N_("Écrivez votre explication : pourquoi les délais n'ont pas été tenus.")
MSG_PLAN = N_("Écrivez votre plan d'action : ce que votre organisme fait pour tenir les délais.")
MSG_TOO_LONG = N_("Votre texte est trop long : 4000 caractères au plus.")
MSG_ALERT_NOT_FOUND = N_("Cette alerte est introuvable pour votre organisme.")


async def alert_of(*, alert_id: int, signatory_id: int) -> Alert:
    """One of this signatory's alerts; another signatory's is "not found", like a missing one."""
    alert = await Alert.filter(id=alert_id, signatory_id=signatory_id).first()
    if alert is None:
        raise DeskError(MSG_ALERT_NOT_FOUND, code="not_found")
    return alert


def _clean(value: object, missing: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DeskError(missing)
    text = value.strip()
    if len(text) > RESPONSE_MAX:
        raise DeskError(MSG_TOO_LONG)
    return text


async def respond(
    *, alert_id: int, signatory_id: int, explanation: object, corrective_plan: object
) -> Alert:
    """The signatory's explanation and corrective plan (a later answer replaces the earlier)."""
    alert = await alert_of(alert_id=alert_id, signatory_id=signatory_id)
    alert.response = _clean(explanation, MSG_EXPLANATION)
    alert.corrective_plan = _clean(corrective_plan, MSG_PLAN)
    alert.responded_at = clock.now()
    await alert.save(update_fields=["response", "corrective_plan", "responded_at"])
    log.info("signatory %s answered alert %s", signatory_id, alert.id)
    return alert
