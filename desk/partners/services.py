"""Answering a delivery through the signed link of the partner email: the rules behind the page.

The parsing functions are pure (form fields in, outcome or French error out) so they can be
tested without HTTP; desk.partners.answer_page holds the database side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import Any

from starlette.datastructures import UploadFile

from desk.core import clock
from desk.core.errors import DeskError
from desk.core.i18n import Message
from desk.core.translatable import N_
from desk.requests.effects import UploadedFile
from desk.requests.models import DeliveryState, RequestKind
from desk.requests.states import DENIAL_REASONS, TransitionNotAllowed, check
from desk.web.forms import read_upload

ACTOR = "partner:email-link"
PARTNER_ACTIONS = ("acknowledge", "extend", "need_info", "fulfil", "deny")
# Room for the text fields of a form on top of the uploaded file itself.
FORM_OVERHEAD_BYTES = 256 * 1024
TEXT_FIELD_MAX_BYTES = 64 * 1024
KEPT_ROWS_MAX = 10
KEPT_ROWS_SHOWN = 3

# Accepted upload formats: extension → (canonical content type, content types browsers send).
UPLOAD_FORMATS: dict[str, tuple[str, frozenset[str]]] = {
    ".json": ("application/json", frozenset({"application/json", "text/json", "text/plain"})),
    ".csv": (
        "text/csv",
        frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}),
    ),
    ".pdf": ("application/pdf", frozenset({"application/pdf", "application/x-pdf"})),
}

Fields = Mapping[str, Sequence[str]]


class AnswerRefused(DeskError):
    """A refused answer that carries its own HTTP status (413, 415, 422)."""

    def __init__(self, message: str, *, status: int, code: str = "invalid") -> None:
        super().__init__(message, code=code)
        self.status = status


class UploadTooLarge(AnswerRefused):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            Message(
                "Le fichier est trop volumineux : {size} au plus. "
                "Découpez l'export, ou compressez-le en PDF, puis recommencez.",
                size=human_size(max_bytes),
            ),
            status=413,
        )


class UploadRefused(AnswerRefused):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=415)


def human_size(size: int) -> str:
    """ "5 Mo" in French, "5 MB" through `_()` (the unit is a catalogue entry)."""
    if size >= 1024 * 1024:
        return Message("{size} Mo", size=format(size / (1024 * 1024), ".0f"))
    if size >= 1024:
        return Message("{size} Ko", size=format(size / 1024, ".0f"))
    return Message("{size} octets", size=size)


# --- pure parsing -----------------------------------------------------------------------


def first(fields: Fields, name: str) -> str:
    values = fields.get(name) or []
    return values[0].strip() if values else ""


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def parse_action(fields: Fields) -> str:
    action = first(fields, "action")
    if action not in PARTNER_ACTIONS:
        raise AnswerRefused(
            "Action inconnue : choisissez l'un des formulaires de la page (accuser réception, "
            "prolonger, poser une question, répondre ou refuser).",
            status=422,
        )
    return action


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "oui": True, "no": False, "non": False}.get(value.lower())


def parse_outcome(kind: str, fields: Fields) -> dict[str, Any]:
    """The form of the 'answer' section → an outcome dict for desk.requests.outcomes.validate."""
    note = first(fields, "note")
    if kind == RequestKind.DISCOVERY:
        return {
            "holds_data": _yes_no(first(fields, "holds_data")),
            "declarations": [v.strip() for v in fields.get("declarations", []) if v.strip()],
            "categories": _lines(first(fields, "categories")),
            "note": note,
        }
    if kind == RequestKind.ACCESS:
        outcome: dict[str, Any] = {"note": note}
        holds = _yes_no(first(fields, "holds_data"))
        if holds is not None:
            outcome["holds_data"] = holds
        return outcome
    if kind == RequestKind.ERASURE:
        kept = []
        for n in range(1, KEPT_ROWS_MAX + 1):
            row = {
                "category": first(fields, f"kept_category_{n}"),
                "legal_basis": first(fields, f"kept_basis_{n}"),
                "retention": first(fields, f"kept_retention_{n}"),
            }
            if any(row.values()):
                kept.append(row)
        return {
            "result": first(fields, "result") or None,
            "erased_categories": _lines(first(fields, "erased_categories")),
            "kept": kept,
            "recipients_notified": _lines(first(fields, "recipients_notified")),
            "note": note,
        }
    if kind == RequestKind.OBJECTION:
        return {"result": first(fields, "result") or None, "note": note}
    raise AnswerRefused("Type de demande inconnu.", status=422)


def parse_extension(fields: Fields) -> tuple[str, int]:
    """(reason, extra months) of the 'extend' form."""
    reason = first(fields, "reason")
    if not reason:
        raise AnswerRefused(
            "Indiquez la raison de la prolongation : la personne la lira.", status=422
        )
    try:
        months = int(first(fields, "extra_months") or "0")
    except ValueError:
        months = 0
    if months not in (1, 2):
        raise AnswerRefused("Choisissez une prolongation d'un ou de deux mois.", status=422)
    return reason, months


def parse_question(fields: Fields) -> tuple[str, bool]:
    """(question, whether it concerns identity: it pauses the deadline) of 'need_info'."""
    if not (question := first(fields, "question")):
        raise AnswerRefused("Écrivez la question posée à la personne : elle la lira.", status=422)
    return question, first(fields, "identity") == "oui"


def parse_denial(fields: Fields) -> tuple[str, str]:
    """(reason code, explanation) of the 'deny' form."""
    reason = first(fields, "reason")
    if reason not in DENIAL_REASONS:
        raise AnswerRefused("Choisissez un motif de refus dans la liste.", status=422)
    detail = first(fields, "detail")
    if reason == "other" and not detail:
        raise AnswerRefused("Expliquez le motif du refus : la personne le lira.", status=422)
    return reason, detail


async def accept_upload(upload: UploadFile | None, *, max_bytes: int) -> UploadedFile | None:
    """The checked copy from a form's file field (None when no file was chosen)."""
    if upload is None:
        return None
    filename, content_type, content = await read_upload(upload, max_bytes=max_bytes)
    return check_upload(
        filename=filename, content_type=content_type, content=content, max_bytes=max_bytes
    )


