"""What the resident's pages show, in plain French: labels, answers, a request's progress (the
dashboard's model is desk.residents.dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desk.core.i18n import Message
from desk.core.translatable import N_
from desk.registry.services import LEGAL_BASIS_LABELS
from desk.requests import queries
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.states import FINAL_STATES

STATE_LABELS: dict[DeliveryState, str] = {
    DeliveryState.PENDING: N_("en attente d'envoi"),
    DeliveryState.SENT: N_("envoyée"),
    DeliveryState.ACKNOWLEDGED: N_("reçue par l'organisme"),
    DeliveryState.EXTENDED: N_("délai prolongé"),
    DeliveryState.AWAITING_INFO: N_("en attente de votre réponse"),
    DeliveryState.FULFILLED: N_("traitée"),
    DeliveryState.DENIED: "refusée",
    DeliveryState.WITHDRAWN: N_("retirée"),
    DeliveryState.FAILED: "envoi en échec — nous nous en occupons",
}

KIND_LABELS: dict[RequestKind, str] = {
    RequestKind.DISCOVERY: "Savoir qui détient mes données",
    RequestKind.ACCESS: N_("Obtenir une copie de mes données"),
    RequestKind.ERASURE: "Supprimer mes données",
    RequestKind.OBJECTION: N_("M'opposer à l'utilisation de mes données"),
}

DENIAL_LABELS: dict[str, str] = {
    "no_match": N_("l'organisme n'a trouvé aucune donnée correspondant à votre identité"),
    "insuf_verification": (
        N_("l'organisme n'a pas pu vérifier que vous êtes bien la personne concernée")
    ),
    "claim_not_covered": N_("l'organisme estime que ce droit ne s'applique pas à ces données"),
    "legal_obligation": N_("une obligation légale empêche l'organisme de donner suite"),
    "other": N_("autre motif (voir le message de l'organisme)"),
}
DENIAL_FALLBACK = N_("motif non précisé")

ACTION_LABELS: dict[str, str] = {
    "file": N_("Demande enregistrée"),
    "send": N_("Demande transmise à l'organisme"),
    "acknowledge": N_("Demande reçue par l'organisme"),
    "extend": N_("Délai de réponse prolongé"),
    "fulfil": N_("Réponse de l'organisme"),
    "deny": N_("Refus de l'organisme"),
    "withdraw": N_("Demande retirée"),
    "fail": "L'envoi a échoué",
    "retry": N_("Nouvel envoi"),
    "need_info": N_("L'organisme vous a posé une question"),
    "provide_info": N_("Vous avez répondu à la question de l'organisme"),
    "letter_printed": "Lettre envoyée par la poste à l'organisme",
    "channel_changed": "Nouveau moyen d'envoi choisi par le guichet",
}


def state_label(state: DeliveryState | str) -> str:
    return STATE_LABELS.get(DeliveryState(state), str(state))


def kind_label(kind: RequestKind | str) -> str:
    return KIND_LABELS.get(RequestKind(kind), str(kind))


PARTNER_ACTIONS = frozenset({"acknowledge", "extend", "fulfil", "deny", "need_info"})


def actor_label(actor: str, action: str = "") -> str:
    """Who did it, in words; an answer is the organisation's whichever channel carried it."""
    if actor == "resident":
        return N_("vous")
    if actor.startswith("mediator"):
        return "votre médiateur ou médiatrice numérique"
    if action in PARTNER_ACTIONS or actor.startswith(("partner", "signatory", "link")):
        return N_("l'organisme")
    return N_("le guichet")


def event_label(event: DeliveryEvent) -> str:
    return ACTION_LABELS.get(event.action, event.action)


def _basis(text: str) -> str:
    """A legal basis in words: a partner may send the GDPR code ("legal_obligation")."""
    return Message(LEGAL_BASIS_LABELS[text]) if text in LEGAL_BASIS_LABELS else text


