"""The partner API under /api/v1: a signatory's inbox of deliveries, and its answers.

Every query is filtered by the bearer token's signatory: another signatory's delivery is
"not found", exactly like one that does not exist. Every POST goes through `idempotent`.

This module declares the endpoints (OpenAPI included); the typed bodies and answers are in
bodies.py, reading deliveries in deliveries.py, parsing and applying answers in answers.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from desk.core.errors import DeskError
from desk.partners import bodies as B
from desk.partners.answer_page import delivery_for
from desk.partners.answers import (
    answer_once,
    json_response,
    parse_acknowledge,
    parse_deny,
    parse_extend,
    parse_fulfil,
    parse_need_info,
    path_id,
    refusal,
)
from desk.partners.auth import require_partner
from desk.partners.deliveries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MSG_BAD_CURSOR,
    MSG_BAD_KIND,
    MSG_BAD_LIMIT,
    MSG_BAD_STATE,
    MSG_UNKNOWN_PARAMETER,
    PREFIX,
    decode_cursor,
    delivery_document,
    encode_cursor,
    inbox,
    summary,
)
from desk.partners.openapi import json_answer, json_request, operation, problem, schema_ref
from desk.requests.models import DeliveryState, RequestKind
from desk.web.errors import ApiProblem
from desk.web.limits import digits

# --- OpenAPI declarations -------------------------------------------------------------------

DELIVERY_ID_PARAM: dict[str, Any] = {
    "name": "delivery_id",
    "in": "path",
    "required": True,
    "description": "Identifiant de l'envoi (champ id).",
    "schema": {"type": "integer", "minimum": 1, "maximum": B.MAX_ID},
}
IDEMPOTENCY_PARAM: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Une clé de votre choix : la même demande renvoyée avec la même clé n'a "
    "effet qu'une fois et reçoit la même réponse.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
ANSWER_RESPONSES: dict[str, Any] = {
    "200": json_answer("L'envoi, après votre action", B.Delivery),
    "404": problem("Envoi introuvable pour votre organisme"),
    "409": problem("Action impossible dans l'état actuel de l'envoi (par exemple déjà traité)"),
    "413": problem("Corps de la demande ou fichier trop volumineux"),
    "415": problem("Type de contenu ou de fichier refusé"),
}


Endpoint = Callable[[Request], Awaitable[Response]]


def _post_operation(
    name: str, summary: str, description: str, body: dict[str, Any]
) -> Callable[[Endpoint], Endpoint]:
    return operation(
        "POST",
        f"{PREFIX}/{{delivery_id}}/{name}",
        summary=summary,
        description=description,
        tags=["Envois"],
        parameters=[DELIVERY_ID_PARAM, IDEMPOTENCY_PARAM],
        request_body=body,
        responses=ANSWER_RESPONSES,
    )


# --- endpoints -------------------------------------------------------------------------------


# The list's query parameters: any other one is refused, as the document says.
LIST_PARAMETERS = ("state", "kind", "limit", "cursor")


@operation(
    "GET",
    PREFIX,
    summary="Lister les envois reçus par votre organisme",
    description="Pagination par curseur, dans l'ordre des identifiants : reprenez next_cursor "
    "tant qu'il n'est pas null.",
    tags=["Envois"],
    parameters=[
        {
            "name": "state",
            "in": "query",
            "required": False,
            "description": "Seulement les envois dans cet état.",
            "schema": {"type": "string", "enum": B.STATES},
        },
        {
            "name": "kind",
            "in": "query",
            "required": False,
            "description": "Seulement les demandes de ce type.",
            "schema": {"type": "string", "enum": B.KINDS},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Nombre d'envois par page (1 à 100, 50 par défaut).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "La valeur next_cursor de la page précédente.",
            "schema": {"type": "string", "maxLength": 16},
        },
    ],
    responses={"200": json_answer("Une page d'envois", B.DeliveryList)},
)
async def list_deliveries(request: Request) -> Response:
    principal = await require_partner(request)
    params = request.query_params
    for name in params:
        if name not in LIST_PARAMETERS:
            known = ", ".join(LIST_PARAMETERS)
            raise ApiProblem(400, MSG_UNKNOWN_PARAMETER.format(name=name[:40], known=known))
    state: DeliveryState | None = None
    kind: RequestKind | None = None
    # A parameter given empty breaks the document as much as a wrong value: refused too.
    if "state" in params:
        try:
            state = DeliveryState(params["state"])
        except ValueError as exc:
            raise ApiProblem(400, MSG_BAD_STATE.format(values=", ".join(B.STATES))) from exc
    if "kind" in params:
        try:
            kind = RequestKind(params["kind"])
        except ValueError as exc:
            raise ApiProblem(400, MSG_BAD_KIND.format(values=", ".join(B.KINDS))) from exc
    limit = DEFAULT_LIMIT
    if "limit" in params:
        raw_limit = params["limit"]
        if not digits(raw_limit) or len(raw_limit) > 3 or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ApiProblem(400, MSG_BAD_LIMIT)
        limit = int(raw_limit)
    after_id = 0
    if "cursor" in params:
        try:
            after_id = decode_cursor(params["cursor"])
        except ValueError as exc:
            raise ApiProblem(400, MSG_BAD_CURSOR) from exc
    page = await inbox(
        signatory_id=principal.signatory_id, state=state, kind=kind, limit=limit, after_id=after_id
    )
    return json_response(
        B.DeliveryList(
            items=[summary(d) for d in page.deliveries],
            next_cursor=encode_cursor(page.next_after) if page.next_after else None,
        )
    )


@operation(
    "GET",
    f"{PREFIX}/{{delivery_id}}",
    summary="Lire un envoi",
    description="Les identifiants de la personne (seulement ceux que votre organisme accepte), "
    "les délais, l'historique et le lien de réponse signé.",
    tags=["Envois"],
    parameters=[DELIVERY_ID_PARAM],
    responses={
        "200": json_answer("L'envoi", B.Delivery),
        "404": problem("Envoi introuvable pour votre organisme"),
    },
)
async def get_delivery(request: Request) -> Response:
    principal = await require_partner(request)
    delivery_id = path_id(request)
    try:
        delivery = await delivery_for(delivery_id=delivery_id, signatory_id=principal.signatory_id)
    except DeskError as exc:
        raise refusal(exc) from exc
    return json_response(await delivery_document(delivery, request.app.state.runtime))


@_post_operation(
    "acknowledge",
    "Accuser réception",
    "Vous confirmez avoir reçu la demande ; le délai ne change pas. Corps vide ou {}.",
    json_request(B.AcknowledgeBody, required=False),
)
async def acknowledge(request: Request) -> Response:
    return await answer_once(request, parse_acknowledge)


@_post_operation(
    "extend",
    "Prolonger le délai",
    "Une seule fois, pendant le premier mois, d'un ou deux mois, avec une raison que la "
    "personne lira (article 12, paragraphe 3, du RGPD).",
    json_request(B.ExtendBody),
)
async def extend(request: Request) -> Response:
    return await answer_once(request, parse_extend)


@_post_operation(
    "fulfil",
    "Répondre à la demande",
    "En JSON {outcome: {...}} ; pour une demande de copie (access), en multipart/form-data "
    "avec un champ « outcome » (JSON) et un fichier « copy » (JSON, CSV ou PDF). "
    "Un reçu signé est remis à la personne.",
    {
        "required": True,
        "content": {
            "application/json": {"schema": schema_ref(B.FulfilBody)},
            "multipart/form-data": {"schema": schema_ref(B.FulfilForm)},
        },
    },
)
async def fulfil(request: Request) -> Response:
    return await answer_once(request, parse_fulfil)


@_post_operation(
    "deny",
    "Refuser la demande",
    "Avec un motif de la liste et une explication pour la personne. Un reçu signé lui est remis.",
    json_request(B.DenyBody),
)
async def deny(request: Request) -> Response:
    return await answer_once(request, parse_deny)


@_post_operation(
    "need-info",
    "Poser une question à la personne",
    "Quand il vous manque une information pour la retrouver ou répondre. La personne est "
    "prévenue par courriel et répond depuis son espace ; l'envoi repasse alors à acknowledged "
    "(ou extended) et info_answer contient sa réponse.",
    json_request(B.NeedInfoBody),
)
async def need_info(request: Request) -> Response:
    return await answer_once(request, parse_need_info)


routes: list[BaseRoute] = [
    Route(PREFIX, list_deliveries, methods=["GET"], name="api_deliveries"),
    Route(f"{PREFIX}/{{delivery_id}}", get_delivery, methods=["GET"], name="api_delivery"),
    Route(f"{PREFIX}/{{delivery_id}}/acknowledge", acknowledge, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/extend", extend, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/fulfil", fulfil, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/deny", deny, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/need-info", need_info, methods=["POST"]),
]
