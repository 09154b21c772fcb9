"""The reference partner's Data Rights Protocol–style API, for the rest adapter:
POST /v1/data-rights-request and GET /v1/data-rights-request/{id}, from memory. A request is
"in_progress" on its first poll and "fulfilled" (with a plausible result) from then on.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from desk.demo.reference_state import (
    CATEGORIES,
    RECIPIENTS,
    DrpRequest,
    PartnerState,
    error_response,
    export_for,
    knows,
    partner_state,
    read_body,
)

EXERCISES = ("access", "access:categories", "deletion", "objection")


def _authorised(state: PartnerState, request: Request) -> bool:
    if state.api_token is None:
        return True
    return request.headers.get("authorization", "") == f"Bearer {state.api_token}"


def _view(item: DrpRequest, state: PartnerState) -> dict[str, Any]:
    view: dict[str, Any] = {
        "request_id": item.request_id,
        "status": item.status,
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(item.received_at)),
    }
    if item.status == "denied":
        view["reason"] = "no_match"
        view["processing_details"] = "Aucune personne ne correspond à cet identifiant chez nous."
    if item.status == "fulfilled":
        view["processing_details"] = "Traité par le système de référence."
        view["result"] = _result(item, state)
    return view


def _result(item: DrpRequest, state: PartnerState) -> dict[str, Any]:
    if item.exercise == "access:categories":
        return {"holds_data": True, "declarations": ["abonnes"], "categories": list(CATEGORIES)}
    if item.exercise == "access":
        export = export_for(item.identity, item.reference)
        return {
            "holds_data": True,
            "copy": {
                "filename": f"export-{item.request_id}.json",
                "content_type": "application/json",
                "content_base64": base64.b64encode(export).decode(),
            },
        }
    if item.exercise == "deletion":
        return {
            "result": "erased",
            "erased_categories": list(CATEGORIES),
            "recipients_notified": list(RECIPIENTS),
        }
    return {"result": "stopped"}


async def create_request(request: Request) -> Response:
    state = partner_state(request)
    if not _authorised(state, request):
        return error_response(401, "unauthorized", "Jeton d'accès manquant ou invalide.")
    body = await read_body(request)
    if body is None:
        return error_response(413, "too_large", "Demande trop volumineuse.")
    try:
        data = json.loads(body)
    except ValueError:
        return error_response(400, "invalid", "Le corps de la demande n'est pas du JSON.")
    if not isinstance(data, dict):
        return error_response(400, "invalid", "La demande doit être un objet JSON.")
    exercise = data.get("exercise")
    identity = data.get("identity")
    if (
        not isinstance(exercise, list)
        or len(exercise) != 1
        or exercise[0] not in EXERCISES
        or not isinstance(identity, dict)
    ):
        return error_response(
            400,
            "invalid",
            "Indiquez un seul droit (exercise) parmi access, access:categories, deletion, "
            "objection, et l'identité de la personne (identity).",
        )
    key = request.headers.get("idempotency-key") or str(data.get("request_id") or "")
    if key and key in state.requests:
        return JSONResponse(_view(state.requests[key], state), status_code=200)
    item = DrpRequest(
        request_id=key or uuid.uuid4().hex,
        exercise=str(exercise[0]),
        identity={str(k): str(v) for k, v in identity.items()},
        reference=str(data.get("reference") or ""),
        received_at=time.time(),
    )
    if not knows(state, item.identity):
        item.status = "denied"
    state.requests[item.request_id] = item
    return JSONResponse(_view(item, state), status_code=201)


async def request_status(request: Request) -> Response:
    state = partner_state(request)
    if not _authorised(state, request):
        return error_response(401, "unauthorized", "Jeton d'accès manquant ou invalide.")
    item = state.requests.get(request.path_params["request_id"])
    if item is None:
        return error_response(404, "not_found", "Demande inconnue.")
    item.polls += 1
    if item.status == "open":
        item.status = "in_progress"
        view = _view(item, state)
        # Done by the next time anyone asks.
        item.status = "fulfilled"
        return JSONResponse(view)
    return JSONResponse(_view(item, state))