def answer_lines(
    kind: RequestKind,
    delivery: Delivery,
    declarations: dict[str, str] | None = None,
    signatory_name: str | None = None,
) -> list[str]:
    """The signatory's answer, as sentences a resident understands.

    Each line is a `Message`: French when printed as is, in the reader's language through
    `_(line)` (the catalogue template is translated, then the names put in). Without
    `signatory_name`, the delivery's signatory must be loaded.
    """
    titles = declarations or {}
    name = signatory_name if signatory_name is not None else delivery.signatory.name
    if delivery.state == DeliveryState.DENIED:
        why = Message(DENIAL_LABELS.get(delivery.denial_reason or "", DENIAL_FALLBACK))
        refused: list[str] = [Message("{name} a refusé votre demande : {why}.", name=name, why=why)]
        if delivery.denial_detail:
            refused.append(
                Message("Précision de l'organisme : « {detail} »", detail=delivery.denial_detail)
            )
        return refused
    if delivery.state != DeliveryState.FULFILLED or not delivery.outcome:
        return []
    out: dict[str, Any] = delivery.outcome
    lines: list[str] = []
    if kind == RequestKind.DISCOVERY:
        if out.get("holds_data"):
            lines.append(Message("{name} détient des données sur vous.", name=name))
            used = [titles.get(code, code) for code in out.get("declarations") or []]
            if used:
                lines.append(Message("Dans ces traitements : {items}.", items=", ".join(used)))
            if out.get("categories"):
                lines.append(
                    Message("Types de données : {items}.", items=", ".join(out["categories"]))
                )
        else:
            lines.append(Message("{name} ne détient aucune donnée sur vous.", name=name))
    elif kind == RequestKind.ACCESS:
        if out.get("holds_data"):
            lines.append(Message("{name} vous a envoyé une copie de vos données.", name=name))
        else:
            lines.append(
                Message(
                    "{name} ne détient aucune donnée sur vous : il n'y a pas de copie.",
                    name=name,
                )
            )
    elif kind == RequestKind.ERASURE:
        result = out.get("result")
        if result == "nothing_held":
            lines.append(
                Message("{name} ne détenait aucune donnée sur vous : rien à effacer.", name=name)
            )
        elif result == "erased":
            lines.append(Message("{name} a effacé vos données.", name=name))
        elif result == "partial":
            lines.append(
                Message(
                    "{name} a effacé une partie de vos données ; "
                    "la loi l'oblige à garder le reste.",
                    name=name,
                )
            )
        if out.get("erased_categories"):
            lines.append(
                Message("Données effacées : {items}.", items=", ".join(out["erased_categories"]))
            )
        for kept in out.get("kept") or []:
            if kept.get("retention"):
                lines.append(
                    Message(
                        "Données gardées : {category} (raison : {legal_basis}, "
                        "pendant {retention}).",
                        category=kept["category"],
                        legal_basis=_basis(kept["legal_basis"]),
                        retention=kept["retention"],
                    )
                )
            else:
                lines.append(
                    Message(
                        "Données gardées : {category} (raison : {legal_basis}).",
                        category=kept["category"],
                        legal_basis=_basis(kept["legal_basis"]),
                    )
                )
        if out.get("recipients_notified"):
            lines.append(
                Message(
                    "Organismes à qui vos données avaient été transmises, et qui ont été "
                    "prévenus de l'effacement : {items}.",
                    items=", ".join(out["recipients_notified"]),
                )
            )
    elif kind == RequestKind.OBJECTION:
        if out.get("result") == "stopped":
            lines.append(
                Message("{name} a cessé d'utiliser vos données pour ce traitement.", name=name)
            )
        else:
            lines.append(Message("{name} ne détenait aucune donnée sur vous.", name=name))
    if out.get("note"):
        lines.append(Message("Message de l'organisme : « {note} »", note=out["note"]))
    return lines


# --- a request's progress (the dashboard, the request page) ----------------------------


@dataclass
class Progress:
    """How far a request has gone: "6 sur 11 ont répondu", and what is awaited until when."""

    answered: int
    total: int
    awaited: int
    # The latest deadline among awaited answers (all are due by then).
    due_by: datetime | None
    # Signatories waiting for the resident's answer to their question.
    questions: int = 0

    @property
    def pending(self) -> bool:
        return self.awaited > 0


def progress_of(deliveries: list[Delivery]) -> Progress:
    asked = [d for d in deliveries if d.state != DeliveryState.WITHDRAWN]
    awaited = [d for d in asked if d.state not in FINAL_STATES]
    return Progress(
        answered=len(asked) - len(awaited),
        total=len(asked),
        awaited=len(awaited),
        due_by=max((d.due_at for d in awaited), default=None),
        questions=sum(1 for d in awaited if d.state == DeliveryState.AWAITING_INFO),
    )


def request_page_lines(detail: queries.RequestDetail) -> dict[int, list[str]]:
    kind = detail.request.kind
    return {
        d.id: answer_lines(kind, d, detail.declaration_titles.get(d.signatory_id))  # type: ignore[attr-defined]
        for d in detail.deliveries
    }


def discovery_summary(deliveries: list[Delivery]) -> tuple[int, int]:
    """(signatories holding data, signatories asked), for the "discovery complete" email."""
    asked = [d for d in deliveries if d.state != DeliveryState.WITHDRAWN]
    holders = sum(
        1
        for d in asked
        if d.state == DeliveryState.FULFILLED and (d.outcome or {}).get("holds_data") is True
    )
    return holders, len(asked)
