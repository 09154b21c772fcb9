"""Objection and consent per purpose: object to one declaration of a signatory (the newsletter)
rather than to the whole organisation, or withdraw a consent given for that one purpose.

Either is an `objection` request to one signatory, scoped to one declaration (its code, title,
purposes and legal basis are kept as filed, so a later edit of the register changes nothing);
a consent withdrawal is flagged as such. It travels through the usual delivery and adapters,
is answered like any objection, and its signed receipt names the purpose.

Which one a declaration takes follows its legal basis (GDPR Art. 6(1)): consent can be
withdrawn at any time (Art. 7(3)); a processing for a public task or a legitimate interest can
be objected to (Art. 21(1)); the others (contract, legal obligation, vital interests) can be
neither, and the card says so rather than offer a button that would be refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.models import CharterStatus, Declaration, Signatory
from desk.requests import queries
from desk.requests.models import Delivery, DeliveryState, RequestKind, RightsRequest
from desk.requests.services import file_request
from desk.requests.states import FINAL_STATES

log = logging.getLogger("desk.residents.purposes")

OBJECTION = "objection"
CONSENT_WITHDRAWAL = "consent_withdrawal"
GROUNDS = (OBJECTION, CONSENT_WITHDRAWAL)
# Art. 21(1): the right to object applies to processing based on Art. 6(1)(e) or (f).
OBJECTABLE_BASES = frozenset({"public_task", "legitimate_interest"})

NOT_FOUND = N_(
    "Ce traitement est introuvable chez cet organisme, ou il a pris fin. Revenez à la fiche de "
    "l'organisme et choisissez à nouveau."
)
NOT_CONSENT = N_(
    "Ce traitement ne repose pas sur votre consentement : il n'y a pas de consentement à "
    "retirer. Vous pouvez peut-être vous y opposer, depuis la fiche de l'organisme."
)
NOT_OBJECTABLE = N_(
    "Ce traitement repose sur un contrat, une obligation légale ou la protection d'intérêts "
    "vitaux : le droit d'opposition ne s'y applique pas. Vous pouvez demander une copie de vos "
    "données ou leur effacement."
)
ON_CONSENT = N_(
    "Ce traitement repose sur votre consentement : retirez-le plutôt, c'est plus simple et "
    "l'organisme doit s'arrêter sans discuter."
)


def ground_for(legal_basis: str) -> str | None:
    """What a resident may ask about a declaration on this basis (None: neither)."""
    if legal_basis == "consent":
        return CONSENT_WITHDRAWAL
    if legal_basis in OBJECTABLE_BASES:
        return OBJECTION
    return None


def parse_ground(raw: str | None) -> str:
    value = (raw or "").strip()
    if value not in GROUNDS:
        raise DeskError(
            N_("Choisissez de vous opposer à ce traitement ou de retirer votre consentement."),
            code="invalid",
        )
    return value


@dataclass(frozen=True)
class PurposeLine:
    """One declaration on the signatory card, with what the resident may ask about it and
    what became of the last time they did."""

    declaration: Declaration
    # objection | consent_withdrawal | None (neither applies to its legal basis)
    ground: str | None
    # The resident's latest request scoped to this declaration, and its receipt.
    delivery: Delivery | None = None
    receipt_id: str | None = None

    @property
    def pending(self) -> bool:
        return self.delivery is not None and self.delivery.state not in FINAL_STATES

    @property
    def stopped(self) -> bool:
        """The signatory said it stopped (or never used the data for this purpose)."""
        return self.delivery is not None and self.delivery.state == DeliveryState.FULFILLED

    @property
    def can_ask(self) -> bool:
        return self.ground is not None and not self.pending and not self.stopped


async def purpose_lines(
    *, declarations: Sequence[Declaration], deliveries: Sequence[Delivery]
) -> list[PurposeLine]:
    """The card's declarations (still in force), each with the resident's scoped requests.

    `deliveries` are the resident's deliveries to this signatory, newest first, with their
    request loaded."""
    latest: dict[int, Delivery] = {}
    for delivery in deliveries:
        declaration_id = delivery.request.declaration_id  # type: ignore[attr-defined]
        if declaration_id is not None and delivery.state != DeliveryState.WITHDRAWN:
            latest.setdefault(int(declaration_id), delivery)
    receipts = await queries.receipts_for(delivery_ids=[d.id for d in latest.values()])
    lines = []
    for declaration in declarations:
        if declaration.retired_at is not None:
            continue
        scoped = latest.get(declaration.id)
        receipt = receipts.get(scoped.id) if scoped is not None else None
        lines.append(
            PurposeLine(
                declaration=declaration,
                ground=ground_for(declaration.legal_basis),
                delivery=scoped,
                receipt_id=receipt.id if receipt else None,
            )
        )
    return lines


async def file_for_purpose(
    *,
    resident_id: int,
    slug: str,
    code: str,
    ground: str,
    submission_key: str | None,
    auth_method: object = "email",
) -> RightsRequest:
    """Object to one declaration, or withdraw the consent given for it: one request, to one
    signatory, scoped to that declaration. An open one for the same purpose is returned
    rather than sent twice."""
    signatory = (
        await Signatory.filter(slug=slug, charter_status=CharterStatus.SIGNED).first()
        if 0 < len(slug) <= 64
        else None
    )
    if signatory is None:
        raise DeskError("Ce signataire est introuvable.", code="not_found")
    declaration = (
        await Declaration.filter(
            signatory_id=signatory.id, code=code, retired_at__isnull=True
        ).first()
        if 0 < len(code) <= 64
        else None
    )
    if declaration is None:
        raise DeskError(NOT_FOUND, code="not_found")
    allowed = ground_for(declaration.legal_basis)
    if ground != allowed:
        if ground == CONSENT_WITHDRAWAL:
            raise DeskError(NOT_CONSENT, code="invalid")
        raise DeskError(NOT_OBJECTABLE if allowed is None else ON_CONSENT, code="invalid")
    open_one = (
        await RightsRequest.filter(
            resident_id=resident_id,
            declaration_id=declaration.id,
            deliveries__state__not_in=list(FINAL_STATES),
        )
        .order_by("-created_at")
        .first()
    )
    if open_one is not None:
        return open_one
    request = await file_request(
        resident_id=resident_id,
        kind=RequestKind.OBJECTION,
        signatory_ids=[signatory.id],
        submission_key=submission_key,
        assurance="franceconnect" if auth_method == "franceconnect" else "email",
        declaration_id=declaration.id,
        scope={
            "declaration": declaration.code,
            "title": declaration.title,
            "purposes": declaration.purposes,
            "legal_basis": declaration.legal_basis,
        },
        consent_withdrawal=ground == CONSENT_WITHDRAWAL,
    )
    log.info(
        "resident %s filed request %s (%s, declaration %s)",
        resident_id,
        request.id,
        ground,
        declaration.id,
    )
    return request
