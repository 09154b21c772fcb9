"""The resident's pages: login (desk.residents.login) and logout, dashboard, requests, one-time
downloads."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from desk.audit.log import record_action
from desk.core import clock
from desk.core.errors import DeskError
from desk.core.translatable import N_
from desk.identity.sessions import end_sessions
from desk.mediation import consent as mediation_consent
from desk.mediation import revocation as mediation_revocation
from desk.mediation.filings import copies_taken
from desk.requests import pause, queries, transitions
from desk.requests.states import FINAL_STATES, OPEN_STATES
from desk.residents import copies, copy_routes, franceconnect, login, services, views
from desk.residents import dashboard as dashboard_model
from desk.residents.auth import require_resident
from desk.residents.dashboard_page import dashboard
from desk.residents.dashboard_page import refresh_context as _refresh
from desk.retention import closing
from desk.web.limits import digits, row_id
from desk.web.templating import render

log = logging.getLogger("desk.residents")

FLASH = "flash"
MSG_NO_SUCH_PAGE = N_(
    "Cette page de vos demandes n'existe pas : la liste commence à la page 1, "
    "et vos demandes les plus récentes sont en premier."
)


def _render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    context.setdefault("flash", request.session.pop(FLASH, None))
    response = render(request, template, context, status_code=status_code)
    return response


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def logout(request: Request) -> Response:
    # A new, anonymous session replaces the logged-in one (desk.identity.sessions deletes its row).
    resident_id = request.session.get("resident_id")
    id_token = request.session.get(franceconnect.ID_TOKEN_KEY)
    request.session.clear()
    request.session[FLASH] = N_("Vous êtes déconnecté. À bientôt !")
    if isinstance(resident_id, int):
        await record_action(action="resident.logout", actor=f"resident:{resident_id}")
    if isinstance(id_token, str) and request.app.state.settings.franceconnect_enabled:
        # Logged in through FranceConnect: end its session too (it sends the browser back).
        ending = await franceconnect.logout_redirect(request, id_token)
        if ending is not None:
            request.session.pop(FLASH, None)
            return ending
    return _redirect("/")


async def logout_everywhere(request: Request) -> Response:
    """End every session of this resident: other browsers, a lost phone, a shared computer."""
    resident = await require_resident(request)
    ended = await end_sessions(resident_id=resident.id)
    await record_action(
        action="resident.logout_everywhere",
        actor=f"resident:{resident.id}",
        detail={"sessions": ended},
    )
    request.session.clear()
    request.session[FLASH] = N_("Vous êtes déconnecté de tous vos appareils.")
    return _redirect("/")


# --- dashboard and requests ---------------------------------------------------------------------


async def requests_list(request: Request) -> Response:
    """Every request of the resident, `dashboard_model.PAGE_SIZE` a page, newest first."""
    resident = await require_resident(request)
    raw = request.query_params.get("page", "1")
    page = int(raw) if digits(raw) and len(raw) <= 5 else 0
    listing = (
        await dashboard_model.requests_page(resident_id=resident.id, page=page) if page else None
    )
    if listing is None:
        raise DeskError(MSG_NO_SUCH_PAGE, code="not_found")
    return _render(
        request,
        "resident/requests.html",
        {"p": listing, "kind_label": views.kind_label},
    )


async def file_request(request: Request) -> Response:
    resident = await require_resident(request)
    form = await request.form()
    kind = services.parse_kind(_field(form, "kind"))
    slugs = [v for v in form.getlist("signatory") if isinstance(v, str)]
    key = services.check_submission_key(_field(form, "submission_key"))
    filed = await services.file_for_resident(
        resident_id=resident.id,
        kind=kind,
        signatory_slugs=slugs,
        submission_key=key,
        auth_method=request.session.get("auth_method"),
    )
    return _redirect(f"/mon-espace/demandes/{filed.reference}")


async def erasure_confirm(request: Request) -> Response:
    resident = await require_resident(request)
    everyone = request.query_params.get("tous") == "1"
    slug = request.query_params.get("signataire")
    if not everyone and not slug:
        raise DeskError(
            "Choisissez chez quel signataire supprimer vos données, depuis votre espace.",
            code="invalid",
        )
    plan = await services.erasure_plan(resident_id=resident.id, slug=slug, all_holders=everyone)
    return _render(
        request,
        "resident/erasure_confirm.html",
        {"plan": plan, "submission_key": services.new_submission_key()},
    )


async def request_page(request: Request) -> Response:
    resident = await require_resident(request)
    reference = request.path_params["reference"]
    detail = await queries.resident_request(resident_id=resident.id, reference=reference[:32])
    if detail is None:
        raise DeskError("Cette demande est introuvable.", code="not_found")
    return _render(
        request,
        "resident/request.html",
        {
            "detail": detail,
            "pr": views.progress_of(detail.deliveries),
            **_refresh(
                request,
                waiting=any(d.state in OPEN_STATES for d in detail.deliveries),
                here=f"/mon-espace/demandes/{detail.request.reference}",
            ),
            "req": detail.request,
            "answers": views.request_page_lines(detail),
            "final_states": FINAL_STATES,
            "state_label": views.state_label,
            "kind_label": views.kind_label,
            "event_label": views.event_label,
            "actor_label": views.actor_label,
            "now": clock.now(),
            "paused": {d.id for d in detail.deliveries if pause.is_paused(d)},
            # What each copy offers this browser: available, retry (its window), or gone.
            "copy_state": lambda copy: copies.state_of(
                copy, request.session.get(copies.SESSION_KEY), clock.now()
            ),
            "taken": await copies_taken(
                copy_ids=[c.id for copies in detail.copies.values() for c in copies]
            ),
        },
    )


async def answer_mediator(request: Request) -> Response:
    """The resident, in their own space, accepts or refuses a mediator joining their account."""
    resident = await require_resident(request)
    raw = str(request.path_params["sid"])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise DeskError("Cette demande d'accompagnement est introuvable.", code="not_found")
    form = await request.form()
    choice = form.get("reponse")
    if choice not in ("accepter", "refuser"):
        raise DeskError("Choisissez d'accepter ou de refuser.", code="invalid")
    await mediation_consent.resident_answers(
        resident_id=resident.id, session_id=int(raw), accept=choice == "accepter"
    )
    request.session[FLASH] = (
        N_(
            "Vous avez accepté : la personne qui vous accompagne peut maintenant agir pour vous, "
            "dans les limites du mandat. Vous recevez un courriel qui le confirme."
        )
        if choice == "accepter"
        else N_("Vous avez refusé : cette personne ne verra rien de votre compte.")
    )
    return _redirect("/mon-espace")


async def withdraw(request: Request) -> Response:
    resident = await require_resident(request)
    reference = request.path_params["reference"][:32]
    await services.check_own_request(resident_id=resident.id, reference=reference)
    form = await request.form()
    delivery_id = row_id(_field(form, "delivery"))
    if delivery_id is None:
        raise DeskError("Indiquez quelle demande retirer.", code="invalid")
    runtime = request.app.state.runtime
    await services.withdraw(
        resident_id=resident.id,
        reference=reference,
        delivery_id=delivery_id,
        keyring=runtime.keyring,
        issuer=runtime.issuer,
    )
    request.session[FLASH] = N_("Votre demande auprès de cet organisme a été retirée.")
    return _redirect(f"/mon-espace/demandes/{reference}")


def _mandate_id(request: Request) -> int:
    raw = str(request.path_params["mid"])
    if not digits(raw) or len(raw) > 9:
        raise DeskError("Ce mandat est introuvable.", code="not_found")
    return int(raw)


async def revoke_mandate(request: Request) -> Response:
    """The resident withdraws a mandate given to a mediator ("à tout moment", says the paper)."""
    resident = await require_resident(request)
    mid = _mandate_id(request)
    await mediation_revocation.revoke_by_resident(resident_id=resident.id, mandate_id=mid)
    request.session[FLASH] = N_(
        "Le mandat est retiré : cette personne ne voit plus vos demandes et ne peut plus rien "
        "déposer pour vous. Vous recevez un courriel qui le confirme."
    )
    return _redirect(f"/mon-espace/mandats/{mid}/retrait")


async def revocation_page(request: Request) -> Response:
    resident = await require_resident(request)
    sheet = await mediation_revocation.revocation_sheet_for_resident(
        resident_id=resident.id, mandate_id=_mandate_id(request)
    )
    return _render(
        request,
        "mediation/revocation.html",
        {"s": sheet, "back": "/mon-espace", "kind_label": views.kind_label},
    )


async def answer_info(request: Request) -> Response:
    """The resident answers the question a signatory asked (need_info) about their request."""
    resident = await require_resident(request)
    reference = request.path_params["reference"][:32]
    await services.check_own_request(resident_id=resident.id, reference=reference)
    form = await request.form()
    delivery_id = row_id(_field(form, "delivery"))
    if delivery_id is None:
        raise DeskError("Indiquez à quelle question vous répondez.", code="invalid")
    await services.check_own_request(
        resident_id=resident.id, reference=reference, delivery_id=delivery_id
    )
    answer = _field(form, "answer").strip()
    if not answer:
        raise DeskError(
            "Écrivez votre réponse à la question de l'organisme avant de l'envoyer.",
            code="invalid",
        )
    try:
        await transitions.provide_info(delivery_id=delivery_id, actor="resident", answer=answer)
    except DeskError as exc:
        if exc.code == "conflict":
            raise DeskError(
                "Cette question n'attend plus de réponse : l'organisme a peut-être déjà "
                "répondu à votre demande, ou vous avez déjà répondu.",
                code="conflict",
            ) from exc
        raise
    request.session[FLASH] = N_("Votre réponse a été transmise à l'organisme.")
    return _redirect(f"/mon-espace/demandes/{reference}")


# --- closing the account --------------------------------------------------------------------

CLOSED = "closed_account"


async def closing_page(request: Request) -> Response:
    """Says, before anything happens, what closing deletes, what it keeps and for how long."""
    resident = await require_resident(request)
    preview = await closing.preview_closing(resident_id=resident.id)
    return _render(request, "resident/close_account.html", {"p": preview})


async def close_account(request: Request) -> Response:
    resident = await require_resident(request)
    form = await request.form()
    if _field(form, "confirmer") != "oui":
        raise DeskError("Cochez la case pour confirmer la fermeture du compte.", code="invalid")
    closed = await closing.close_account(
        resident_id=resident.id, secret_key=request.app.state.settings.secret_key
    )
    # The session row went with the account; a new anonymous one carries only counts.
    request.session.clear()
    if closed is not None:
        request.session[CLOSED] = {
            "at": closed.closed_at.isoformat(),
            "withdrawn": closed.withdrawn,
            "kept": closed.requests_kept,
        }
    return _redirect("/compte-ferme")


async def closed_page(request: Request) -> Response:
    raw = request.session.pop(CLOSED, None)
    summary = None
    if isinstance(raw, dict):
        summary = {
            "at": datetime.fromisoformat(str(raw.get("at"))),
            "withdrawn": int(raw.get("withdrawn", 0)),
            "kept": int(raw.get("kept", 0)),
        }
    return _render(request, "resident/account_closed.html", {"summary": summary})


routes: list[BaseRoute] = [
    *login.routes,
    Route("/deconnexion", logout, methods=["POST"], name="logout"),
    Route("/deconnexion/partout", logout_everywhere, methods=["POST"], name="logout_everywhere"),
    Route("/mon-espace", dashboard, methods=["GET"], name="dashboard"),
    Route("/mon-espace/fermer", closing_page, methods=["GET"], name="close_account_page"),
    Route("/mon-espace/fermer", close_account, methods=["POST"], name="close_account"),
    Route("/compte-ferme", closed_page, methods=["GET"], name="account_closed"),
    Route("/mon-espace/demandes", requests_list, methods=["GET"], name="resident_requests"),
    Route("/mon-espace/demandes", file_request, methods=["POST"], name="file_request"),
    Route("/mon-espace/supprimer", erasure_confirm, methods=["GET"], name="erasure_confirm"),
    Route(
        "/mon-espace/demandes/{reference}", request_page, methods=["GET"], name="resident_request"
    ),
    Route("/mon-espace/demandes/{reference}/retirer", withdraw, methods=["POST"], name="withdraw"),
    Route(
        "/mon-espace/accompagnement/{sid}",
        answer_mediator,
        methods=["POST"],
        name="answer_mediator",
    ),
    Route(
        "/mon-espace/mandats/{mid}/retirer",
        revoke_mandate,
        methods=["POST"],
        name="revoke_mandate",
    ),
    Route(
        "/mon-espace/mandats/{mid}/retrait",
        revocation_page,
        methods=["GET"],
        name="mandate_revoked",
    ),
    Route(
        "/mon-espace/demandes/{reference}/repondre",
        answer_info,
        methods=["POST"],
        name="answer_info",
    ),
    # The copies: readable page, PDF and file (desk.residents.copy_routes).
    *copy_routes.routes,
]
