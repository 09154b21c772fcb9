""" "Proposer une amélioration": anyone suggests a change to the charter (principle 5), the
ethics committee answers publicly.

A suggestion is published only once answered, in the words the committee publishes (the text as
sent, or rewritten without any personal data it carried). The author's address is optional and
never shown: it serves once, to tell them of the answer, and is erased when that mail is sent
(or after RETENTION_DAYS without an answer, by `purge_unanswered_addresses`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.charter.models import CharterSuggestion
from desk.core import clock
from desk.core.emails import InvalidEmail, normalise_email
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.outbox.models import OutboxJob
from desk.outbox.services import enqueue
from desk.registry.charter_versions import PRINCIPLES
from desk.runtime import Runtime

log = logging.getLogger("desk.charter.suggestions")

MAIL_JOB = "mail.charter_suggestion"
TEXT_MAX = 4000
ANSWER_MAX = 4000
RETENTION_DAYS = 365
OUTCOMES: dict[str, str] = {
    "adopted": N_("retenue pour la prochaine version de la charte"),
    "studied": N_("mise à l'étude par le comité"),
    "declined": N_("non retenue"),
}
MSG_TEXT = N_("Écrivez votre proposition : ce que vous changeriez dans la charte, et pourquoi.")
MSG_TEXT_TOO_LONG = N_("Votre proposition est trop longue : 4 000 caractères au plus.")
MSG_EMAIL = N_(
    "Cette adresse n'est pas valide : elle ressemble à prenom.nom@exemple.fr. Vous pouvez "
    "aussi la laisser vide."
)
MSG_PRINCIPLE = N_("Choisissez un principe de la charte dans la liste, ou « la charte entière ».")
MSG_NOT_FOUND = N_("Cette proposition est introuvable.")
MSG_ANSWERED = N_("Le comité a déjà répondu à cette proposition.")
MSG_OUTCOME = N_("Choisissez la suite donnée : retenue, mise à l'étude ou non retenue.")
MSG_ANSWER = N_("Écrivez la réponse du comité : elle est publiée avec la proposition.")
MSG_ANSWER_TOO_LONG = N_("La réponse est trop longue : 4 000 caractères au plus.")
MSG_PUBLIC_TOO_LONG = N_("Le texte publié est trop long : 4 000 caractères au plus.")

PRINCIPLE_NUMBERS = frozenset(p.number for p in PRINCIPLES)


def parse_principle(raw: str) -> int | None:
    """ "" (the charter as a whole) or the number of one of the principles."""
    if raw in ("", "0"):
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 2 and int(raw) in PRINCIPLE_NUMBERS:
        return int(raw)
    raise DeskError(MSG_PRINCIPLE)


def _bounded(raw: str, *, missing: str, too_long: str, limit: int) -> str:
    cleaned = (raw or "").strip()
    if not cleaned:
        raise DeskError(missing)
    if len(cleaned) > limit:
        raise DeskError(too_long)
    return cleaned


async def submit_suggestion(
    *, text: str, principle: str, email: str, now: datetime
) -> CharterSuggestion:
    cleaned = _bounded(text, missing=MSG_TEXT, too_long=MSG_TEXT_TOO_LONG, limit=TEXT_MAX)
    number = parse_principle(principle.strip())
    address = ""
    if email.strip():
        try:
            address = normalise_email(email)
        except InvalidEmail as exc:
            raise DeskError(MSG_EMAIL) from exc
    async with in_transaction() as conn:
        suggestion = await CharterSuggestion.create(
            principle=number, text=cleaned, author_email=address, created_at=now, using_db=conn
        )
        await record_action(
            action="charter.suggestion",
            actor="public",
            subject=f"suggestion:{suggestion.id}",
            connection=conn,
        )
    log.info("charter suggestion %s received", suggestion.id)
    return suggestion


async def answer_suggestion(
    *, suggestion_id: int, member_id: int, outcome: str, answer: str, public_text: str
) -> CharterSuggestion:
    """The committee's public answer; `public_text` is what is published of the suggestion."""
    if outcome not in OUTCOMES:
        raise DeskError(MSG_OUTCOME)
    answered = _bounded(answer, missing=MSG_ANSWER, too_long=MSG_ANSWER_TOO_LONG, limit=ANSWER_MAX)
    published = (public_text or "").strip()
    if len(published) > TEXT_MAX:
        raise DeskError(MSG_PUBLIC_TOO_LONG)
    async with in_transaction() as conn:
        suggestion = (
            await CharterSuggestion.filter(id=suggestion_id)
            .using_db(conn)
            .select_for_update()
            .first()
        )
        if suggestion is None:
            raise DeskError(MSG_NOT_FOUND, code="not_found")
        if suggestion.answered_at is not None:
            raise DeskError(MSG_ANSWERED, code="conflict")
        suggestion.outcome = outcome
        suggestion.answer = answered
        suggestion.public_text = published or suggestion.text
        suggestion.answered_at = clock.now()
        await suggestion.save(
            using_db=conn, update_fields=["outcome", "answer", "public_text", "answered_at"]
        )
        await record_action(
            action="charter.suggestion_answered",
            actor=f"staff:{member_id}",
            subject=f"suggestion:{suggestion.id}",
            detail={"outcome": outcome},
            connection=conn,
        )
        if suggestion.author_email:
            await enqueue(
                kind=MAIL_JOB,
                payload={"suggestion_id": suggestion.id},
                idempotency_key=f"charter-suggestion-{suggestion.id}-answered",
                connection=conn,
            )
    return suggestion


async def published() -> list[CharterSuggestion]:
    """The answered suggestions, as published (newest answer first)."""
    return list(
        await CharterSuggestion.filter(answered_at__isnull=False).order_by("-answered_at", "-id")
    )


async def waiting() -> list[CharterSuggestion]:
    """The suggestions the committee has not answered yet, oldest first."""
    return list(await CharterSuggestion.filter(answered_at__isnull=True).order_by("created_at"))


async def get(*, suggestion_id: int) -> CharterSuggestion:
    found = await CharterSuggestion.filter(id=suggestion_id).first()
    if found is None:
        raise DeskError(MSG_NOT_FOUND, code="not_found")
    return found


async def send_answer_mail(job: OutboxJob, rt: Runtime) -> None:
    """Outbox handler for "mail.charter_suggestion": the author hears the answer; their address
    is then erased (it served its only purpose)."""
    suggestion = await CharterSuggestion.filter(id=int(job.payload["suggestion_id"])).first()
    if suggestion is None or not suggestion.author_email:
        return
    await rt.send_mail(
        to=suggestion.author_email,
        template="charter_suggestion",
        context={
            "reference": suggestion.id,
            "outcome_label": OUTCOMES.get(suggestion.outcome, ""),
            "answer": suggestion.answer,
            "page_url": rt.settings.url(f"/charte/ameliorations#proposition-{suggestion.id}"),
        },
        idempotency_key=job.idempotency_key,
    )
    await CharterSuggestion.filter(id=suggestion.id).update(author_email="")


async def purge_unanswered_addresses(*, now: datetime) -> int:
    """Erase the address of suggestions left unanswered for RETENTION_DAYS; how many."""
    return await CharterSuggestion.filter(
        created_at__lt=now - timedelta(days=RETENTION_DAYS), author_email__not=""
    ).update(author_email="")
