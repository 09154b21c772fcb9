"""Holdings and lineage: a signatory tells, by keyed hashes, whom it holds data about and what
it did with those data; the resident sees it on their dashboard.

The thin API routes; the typed bodies and answers are in bodies.py, the parsing rules in
rules.py, the services in services.py, the hashing rules in hashing.py and docs/holdings.md.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from desk.core import clock
from desk.core.translatable import N_
from desk.holdings import hashing
from desk.holdings.bodies import (
    Count,
    CountAndRemoved,
    HashingKey,
    HoldingsBody,
    LineageEventsBody,
)
from desk.holdings.rules import (
    DOC_URL,
    MAX_EVENTS_BYTES,
    MAX_HOLDINGS_BYTES,
    NORMALISATION_FR,
    PayloadRefused,
    parse_events,
    parse_holdings,
)
from desk.holdings.services import (
    Transparency,
    declare_holdings,
    record_lineage,
    resident_transparency,
    signatory_hashing_key,
)
from desk.partners.auth import require_partner
from desk.partners.idempotency import idempotent
from desk.partners.openapi import json_answer, json_request, operation
from desk.partners.tokens import PartnerPrincipal
from desk.web.errors import ApiProblem
from desk.web.validation import validated

# --- API ----------------------------------------------------------------------------------------


async def _principal(request: Request, scope: str) -> PartnerPrincipal:
    principal = await require_partner(request)
    if scope not in principal.scope:
        raise ApiProblem(
            403,
            f"Votre jeton ne donne pas accès à cette partie de l'API (droit « {scope} » "
            "manquant) : demandez un nouveau jeton.",
        )
    return principal


async def _read_json_body(request: Request, limit: int) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiProblem(
            415, N_("Envoyez le corps en JSON, avec l'en-tête Content-Type: application/json.")
        )
    too_large = (
        f"Corps de la demande trop volumineux : {limit // (1024 * 1024)} Mo au plus. "
        "Découpez l'envoi en plusieurs appels."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiProblem(413, too_large)
    return bytes(body)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(
            400,
            N_("Le corps de la demande n'est pas un JSON valide (UTF-8) : vérifiez sa syntaxe."),
        ) from None


def _refused(exc: PayloadRefused) -> ApiProblem:
    return ApiProblem(exc.status, exc.message)


def _count_response(description: str, *, removed: bool) -> dict[str, Any]:
    return json_answer(description, CountAndRemoved if removed else Count)


_IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Rejouer la même demande avec la même clé renvoie la première réponse.",
}

_WRITE_ERRORS: dict[str, Any] = {
    "409": {"description": "Un envoi avec la même clé, ou pour les mêmes personnes, est en cours"},
    "413": {"description": "Corps trop volumineux ou trop d'éléments"},
    "415": {"description": "Corps qui n'est pas du JSON"},
}


@operation(
    "GET",
    "/api/v1/hashing-key",
    summary="Obtenir la clé de hachage des identifiants",
    description="La clé secrète propre à votre organisme pour calculer les empreintes "
    "(HMAC-SHA256) des adresses et numéros des personnes dont vous détenez des données. Elle "
    "est créée au premier appel et ne change pas ensuite. Gardez-la secrète : quiconque la "
    "connaît peut tester si une adresse figure dans vos envois.",
    tags=["Détentions et cheminement"],
    responses={"200": json_answer("La clé et la règle de calcul", HashingKey)},
)
async def hashing_key_endpoint(request: Request) -> Response:
    principal = await _principal(request, "holdings")
    key = await signatory_hashing_key(
        signatory_id=principal.signatory_id,
        secret_key=request.app.state.settings.secret_key,
    )
    return JSONResponse(
        {
            "algorithm": hashing.ALGORITHM,
            "key": key,
            "normalisation": NORMALISATION_FR,
            "documentation": DOC_URL,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _holdings(request: Request, *, replace: bool) -> Response:
    principal = await _principal(request, "holdings")
    body = await _read_json_body(request, MAX_HOLDINGS_BYTES)

    async def handler() -> Response:
        try:
            data = _decode(body)
            items = parse_holdings(data)
            validated(HoldingsBody, data)
            result = await declare_holdings(
                signatory_id=principal.signatory_id, items=items, replace=replace
            )
        except PayloadRefused as exc:
            raise _refused(exc) from exc
        answer: dict[str, int] = {"count": result.count}
        if replace:
            answer["removed"] = result.removed
        return JSONResponse(answer)

    return await idempotent(request, principal, body, handler)


@operation(
    "PUT",
    "/api/v1/holdings",
    summary="Déclarer l'ensemble des personnes dont vous détenez des données",
    description="Remplace toute la liste précédente : les empreintes absentes sont supprimées, "
    "les autres créées ou mises à jour, en une seule transaction. Au plus 10 000 éléments par "
    "appel ; au-delà, envoyez le premier lot par PUT puis les suivants par POST.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body=json_request(HoldingsBody),
    responses={"200": _count_response("Liste enregistrée", removed=True), **_WRITE_ERRORS},
)
async def put_holdings(request: Request) -> Response:
    return await _holdings(request, replace=True)


@operation(
    "POST",
    "/api/v1/holdings",
    summary="Ajouter ou mettre à jour des détentions, sans rien supprimer",
    description="Chaque élément décrit entièrement une personne : ses codes de traitement "
    "remplacent ceux déjà enregistrés pour cette empreinte.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body=json_request(HoldingsBody),
    responses={"200": _count_response("Détentions enregistrées", removed=False), **_WRITE_ERRORS},
)
async def post_holdings(request: Request) -> Response:
    return await _holdings(request, replace=False)


@operation(
    "POST",
    "/api/v1/lineage-events",
    summary="Signaler des utilisations ou transmissions de données",
    description="Chaque événement dit qu'une catégorie de données d'une personne (connue par "
    "son empreinte) a servi à une finalité ou a été transmise à un destinataire, à une date "
    "passée. La personne le voit dans son espace. Au plus 1 000 événements par appel.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body=json_request(LineageEventsBody),
    responses={"200": _count_response("Événements enregistrés", removed=False), **_WRITE_ERRORS},
)
async def post_lineage_events(request: Request) -> Response:
    principal = await _principal(request, "lineage")
    body = await _read_json_body(request, MAX_EVENTS_BYTES)

    async def handler() -> Response:
        try:
            data = _decode(body)
            events = parse_events(data, today=clock.local(clock.now()).date())
            validated(LineageEventsBody, data)
            count = await record_lineage(signatory_id=principal.signatory_id, events=events)
        except PayloadRefused as exc:
            raise _refused(exc) from exc
        return JSONResponse({"count": count})

    return await idempotent(request, principal, body, handler)


routes: list[BaseRoute] = [
    Route("/api/v1/hashing-key", hashing_key_endpoint, methods=["GET"], name="api_hashing_key"),
    Route("/api/v1/holdings", put_holdings, methods=["PUT"], name="api_holdings_put"),
    Route("/api/v1/holdings", post_holdings, methods=["POST"], name="api_holdings_post"),
    Route(
        "/api/v1/lineage-events",
        post_lineage_events,
        methods=["POST"],
        name="api_lineage_events",
    ),
]


# Imported from here by the residents' dashboard.
__all__ = ["Transparency", "resident_transparency", "routes"]
