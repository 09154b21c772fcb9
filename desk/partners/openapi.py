"""The partner API's OpenAPI 3.1 document, built from the operations the API modules declare.

An API module describes each endpoint where it is defined:

    @operation("POST", "/api/v1/deliveries/{delivery_id}/acknowledge", summary="...",
               request_schema={...} | None, responses={"200": {...}}, tags=["Envois"])
    async def acknowledge(request): ...

and lists its routes; `document()` gathers every declared operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "Explication en français."},
    },
}


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    request_body: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)
    secured: bool = True
    operation_id: str = ""


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    description: str = "",
    tags: list[str] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
    secured: bool = True,
) -> Callable[[F], F]:
    def register(endpoint: F) -> F:
        OPERATIONS.append(
            Operation(
                method=method.upper(),
                path=path,
                summary=summary,
                description=description,
                tags=tags or [],
                parameters=parameters or [],
                request_body=request_body,
                responses=responses or {},
                secured=secured,
                operation_id=endpoint.__name__,
            )
        )
        return endpoint

    return register


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def document(*, server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses = dict(op.responses)
        responses.setdefault("400", _problem_response("Demande incorrecte"))
        responses.setdefault("422", _problem_response("Contenu refusé"))
        if op.secured:
            responses.setdefault("401", _problem_response("Jeton manquant, invalide ou expiré"))
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": op.tags,
            "responses": responses,
        }
        if op.description:
            entry["description"] = op.description
        if op.parameters:
            entry["parameters"] = op.parameters
        if op.request_body is not None:
            entry["requestBody"] = op.request_body
        entry["security"] = [{"bearer": []}] if op.secured else []
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Le guichet des données — API des partenaires",
            "version": "1.0.0",
            "description": (
                "API des signataires de la charte : recevoir les demandes des habitants et y "
                "répondre. Authentification OAuth2 (client credentials) sur /oauth/token ; "
                "erreurs au format application/problem+json (RFC 9457), en français ; en-tête "
                "Idempotency-Key accepté sur chaque POST ; dates RFC 3339 en UTC."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
                },
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(server_url=request.app.state.runtime.issuer))


routes = [Route("/api/openapi.json", openapi_json, name="openapi")]
