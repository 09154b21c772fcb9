"""What a signatory may answer, per request kind: typed outcomes and their validation.

`validate` checks a partner's raw answer (JSON, a form, a polled adapter) with French
explanations and returns one of the typed outcomes below; `stored()` is the JSON kept on the
delivery, in its audit event and in its receipt — the same shape as ever.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from desk.core.errors import DeskError
from desk.core.i18n import Message
from desk.requests.models import RequestKind
from desk.requests.states import DENIAL_REASONS

ERASURE_RESULTS = ("erased", "nothing_held", "partial")
OBJECTION_RESULTS = ("stopped", "nothing_held")


class _Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def stored(self) -> dict[str, Any]:
        """The JSON kept on the delivery (and signed into its receipt)."""
        return self.model_dump(mode="json")


class DiscoveryOutcome(_Outcome):
    holds_data: bool
    declarations: list[str]
    categories: list[str]
    note: str


class AccessOutcome(_Outcome):
    holds_data: bool
    note: str


class KeptData(_Outcome):
    category: str
    legal_basis: str
    retention: str


class ErasureOutcome(_Outcome):
    result: Literal["erased", "nothing_held", "partial"]
    erased_categories: list[str]
    kept: list[KeptData]
    recipients_notified: list[str]
    note: str


class ObjectionOutcome(_Outcome):
    result: Literal["stopped", "nothing_held"]
    note: str


Outcome = DiscoveryOutcome | AccessOutcome | ErasureOutcome | ObjectionOutcome


class InvalidAnswer(DeskError):
    """An answer that does not fit its request kind."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="invalid")


def _strings(value: Any, field: Message, limit: int = 50) -> list[str]:
    """A list of texts; `field` names it in the error (a Message, so it is translated too)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in (part.strip() for part in value.replace(",", "\n").splitlines()) if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidAnswer(
            Message("Le champ « {field} » doit être une liste de textes.", field=field)
        )
    cleaned = [v.strip()[:200] for v in value if v.strip()]
    if len(cleaned) > limit:
        raise InvalidAnswer(
            Message(
                "Le champ « {field} » contient trop d'éléments ({limit} au plus).",
                field=field,
                limit=limit,
            )
        )
    return cleaned


def validate(kind: RequestKind, outcome: Any, *, has_file: bool) -> Outcome:
    """Return the typed, cleaned outcome, or raise InvalidAnswer with a French explanation."""
    if not isinstance(outcome, dict):
        raise InvalidAnswer("La réponse doit être un objet.")
    note = str(outcome.get("note") or "").strip()[:2000]
    if kind == RequestKind.DISCOVERY:
        holds = outcome.get("holds_data")
        if not isinstance(holds, bool):
            raise InvalidAnswer(
                "Indiquez si vous détenez des données sur cette personne (oui ou non)."
            )
        declarations = _strings(outcome.get("declarations"), Message("traitements"))
        categories = _strings(outcome.get("categories"), Message("catégories de données"))
        if holds and not (declarations or categories):
            raise InvalidAnswer(
                "Indiquez quels traitements ou quelles catégories de données sont concernés."
            )
        if not holds:
            declarations, categories = [], []
        return DiscoveryOutcome(
            holds_data=holds, declarations=declarations, categories=categories, note=note
        )
    if kind == RequestKind.ACCESS:
        holds = outcome.get("holds_data", True)
        if holds is not False and not has_file:
            raise InvalidAnswer(
                "Joignez la copie des données (JSON, CSV ou PDF), "
                "ou indiquez que vous ne détenez rien."
            )
        return AccessOutcome(holds_data=holds is not False, note=note)
    if kind == RequestKind.ERASURE:
        result = outcome.get("result")
        if result not in ERASURE_RESULTS:
            raise InvalidAnswer(
                "Indiquez le résultat : données effacées, aucune donnée détenue, "
                "ou effacement partiel."
            )
        erased = _strings(outcome.get("erased_categories"), Message("catégories effacées"))
        kept_raw = outcome.get("kept") or []
        if not isinstance(kept_raw, list):
            raise InvalidAnswer("Le champ « données conservées » doit être une liste.")
        kept: list[KeptData] = []
        for item in kept_raw:
            if not isinstance(item, dict):
                raise InvalidAnswer(
                    "Chaque donnée conservée doit préciser sa catégorie et sa base légale."
                )
            category = str(item.get("category") or "").strip()[:200]
            basis = str(item.get("legal_basis") or "").strip()[:300]
            retention = str(item.get("retention") or "").strip()[:200]
            if not category or not basis:
                raise InvalidAnswer(
                    "Pour chaque donnée conservée, indiquez la catégorie et la raison légale."
                )
            kept.append(KeptData(category=category, legal_basis=basis, retention=retention))
        if result == "partial" and not kept:
            raise InvalidAnswer(
                "Un effacement partiel doit indiquer les données conservées et leur raison légale."
            )
        if result != "partial":
            kept = []
        if result == "nothing_held":
            erased = []
        return ErasureOutcome(
            result=result,
            erased_categories=erased,
            kept=kept,
            recipients_notified=_strings(
                outcome.get("recipients_notified"), Message("destinataires prévenus")
            ),
            note=note,
        )
    if kind == RequestKind.OBJECTION:
        result = outcome.get("result")
        if result not in OBJECTION_RESULTS:
            raise InvalidAnswer(
                "Indiquez le résultat : traitement arrêté, ou aucune donnée détenue."
            )
        return ObjectionOutcome(result=result, note=note)
    raise InvalidAnswer("Type de demande inconnu.")


def validate_denial(reason: str | None) -> str:
    if reason not in DENIAL_REASONS:
        raise InvalidAnswer("Choisissez un motif de refus dans la liste.")
    return reason
