"""What a receipt says, in plain French: the wording for people (kinds, statuses, denial
reasons, results) and `describe`, which turns a verified receipt's claims into a `ReceiptView`
for the page. It trusts nothing in the claims: every value is checked and bounded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from desk.core.legal_bases import legal_basis_label
from desk.core.translatable import N_

KIND_FR = {
    "discovery": N_("Savoir si des données sont détenues (article 15 du RGPD)"),
    "access": N_("Obtenir une copie de ses données (articles 15 et 20 du RGPD)"),
    "erasure": N_("Faire effacer ses données (article 17 du RGPD)"),
    "objection": N_("S'opposer à l'utilisation de ses données (article 21 du RGPD)"),
}

STATUS_FR = {
    "RequestFulfilled": N_("demande satisfaite"),
    "RequestRejected": N_("demande refusée"),
    "RequestAcknowledged": N_("demande reçue par le signataire"),
    "RequestActionDelayed": N_("délai de réponse prolongé"),
    "RequestInitiated": N_("demande transmise"),
    "RequestRequiresAction": N_("en attente d'une réponse de la personne"),
    "RequestUnfulfilled": N_("demande non aboutie"),
}

DENIAL_FR = {
    "no_match": N_(
        "Le signataire n'a retrouvé personne correspondant aux informations transmises."
    ),
    "insuf_verification": N_("Le signataire n'a pas pu vérifier assez l'identité de la personne."),
    "claim_not_covered": N_("Le droit demandé ne s'applique pas à ces données."),
    "legal_obligation": N_("Une obligation légale impose au signataire de garder ces données."),
    "other": N_("Autre motif, précisé par le signataire à la personne concernée."),
}

ERASURE_RESULT_FR = {
    "erased": N_("Les données ont été effacées."),
    "partial": N_(
        "Une partie des données a été effacée ; le reste est gardé pour une raison légale."
    ),
    "nothing_held": (
        N_(
            "Le signataire ne détenait aucune donnée sur cette personne : "
            "il n'y avait rien à effacer."
        )
    ),
}

OBJECTION_RESULT_FR = {
    "stopped": N_(
        "Le signataire a cessé d'utiliser les données de cette personne pour ce traitement."
    ),
    "nothing_held": N_("Le signataire ne détenait aucune donnée sur cette personne."),
}


@dataclass(frozen=True)
class ReceiptView:
    """A receipt's payload, read for people. Built only from a payload whose signature is valid."""

    title: str
    kind: str
    kind_label: str
    state: str
    status: str
    status_label: str
    summary: str
    reference: str
    receipt_id: str
    signatory_name: str
    signatory_slug: str
    subject: str
    erased: list[str]
    kept: list[dict[str, str]]
    recipients: list[str]
    declarations: list[str]
    categories: list[str]
    denial_reason: str | None
    denial_label: str | None
    note: str
    issued_at: datetime | None
    received_at: datetime | None
    completed_at: datetime | None
    prev: str
    # The one purpose (declaration) an objection or a consent withdrawal named; "" for all.
    scope_title: str = ""
    consent_withdrawal: bool = False


def _text(value: Any, limit: int = 500) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return str(value)[:limit]


def _texts(value: Any) -> list[str]:
    return [_text(v, 200) for v in _list(value) if isinstance(v, str)][:100]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _when(value: Any) -> datetime | None:
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def title_for(kind: str, state: str, outcome: dict[str, Any]) -> str:
    if state == "denied":
        return N_("Reçu de refus d'une demande")
    result = outcome.get("result")
    if kind == "erasure":
        if result == "partial":
            return N_("Reçu de suppression partielle de données")
        if result == "nothing_held":
            return N_("Reçu de demande de suppression : aucune donnée détenue")
        return N_("Reçu de suppression de données")
    if kind == "access":
        if outcome.get("holds_data") is False:
            return N_("Reçu de demande de copie : aucune donnée détenue")
        return N_("Reçu de communication d'une copie des données")
    if kind == "discovery":
        return N_("Reçu de réponse : données détenues ou non")
    if kind == "objection":
        if result == "nothing_held":
            return N_("Reçu d'opposition : aucune donnée détenue")
        return N_("Reçu d'opposition : utilisation des données arrêtée")
    return N_("Reçu de réponse à une demande")


def _summary(kind: str, state: str, outcome: dict[str, Any]) -> str:
    if state == "denied":
        return N_("Le signataire a refusé la demande, pour le motif indiqué ci-dessous.")
    if kind == "erasure":
        default = N_("Le signataire a répondu à la demande d'effacement.")
        return ERASURE_RESULT_FR.get(_text(outcome.get("result")), default)
    if kind == "objection":
        default = N_("Le signataire a répondu à l'opposition.")
        return OBJECTION_RESULT_FR.get(_text(outcome.get("result")), default)
    if kind == "access":
        if outcome.get("holds_data") is False:
            return N_("Le signataire ne détenait aucune donnée sur cette personne.")
        return N_("Le signataire a transmis une copie des données à la personne concernée.")
    if kind == "discovery":
        if outcome.get("holds_data") is True:
            return N_("Le signataire détient des données sur cette personne (détail ci-dessous).")
        if outcome.get("holds_data") is False:
            return N_("Le signataire ne détient aucune donnée sur cette personne.")
    return N_("Le signataire a répondu à la demande.")


def describe(payload: dict[str, Any]) -> ReceiptView:
    """Plain-French reading of a receipt; tolerant of missing fields, never raises on odd values."""
    outcome = _dict(payload.get("outcome"))
    signatory = _dict(payload.get("signatory"))
    kind = _text(payload.get("kind"))
    state = _text(payload.get("state"))
    status = _text(payload.get("status"))
    denial = _text(payload.get("denial_reason")) or None
    kept = [
        {
            "category": _text(item.get("category"), 200),
            # A partner may give the GDPR code ("legal_obligation"): people read its name.
            "legal_basis": legal_basis_label(_text(item.get("legal_basis"), 300)),
            "retention": _text(item.get("retention"), 200),
        }
        for item in map(_dict, _list(payload.get("kept")))
        if item
    ]
    return ReceiptView(
        title=title_for(kind, state, outcome),
        kind=kind,
        kind_label=KIND_FR.get(kind, "Demande"),
        state=state,
        status=status,
        status_label=STATUS_FR.get(status, ""),
        summary=_summary(kind, state, outcome),
        reference=_text(payload.get("request"), 64),
        receipt_id=_text(payload.get("jti"), 64),
        signatory_name=_text(signatory.get("name"), 200),
        signatory_slug=_text(signatory.get("slug"), 64),
        subject=_text(payload.get("subject"), 64),
        erased=_texts(payload.get("erased_categories")),
        kept=kept,
        recipients=_texts(payload.get("recipients_notified")),
        declarations=_texts(outcome.get("declarations")),
        categories=_texts(outcome.get("categories")),
        denial_reason=denial,
        denial_label=DENIAL_FR.get(denial, DENIAL_FR["other"]) if denial else None,
        note=_text(outcome.get("note"), 2000),
        issued_at=_when(payload.get("iat")),
        received_at=_when(payload.get("received_at")),
        completed_at=_when(payload.get("completed_at")),
        prev=_text(payload.get("prev"), 64),
        scope_title=_text(_dict(payload.get("scope")).get("title"), 200),
        consent_withdrawal=_dict(payload.get("scope")).get("ground") == "consent_withdrawal",
    )
