"""The signatories' yearly self-evaluation: six questions on how they apply the charter (public)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from desk.charter.models import SelfEvaluation
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_

log = logging.getLogger("desk.charter.selfeval")

FIRST_YEAR = 2022  # the charter was adopted in October 2022
COMMENT_MAX = 2000

# (key, question as published)
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("register", N_("Le registre des traitements de données est-il à jour ?")),
    ("dpo", N_("Un délégué à la protection des données (DPO) est-il nommé et joignable ?")),
    ("on_time", N_("Les demandes des habitants ont-elles reçu une réponse dans les délais ?")),
    ("sharing", N_("Les données ne sont-elles partagées qu'avec les destinataires déclarés ?")),
    (
        "impact",
        N_(
            "Les études d'impact (analyses des risques pour la vie privée) nécessaires sont-elles "
            "faites ?"
        ),
    ),
    ("training", N_("Les agents qui traitent des données ont-ils été formés cette année ?")),
)
QUESTION_LABELS: dict[str, str] = dict(QUESTIONS)
ANSWER_LABELS: dict[str, str] = {"yes": N_("Oui"), "partly": N_("En partie"), "no": N_("Non")}

MSG_BAD_YEAR = N_(
    "L'année doit être comprise entre 2022 (adoption de la charte) et l'année en cours."
)
MSG_NOT_OBJECT = N_("Envoyez les réponses sous la forme d'un objet : une entrée par question.")
MSG_MISSING = N_("Répondez à chacune des six questions par « yes », « partly » ou « no ».")
MSG_UNKNOWN = N_("Une réponse porte sur une question inconnue : utilisez les six clés publiées.")
MSG_COMMENT_NOT_TEXT = N_("Un commentaire doit être un texte.")
MSG_COMMENT_TOO_LONG = N_("Un commentaire est trop long : 2000 caractères au plus.")


def check_year(raw: object, *, now: datetime) -> int:
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or len(text) != 4:
        raise DeskError(MSG_BAD_YEAR, code="not_found")
    year = int(text)
    if not FIRST_YEAR <= year <= clock.local(now).year:
        raise DeskError(MSG_BAD_YEAR, code="not_found")
    return year


def clean_answers(raw: object) -> dict[str, dict[str, str]]:
    """{key: {"answer": yes|partly|no, "comment": str}} for the six questions, or DeskError.

    Each value is an object, as the API's document says; a comment, when given, is a text
    (an object, a list or a number in its place is refused, not stored as an empty comment).
    """
    if not isinstance(raw, dict):
        raise DeskError(MSG_NOT_OBJECT)
    if set(raw) - set(QUESTION_LABELS):
        raise DeskError(MSG_UNKNOWN)
    cleaned: dict[str, dict[str, str]] = {}
    for key, _label in QUESTIONS:
        value: Any = raw.get(key)
        if not isinstance(value, dict) or value.get("answer") not in ANSWER_LABELS:
            raise DeskError(MSG_MISSING)
        comment = value.get("comment", "")
        if not isinstance(comment, str):
            raise DeskError(MSG_COMMENT_NOT_TEXT)
        if len(comment.strip()) > COMMENT_MAX:
            raise DeskError(MSG_COMMENT_TOO_LONG)
        cleaned[key] = {"answer": str(value["answer"]), "comment": comment.strip()}
    return cleaned


async def submit(
    *, signatory_id: int, year: int, answers: object, now: datetime
) -> tuple[SelfEvaluation, bool]:
    """Store (or replace) a year's self-evaluation; (row, created)."""
    cleaned = clean_answers(answers)
    existing = await SelfEvaluation.filter(signatory_id=signatory_id, year=year).first()
    if existing is not None:
        existing.answers = cleaned
        existing.submitted_at = now
        await existing.save(update_fields=["answers", "submitted_at"])
        log.info("self-evaluation %s of signatory %s updated", year, signatory_id)
        return existing, False
    row = await SelfEvaluation.create(
        signatory_id=signatory_id, year=year, answers=cleaned, submitted_at=now
    )
    log.info("self-evaluation %s of signatory %s submitted", year, signatory_id)
    return row, True


async def evaluations_of(*, signatory_id: int) -> list[SelfEvaluation]:
    return await SelfEvaluation.filter(signatory_id=signatory_id).order_by("-year")


async def evaluation(*, signatory_id: int, year: int) -> SelfEvaluation | None:
    return await SelfEvaluation.filter(signatory_id=signatory_id, year=year).first()


def document(row: SelfEvaluation) -> dict[str, Any]:
    return {
        "year": row.year,
        "submitted_at": row.submitted_at.isoformat().replace("+00:00", "Z"),
        "answers": [
            {
                "key": key,
                "question": label,
                "answer": row.answers.get(key, {}).get("answer"),
                "comment": row.answers.get(key, {}).get("comment", ""),
            }
            for key, label in QUESTIONS
        ],
    }


def readable_answers(row: SelfEvaluation) -> list[tuple[str, str, str]]:
    """(question, answer, comment) as published, in the questions' order; French msgids that
    templates translate with `_()`."""
    readable: list[tuple[str, str, str]] = []
    for key, label in QUESTIONS:
        value: Any = row.answers.get(key)
        if isinstance(value, str):  # an early form stored the bare answer
            value = {"answer": value}
        if not isinstance(value, dict):
            continue
        answer = str(value.get("answer") or "")
        readable.append((label, ANSWER_LABELS.get(answer, answer), str(value.get("comment") or "")))
    return readable