def check_upload(
    *, filename: str, content_type: str, content: bytes, max_bytes: int
) -> UploadedFile:
    """Accept a JSON, CSV or PDF copy: extension, declared type and content must all agree."""
    if len(content) > max_bytes:
        raise UploadTooLarge(max_bytes)
    if not content:
        raise AnswerRefused("Le fichier joint est vide.", status=422)
    # The base name only (no folder, no control character), shortened before its extension.
    base = "".join(c for c in filename if c >= " " and c != "\x7f").replace("\\", "/")
    name = PurePath(base).name.strip() or "copie"
    extension = PurePath(name).suffix.lower()
    if len(name) > 200:
        name = name[: 200 - len(extension)] + extension
    if extension not in UPLOAD_FORMATS:
        raise UploadRefused(
            N_(
                "Ce type de fichier n'est pas accepté : envoyez un fichier JSON (.json), "
                "CSV (.csv, un tableau) ou PDF (.pdf)."
            )
        )
    canonical, accepted = UPLOAD_FORMATS[extension]
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared not in accepted:
        raise UploadRefused(
            Message(
                "Le fichier porte l'extension {extension} mais son type déclaré "
                "({declared}) ne correspond pas : enregistrez-le à nouveau dans le bon format.",
                extension=extension,
                declared=declared or Message("inconnu"),
            )
        )
    if extension == ".json":
        try:
            json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise UploadRefused(
                N_(
                    "Ce fichier n'est pas un JSON valide : vérifiez l'export, "
                    "ou envoyez un CSV ou un PDF."
                )
            ) from exc
    elif extension == ".pdf":
        if not content.lstrip()[:5].startswith(b"%PDF"):
            raise UploadRefused(N_("Ce fichier n'est pas un PDF valide."))
    elif b"\x00" in content:
        raise UploadRefused(N_("Ce fichier n'est pas un CSV (texte) valide."))
    return UploadedFile(filename=name, content_type=canonical, content=content)


def available_actions(
    state: DeliveryState, *, received_at: datetime, now: datetime
) -> tuple[str, ...]:
    """What the partner may still do; an extension only within the first month (Art. 12(3))."""
    actions = []
    for action in PARTNER_ACTIONS:
        try:
            check(action, state)
        except TransitionNotAllowed:
            continue
        if action == "extend" and now > clock.add_months(received_at, 1):
            continue
        actions.append(action)
    return tuple(actions)


NOT_ALLOWED = {
    "acknowledge": N_(
        "La réception de cette demande est déjà confirmée : il n'y a rien à refaire."
    ),
    "extend": N_(
        "Le délai ne peut plus être prolongé : une seule prolongation est permise, "
        "pendant le premier mois après la réception."
    ),
    "need_info": N_("Une question attend déjà la réponse de la personne : attendez-la."),
    "fulfil": N_("Cette demande ne peut pas recevoir de réponse dans son état actuel."),
    "deny": N_("Cette demande ne peut pas être refusée dans son état actuel."),
}
NOT_ALLOWED_FALLBACK = N_("Action impossible.")


def ensure_allowed(
    action: str, state: DeliveryState, *, received_at: datetime, now: datetime
) -> None:
    """Refuse, with a French reason and 409, an action the current state does not allow."""
    if action not in available_actions(state, received_at=received_at, now=now):
        raise AnswerRefused(
            NOT_ALLOWED.get(action, NOT_ALLOWED_FALLBACK), status=409, code="conflict"
        )


def answer_form_context(
    *,
    page: object,
    ok: str | None,
    error: str | None,
    failed_action: str | None,
    fields: dict[str, list[str]] | None,
    upload_max_bytes: int,
    action_url: str,
) -> dict[str, Any]:
    """What `partner/answer.html` needs, whether it is reached by the mailed link or from the
    organisation's inbox: one page, one set of answers."""
    fields = fields or {}
    return {
        "page": page,
        "ok": ok if ok in PARTNER_ACTIONS else None,
        "error": error,
        "failed_action": failed_action,
        "values": {name: values[0] for name, values in fields.items() if values},
        "multi": fields,
        "denial_reasons": DENIAL_REASONS,
        "kept_rows": range(1, KEPT_ROWS_SHOWN + 1),
        "max_upload": human_size(upload_max_bytes),
        "action_url": action_url,
    }
