"""Partner deep links: a signatory's own site links to /signataires/<slug>/mes-donnees.

The resident lands, logs in if needed, and sees that signatory's card: what it declares, what it
answered about them, and one-click buttons to erase their data there or object to its use.
Every query is filtered by the logged-in resident: another resident's answers are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.registry.models import CharterStatus, Declaration, Signatory
from desk.requests import queries
from desk.requests.models import Delivery, RequestKind
from desk.residents import purposes
from desk.residents.auth import current_resident, require_resident
from desk.residents.purposes import PurposeLine, purpose_lines
from desk.residents.services import check_submission_key, new_submission_key
from desk.residents.standing import Standing, Status, standing
from desk.residents.views import answer_lines, kind_label, state_label
from desk.web.templating import render

NEXT_KEY = "next"
# The resident pages' flash message (desk.residents.routes.FLASH).
FLASH = "flash"
NOT_FOUND = N_(
    "Ce signataire est introuvable. Vérifiez le lien, ou retrouvez-le dans la liste des "
    "signataires de la charte."
)


def card_path(slug: str) -> str:
    return f"/mon-espace/signataires/{slug}"


# --- services ----------------------------------------------------------------------------------


async def find_signatory(slug: str) -> Signatory:
    signatory = await Signatory.filter(slug=slug[:64]).first()
    if signatory is None:
        raise DeskError(NOT_FOUND, code="not_found")
    return signatory


@dataclass
class SignatoryCard:
    signatory: Signatory
    declarations: list[Declaration]
    signed: bool
    # The resident's latest discovery delivery to this signatory, and its answer in words.
    discovery: Delivery | None
    discovery_lines: list[str] = field(default_factory=list)
    # Every request of this resident to this signatory, newest first.
    deliveries: list[Delivery] = field(default_factory=list)
    # What it last said (the same rule as the dashboard's), and the receipt proving it.
    standing: Standing = field(default_factory=lambda: Standing(Status.NOT_ASKED))
    receipt_id: str | None = None
    # Each declaration in force, with the objection or consent withdrawal it allows.
    purposes: list[PurposeLine] = field(default_factory=list)

    @property
    def can_erase(self) -> bool:
        return self.signed and self.standing.may_hold

    @property
    def can_copy(self) -> bool:
        # Nothing to copy where it said it holds nothing, or erased everything.
        return self.signed and self.standing.status not in (Status.NOTHING, Status.ERASED)


async def signatory_card(*, resident_id: int, slug: str) -> SignatoryCard:
    signatory = await find_signatory(slug)
    declarations = list(await Declaration.filter(signatory_id=signatory.id).order_by("id"))
    deliveries = list(
        await Delivery.filter(signatory_id=signatory.id, request__resident_id=resident_id)
        .select_related("request", "signatory")
        .order_by("-received_at", "-id")
    )
    discovery = next((d for d in deliveries if d.request.kind == RequestKind.DISCOVERY), None)
    titles = {d.code: d.title for d in declarations}
    now = standing(deliveries)
    receipts = await queries.receipts_for(delivery_ids=[now.delivery.id]) if now.delivery else {}
    receipt = receipts.get(now.delivery.id) if now.delivery else None
    return SignatoryCard(
        signatory=signatory,
        declarations=declarations,
        signed=signatory.charter_status == CharterStatus.SIGNED,
        discovery=discovery,
        discovery_lines=(
            answer_lines(RequestKind.DISCOVERY, discovery, titles) if discovery else []
        ),
        deliveries=deliveries,
        standing=now,
        receipt_id=receipt.id if receipt else None,
        purposes=await purpose_lines(declarations=declarations, deliveries=deliveries),
    )


# --- routes ------------------------------------------------------------------------------------


async def deep_link(request: Request) -> Response:
    signatory = await find_signatory(str(request.path_params["slug"]))
    target = card_path(signatory.slug)
    if await current_resident(request) is None:
        request.session[NEXT_KEY] = target
        return RedirectResponse("/connexion", status_code=303)
    return RedirectResponse(target, status_code=303)


async def card_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    resident = await current_resident(request)
    if resident is None:
        signatory = await find_signatory(slug)
        request.session[NEXT_KEY] = card_path(signatory.slug)
        return RedirectResponse("/connexion", status_code=303)
    card = await signatory_card(resident_id=resident.id, slug=slug)
    context: dict[str, Any] = {
        "card": card,
        "submission_key": new_submission_key(),
        "access_key": new_submission_key(),
        "discovery_key": new_submission_key(),
        "new_key": new_submission_key,
        "state_label": state_label,
        "kind_label": kind_label,
    }
    return render(
        request,
        "deeplinks/signatory_card.html",
        context,
        headers={"cache-control": "no-store"},
    )


async def file_for_purpose(request: Request) -> Response:
    """Object to one declaration of this signatory, or withdraw the consent given for it."""
    resident = await require_resident(request)
    form = await request.form()
    filed = await purposes.file_for_purpose(
        resident_id=resident.id,
        slug=str(request.path_params["slug"])[:65],
        code=_field(form, "declaration")[:65],
        ground=purposes.parse_ground(_field(form, "ground")),
        submission_key=check_submission_key(_field(form, "submission_key")),
        auth_method=request.session.get("auth_method"),
    )
    request.session[FLASH] = N_(
        "Votre demande est envoyée à l'organisme, pour ce seul traitement. Vous recevrez un "
        "reçu signé quand il aura répondu."
    )
    return RedirectResponse(f"/mon-espace/demandes/{filed.reference}", status_code=303)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


routes: list[BaseRoute] = [
    Route("/signataires/{slug}/mes-donnees", deep_link, methods=["GET"], name="deep_link"),
    Route("/mon-espace/signataires/{slug}", card_page, methods=["GET"], name="resident_signatory"),
    Route(
        "/mon-espace/signataires/{slug}/finalites",
        file_for_purpose,
        methods=["POST"],
        name="resident_purpose",
    ),
]
