"""What the resident's pages show, in plain French: labels, answers, the dashboard's model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from desk.core.i18n import Message
from desk.core.translatable import N_
from desk.holdings.api import Transparency, resident_transparency
from desk.mediation.filings import (
    AskingMediator,
    FiledBy,
    LiveMandate,
    TakenBy,
    asking,
    copies_taken_by_request,
    filed_by,
    live_mandates,
)
from desk.registry.services import LEGAL_BASIS_LABELS
from desk.requests import queries
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind, RightsRequest
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.residents.standing import MAY_HOLD, Standing, Status, standings

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


# --- dashboard -------------------------------------------------------------------------------


@dataclass
class SignatoryRow:
    """One signatory on the dashboard, with what it last said about the resident."""

    signatory: queries.SignatoryRef
    # A standing.Status value: holds | erased | partly_erased | nothing | erasing | waiting |
    # refused | failed | not_asked
    status: str
    lines: list[str] = field(default_factory=list)
    due_at: datetime | None = None
    state: str = ""
    # When it said so (erased, nothing held), and the receipt proving it.
    since: datetime | None = None
    receipt_id: str | None = None

    @property
    def may_hold(self) -> bool:
        return self.status in MAY_HOLD


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


@dataclass
class DiscoveryProgress:
    request: RightsRequest
    answered: int
    total: int
    holders: int

    @property
    def pending(self) -> bool:
        return self.answered < self.total


@dataclass
class Dashboard:
    rows: list[SignatoryRow]
    requests: list[RightsRequest]
    receipts: dict[int, queries.ReceiptInfo]
    discovery: DiscoveryProgress | None
    # Something is moving (a partner may answer any minute): the page offers to refresh itself.
    waiting: bool
    # What signatories declared by keyed hash (holdings, lineage); None when not looked up.
    transparency: Transparency | None = None
    # request id → the mediator who filed it with the resident (requests filed in person).
    filed_by: dict[int, FiledBy] = field(default_factory=dict)
    # signatory id → name, for the deliveries listed (their signatories are not loaded).
    signatory_names: dict[int, str] = field(default_factory=dict)
    # request id → copies of its answers a mediator downloaded for the resident.
    copies_taken: dict[int, list[TakenBy]] = field(default_factory=dict)
    # Mediators waiting, today, for the resident's consent to join their account.
    asking: list[AskingMediator] = field(default_factory=list)
    # Mandates in effect, each revocable from here (the printed mandate promises it).
    mandates: list[LiveMandate] = field(default_factory=list)
    # request id → its progress, for the one-line summary of each request.
    progress: dict[int, Progress] = field(default_factory=dict)

    @property
    def holders(self) -> list[queries.SignatoryRef]:
        return [r.signatory for r in self.rows if r.status == Status.HOLDS]

    @property
    def erasable(self) -> int:
        """How many signatories "erase everywhere" would ask (they hold or may hold data)."""
        return sum(1 for r in self.rows if r.may_hold)

    def group(self, *statuses: str) -> list[SignatoryRow]:
        return [r for r in self.rows if r.status in statuses]

    @property
    def open_requests(self) -> list[RightsRequest]:
        return [r for r in self.requests if self.progress[r.id].pending]

    @property
    def closed_requests(self) -> list[RightsRequest]:
        return [r for r in self.requests if not self.progress[r.id].pending]


def _row(
    signatory: queries.SignatoryRef,
    standing: Standing,
    titles: dict[str, str],
    receipts: dict[int, queries.ReceiptInfo],
) -> SignatoryRow:
    row = SignatoryRow(signatory=signatory, status=standing.status.value)
    delivery = standing.delivery
    if delivery is None:
        return row
    row.state = delivery.state.value
    row.due_at = delivery.due_at
    row.since = delivery.completed_at
    receipt = receipts.get(delivery.id)
    row.receipt_id = receipt.id if receipt else None
    if RequestKind(delivery.request.kind) == RequestKind.DISCOVERY:
        # What it holds, in its own declarations' words (or why it refused).
        if standing.status in (Status.HOLDS, Status.REFUSED):
            row.lines = answer_lines(RequestKind.DISCOVERY, delivery, titles, signatory.name)
    return row


async def build_dashboard(*, resident_id: int, secret_key: str | None = None) -> Dashboard:
    """The dashboard's model; with `secret_key` (to decrypt hashing keys), what signatories
    declared holding about the resident and their lineage events."""
    data = await queries.dashboard_data(resident_id=resident_id)
    requests = data.requests
    for r in requests:
        for d in r.deliveries:
            # The standing reads each delivery's kind; the request is already in hand.
            d.request = r
    discovery = next((r for r in requests if r.kind == RequestKind.DISCOVERY), None)
    progress = None
    if discovery is not None:
        deliveries = [d for d in discovery.deliveries if d.state != DeliveryState.WITHDRAWN]
        progress = DiscoveryProgress(
            request=discovery,
            answered=sum(1 for d in deliveries if d.state in FINAL_STATES),
            total=len(deliveries),
            holders=sum(
                1
                for d in deliveries
                if d.state == DeliveryState.FULFILLED
                and (d.outcome or {}).get("holds_data") is True
            ),
        )
    all_deliveries = [d for r in requests for d in r.deliveries]
    receipts = await queries.receipts_for(delivery_ids=[d.id for d in all_deliveries])
    known = standings(all_deliveries)
    rows = [
        _row(
            s,
            known.get(s.id, Standing(Status.NOT_ASKED)),
            data.declaration_titles.get(s.id, {}),
            receipts,
        )
        for s in data.signatories
    ]
    waiting = any(d.state in OPEN_STATES for d in all_deliveries)
    transparency = (
        await resident_transparency(resident_id=resident_id, secret_key=secret_key)
        if secret_key
        else None
    )
    return Dashboard(
        rows=rows,
        requests=requests,
        receipts=receipts,
        discovery=progress,
        waiting=waiting,
        transparency=transparency,
        filed_by=await filed_by(request_ids=[r.id for r in requests]),
        signatory_names=data.names,
        copies_taken=await copies_taken_by_request(request_ids=[r.id for r in requests]),
        asking=await asking(resident_id=resident_id),
        mandates=await live_mandates(resident_id=resident_id),
        progress={r.id: progress_of(list(r.deliveries)) for r in requests},
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
