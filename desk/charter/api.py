"""The charter part of the partner API: a signatory reads its alerts, answers them, and files
its yearly self-evaluation. Every query is filtered by the bearer token's signatory."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from desk.charter import alerts, selfeval
from desk.charter.bodies import Alert, AlertList, AlertResponseBody, SelfEvaluationBody
from desk.charter.models import Alert as AlertRow
from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.core.translatable import N_
from desk.partners.auth import require_partner
from desk.partners.openapi import json_answer, json_request, operation, problem
from desk.web.errors import ApiProblem
from desk.web.limits import MAX_ROW_ID, row_id
from desk.web.validation import validated

BODY_MAX = 32 * 1024
NO_STORE = {"Cache-Control": "no-store"}
MSG_NOT_JSON = N_("Le corps de la demande n'est pas un JSON valide.")
MSG_WANT_JSON = N_(
    "Envoyez le corps de la demande en JSON (en-tête Content-Type: application/json)."
)
MSG_TOO_LARGE = N_("Le corps de la demande est trop volumineux (32 Ko au plus).")
MSG_NOT_OBJECT = N_("Le corps de la demande doit être un objet JSON.")


def _refusal(exc: DeskError) -> ApiProblem:
    return ApiProblem(status_of(exc, default=422), exc.message)


async def _body(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_MAX:
        raise ApiProblem(413, MSG_TOO_LARGE)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > BODY_MAX:
            raise ApiProblem(413, MSG_TOO_LARGE)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiProblem(415, MSG_WANT_JSON)
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiProblem(400, MSG_NOT_JSON) from exc
    if not isinstance(data, dict):
        raise ApiProblem(422, MSG_NOT_OBJECT)
    return data


def _alert(alert: AlertRow) -> dict[str, Any]:
    # The published document of an alert, checked against the model the API documents.
    return Alert.model_validate(alerts.alert_document(alert)).model_dump(mode="json")


@operation(
    "GET",
    "/api/v1/alerts",
    summary="Lister les alertes de la charte visant votre organisme",
    description="Les étapes de l'échelle d'alertes (1 : rappel, 2 : mise en demeure, "
    "3 : exclusion proposée au comité d'éthique), les plus récentes d'abord, avec leur motif, "
    "les envois en retard concernés et votre réponse éventuelle.",
    tags=["Charte"],
    responses={"200": json_answer("Vos alertes", AlertList)},
)
async def list_alerts(request: Request) -> Response:
    principal = await require_partner(request)
    rows = await alerts.alerts_of(signatory_id=principal.signatory_id)
    return JSONResponse({"alerts": [_alert(a) for a in rows]}, headers=NO_STORE)


@operation(
    "POST",
    "/api/v1/alerts/{alert_id}/response",
    summary="Répondre à une alerte : explication et plan d'action",
    description="Votre réponse est publiée avec l'alerte. Une nouvelle réponse remplace la "
    "précédente.",
    tags=["Charte"],
    parameters=[
        {
            "name": "alert_id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
        }
    ],
    request_body=json_request(AlertResponseBody),
    responses={
        "200": json_answer("L'alerte avec votre réponse", Alert),
        "404": problem("Alerte introuvable pour votre organisme"),
        "413": problem("Corps trop volumineux"),
        "415": problem("Le corps doit être du JSON"),
    },
)
async def respond(request: Request) -> Response:
    principal = await require_partner(request)
    alert_id = row_id(str(request.path_params.get("alert_id", "")))
    if alert_id is None:
        raise ApiProblem(404, alerts.MSG_ALERT_NOT_FOUND)
    # As ever: a body too large, not JSON or malformed is refused first (413, 415, 400), then
    # another signatory's alert is "not found" whatever the fields say, then the fields.
    data = await _body(request)
    try:
        await alerts.alert_of(alert_id=alert_id, signatory_id=principal.signatory_id)
    except DeskError as exc:
        raise _refusal(exc) from exc
    body = validated(AlertResponseBody, data)
    try:
        alert = await alerts.respond(
            alert_id=alert_id,
            signatory_id=principal.signatory_id,
            explanation=body.explanation,
            corrective_plan=body.corrective_plan,
        )
    except DeskError as exc:
        raise _refusal(exc) from exc
    return JSONResponse(_alert(alert), headers=NO_STORE)


@operation(
    "PUT",
    "/api/v1/self-evaluations/{year}",
    summary="Déposer l'auto-évaluation annuelle de votre organisme",
    description="Six questions sur l'application de la charte, chacune répondue par yes, "
    "partly ou no, avec un commentaire facultatif. Publiée sur "
    "/signataires/{slug}/auto-evaluation/{year}. Un nouveau dépôt pour la même année remplace "
    "le précédent.",
    tags=["Charte"],
    parameters=[
        {
            "name": "year",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": selfeval.FIRST_YEAR},
        }
    ],
    request_body=json_request(SelfEvaluationBody),
    responses={
        "200": {"description": "Auto-évaluation remplacée"},
        "201": {"description": "Auto-évaluation enregistrée"},
        "404": problem("Année hors de la période de la charte"),
    },
)
async def put_self_evaluation(request: Request) -> Response:
    principal = await require_partner(request)
    now = clock.now()
    try:
        year = selfeval.check_year(request.path_params.get("year", ""), now=now)
        body = validated(SelfEvaluationBody, await _body(request))
        row, created = await selfeval.submit(
            signatory_id=principal.signatory_id, year=year, answers=body.sent(), now=now
        )
    except DeskError as exc:
        raise _refusal(exc) from exc
    return JSONResponse(
        selfeval.document(row), status_code=201 if created else 200, headers=NO_STORE
    )


routes: list[BaseRoute] = [
    Route("/api/v1/alerts", list_alerts, methods=["GET"], name="api_alerts"),
    Route("/api/v1/alerts/{alert_id}/response", respond, methods=["POST"]),
    Route("/api/v1/self-evaluations/{year}", put_self_evaluation, methods=["PUT"]),
]
