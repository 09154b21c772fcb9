"""The ethics committee in public: who sits on it (colleges, mandates) and what it decided.

Members are public office holders: their name, college, office and mandate dates are public,
and nothing else about them is kept. The desk's administrators keep the list. Decisions are
published without personal data: a complaint's decision shows its outcome, never the person or
the words sent to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter import committee, complaints, contests, suggestions
from desk.charter.models import (
    AlertContest,
    College,
    CommitteeDecision,
    CommitteeSeat,
    Complaint,
)
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_

log = logging.getLogger("desk.charter.composition")

NAME_MAX = 200
COLLEGE_LABELS: dict[str, str] = {
    College.ELECTED.value: N_("Élus de Brest métropole et de la ville de Brest"),
    College.CITIZENS.value: N_("Habitants, dont des membres du jury citoyen"),
    College.EXPERTS.value: N_("Personnalités qualifiées (droit, éthique, numérique)"),
    College.SIGNATORIES.value: N_("Représentants des organisations signataires"),
}
KIND_LABELS: dict[str, str] = {
    "exclusion_proposal": N_("Proposition d'exclusion"),
    "alert_contest": N_("Contestation d'une alerte"),
    "complaint": N_("Réclamation d'un habitant"),
    "suggestion": N_("Proposition d'amélioration de la charte"),
}
MSG_NAME = N_("Indiquez le nom du membre (200 caractères au plus).")
MSG_OFFICE = N_("La fonction est trop longue : 200 caractères au plus.")
MSG_COLLEGE = N_("Choisissez le collège du membre dans la liste.")
MSG_START = N_("Indiquez la date de début du mandat, au format 2026-01-31.")
MSG_END = N_("La date de fin du mandat doit suivre la date de début, au format 2026-01-31.")
MSG_SEAT = N_("Ce membre du comité est introuvable.")


def _date(raw: str, message: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError as exc:
        raise DeskError(message) from exc


def _checked(*, name: str, college: str, office: str, start: str, end: str) -> dict[str, object]:
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise DeskError(MSG_NAME)
    try:
        chosen = College(college)
    except ValueError as exc:
        raise DeskError(MSG_COLLEGE) from exc
    office = " ".join((office or "").split())
    if len(office) > NAME_MAX:
        raise DeskError(MSG_OFFICE)
    begins = _date(start, MSG_START)
    ends = _date(end, MSG_END) if end.strip() else None
    if ends is not None and ends < begins:
        raise DeskError(MSG_END)
    return {
        "name": cleaned,
        "college": chosen,
        "office": office,
        "mandate_start": begins,
        "mandate_end": ends,
    }


async def add_seat(
    *, name: str, college: str, office: str, start: str, end: str, actor: str
) -> CommitteeSeat:
    values = _checked(name=name, college=college, office=office, start=start, end=end)
    async with in_transaction() as conn:
        seat = await CommitteeSeat.create(using_db=conn, **values)
        await record_action(
            action="committee.seat_added", actor=actor, subject=f"seat:{seat.id}", connection=conn
        )
    return seat


async def update_seat(
    *, seat_id: int, name: str, college: str, office: str, start: str, end: str, actor: str
) -> CommitteeSeat:
    values = _checked(name=name, college=college, office=office, start=start, end=end)
    async with in_transaction() as conn:
        seat = await CommitteeSeat.filter(id=seat_id).using_db(conn).select_for_update().first()
        if seat is None:
            raise DeskError(MSG_SEAT, code="not_found")
        seat.update_from_dict(values)
        await seat.save(using_db=conn)
        await record_action(
            action="committee.seat_changed", actor=actor, subject=f"seat:{seat.id}", connection=conn
        )
    return seat


async def seats() -> list[CommitteeSeat]:
    return list(await CommitteeSeat.all().order_by("college", "name", "id"))


def sitting(seat: CommitteeSeat, *, today: date) -> bool:
    return seat.mandate_start <= today and (seat.mandate_end is None or seat.mandate_end >= today)


async def composition(
    *, today: date | None = None
) -> tuple[list[CommitteeSeat], list[CommitteeSeat]]:
    """(sitting members, former members) as of `today`."""
    today = today or clock.local(clock.now()).date()
    found = await seats()
    return [s for s in found if sitting(s, today=today)], [
        s for s in found if not sitting(s, today=today)
    ]


# --- the decisions, published -------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedDecision:
    kind: str
    subject_id: int
    signatory_slug: str
    signatory_name: str
    outcome: str
    outcome_label: str
    # The published reasoning; "" for a complaint (its words went to the person alone).
    reasoning: str
    decided_at: datetime

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.subject_id}"


async def published_decisions() -> list[PublishedDecision]:
    """Every decision of the committee, newest first, without personal data."""
    found: list[PublishedDecision] = []
    for d in await CommitteeDecision.all().select_related("alert__signatory"):
        found.append(
            PublishedDecision(
                "exclusion_proposal", d.alert.id, d.alert.signatory.slug, d.alert.signatory.name,
                d.outcome.value, committee.OUTCOME_LABELS.get(d.outcome.value, ""), d.reasoning,
                d.decided_at,
            )
        )  # fmt: skip
    for c in await AlertContest.filter(decided_at__isnull=False).select_related("alert__signatory"):
        assert c.decided_at is not None
        found.append(
            PublishedDecision(
                "alert_contest", c.id, c.alert.signatory.slug, c.alert.signatory.name, c.outcome,
                contests.OUTCOME_LABELS.get(c.outcome, ""), c.reasoning, c.decided_at,
            )
        )  # fmt: skip
    closed = Complaint.filter(status="closed", answered_at__isnull=False)
    for p in await closed.select_related("delivery__signatory"):
        assert p.answered_at is not None
        found.append(
            PublishedDecision(
                "complaint", p.id, p.delivery.signatory.slug, p.delivery.signatory.name,
                p.outcome, complaints.OUTCOMES.get(p.outcome, ""), "", p.answered_at,
            )
        )  # fmt: skip
    for s in await suggestions.published():
        assert s.answered_at is not None
        found.append(
            PublishedDecision(
                "suggestion", s.id, "", "", s.outcome, suggestions.OUTCOMES.get(s.outcome, ""),
                s.answer, s.answered_at,
            )
        )  # fmt: skip
    return sorted(found, key=lambda d: (d.decided_at, d.key), reverse=True)
