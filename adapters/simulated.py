"""A signatory that answers by itself after a delay: for the demo and load tests only.

Answers are deterministic: a hash of the resident's identifiers and the signatory decides
whether data is held, so a demo replays the same way and a test can predict it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from adapters.base import AdapterContext, Answer, AnswerFile, Dispatch, Envelope

# A category kept after erasure, with the law that obliges the signatory to keep it.
KEPT_INVOICES = {
    "category": "factures",
    "legal_basis": "Obligation légale : article L123-22 du code de commerce "
    "(pièces comptables conservées dix ans)",
    "retention": "10 ans après l'émission de la facture",
}

# Plausible, obviously fictional values for an access copy, by category keyword.
_FICTIONAL: dict[str, Any] = {
    "identit": {"nom": "DONNÉE FICTIVE", "prénom": "Donnée fictive", "civilité": "non renseignée"},
    "coordonn": {
        "adresse": "1 rue de l'Exemple, 29200 Brest (fictive)",
        "téléphone": "02 00 00 00 00",
    },
    "consommation": {
        "relevés": [
            {"période": "2024-S1", "volume_m3": 21},
            {"période": "2024-S2", "volume_m3": 19},
        ]
    },
    "factur": {"factures": [{"numéro": "FAC-0001", "montant_euros": 42.5, "payée": True}]},
    "contrat": {"contrat": {"numéro": "CTR-0001", "début": "2021-09-01", "statut": "actif"}},
    "paiement": {"moyen": "prélèvement", "iban": "FR76 **** **** **** (masqué)"},
    "transport": {"abonnement": "mensuel", "validations_30_jours": 37},
    "logement": {"logement": "T3", "étage": 2},
}


def _score(envelope: Envelope) -> bytes:
    identity = json.dumps(sorted(envelope.identifiers.items()), ensure_ascii=False)
    return hashlib.sha256(f"{identity}|{envelope.signatory_slug}".encode()).digest()


def holds_data(envelope: Envelope) -> bool:
    """About three signatories in four hold data on a given resident (if they declare any)."""
    return bool(envelope.declarations) and _score(envelope)[0] % 4 != 0


def _categories(envelope: Envelope) -> list[str]:
    seen: list[str] = []
    for declaration in envelope.declarations:
        for category in declaration.get("data_categories") or []:
            if isinstance(category, str) and category and category not in seen:
                seen.append(category)
    return seen


def _recipients(envelope: Envelope) -> list[str]:
    seen: list[str] = []
    for declaration in envelope.declarations:
        for recipient in declaration.get("recipients") or []:
            if isinstance(recipient, str) and recipient and recipient not in seen:
                seen.append(recipient)
    return seen


def _fictional_value(category: str) -> Any:
    lowered = category.lower()
    for keyword, value in _FICTIONAL.items():
        if keyword in lowered:
            return value
    return {"valeur": f"donnée fictive de démonstration ({category})"}


def access_export(envelope: Envelope) -> bytes:
    """A JSON export of 'everything held', per declaration: fictional, shaped like a real one."""
    export = {
        "avertissement": "Export fictif produit par un signataire simulé (démonstration).",
        "organisme": envelope.signatory_name,
        "référence_demande": envelope.request_reference,
        "personne": dict(envelope.identifiers),
        "traitements": [
            {
                "code": d.get("code"),
                "intitulé": d.get("title"),
                "données": {c: _fictional_value(c) for c in d.get("data_categories") or []},
            }
            for d in envelope.declarations
        ],
    }
    return json.dumps(export, ensure_ascii=False, indent=2).encode()


def final_answer(envelope: Envelope) -> Answer:
    held = holds_data(envelope)
    categories = _categories(envelope)
    if envelope.kind == "discovery":
        if not held:
            return Answer(action="fulfil", outcome={"holds_data": False})
        return Answer(
            action="fulfil",
            outcome={
                "holds_data": True,
                "declarations": [
                    str(d.get("code")) for d in envelope.declarations if d.get("code")
                ],
                "categories": categories,
            },
        )
    if envelope.kind == "access":
        if not held:
            return Answer(action="fulfil", outcome={"holds_data": False})
        return Answer(
            action="fulfil",
            outcome={"holds_data": True},
            file=AnswerFile(
                filename=f"export-{envelope.signatory_slug}-{envelope.request_reference}.json",
                content_type="application/json",
                content=access_export(envelope),
            ),
        )
    if envelope.kind == "erasure":
        if not held:
            return Answer(action="fulfil", outcome={"result": "nothing_held"})
        recipients = _recipients(envelope)
        # About one holder in three keeps its invoices, as French commercial law requires.
        if _score(envelope)[1] % 3 == 0:
            return Answer(
                action="fulfil",
                outcome={
                    "result": "partial",
                    "erased_categories": [c for c in categories if "factur" not in c.lower()],
                    "kept": [dict(KEPT_INVOICES)],
                    "recipients_notified": recipients,
                },
            )
        return Answer(
            action="fulfil",
            outcome={
                "result": "erased",
                "erased_categories": categories,
                "recipients_notified": recipients,
            },
        )
    if envelope.kind == "objection":
        return Answer(action="fulfil", outcome={"result": "stopped" if held else "nothing_held"})
    return Answer(action="deny", reason="claim_not_covered", detail="Type de demande inconnu.")


class SimulatedAdapter:
    kind: ClassVar[str] = "simulated"

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    async def deliver(self, envelope: Envelope) -> Dispatch:
        delay = float(self.context.options.get("simulated_delay", 4.0))
        return Dispatch(reference=f"simulated-{envelope.delivery_id}", poll_after=delay)

    async def poll(self, envelope: Envelope) -> Answer | None:
        if envelope.state == "sent":
            return Answer(action="acknowledge", final=False)
        if envelope.state in ("acknowledged", "extended"):
            return final_answer(envelope)
        return None
