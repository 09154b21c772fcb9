"""The partner API's OpenAPI 3.1 document, built from the operations the API modules declare.

An API module describes each endpoint where it is defined, naming its typed bodies:

    @operation("POST", "/api/v1/deliveries/{delivery_id}/extend", summary="...",
               request_body=json_request(ExtendBody),
               responses={"200": json_answer("L'envoi", Delivery)}, tags=["Envois"])
    async def extend(request): ...

and lists its routes; `document()` gathers every declared operation, and the JSON Schemas of
the models they name (pydantic's `model_json_schema`) become the document's components.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

F = TypeVar("F", bound=Callable[..., Any])

REF_TEMPLATE = "#/components/schemas/{model}"


class Problem(BaseModel):
    # RFC 9457 problem details: how every refusal of the API is answered.
    model_config = ConfigDict(
        json_schema_extra={"description": "Refus au format application/problem+json (RFC 9457)."}
    )

    type: str
    title: str
    status: int
    detail: str = Field(description="Explication en français.")


# The models the declared operations name, by component name.
MODELS: dict[str, type[BaseModel]] = {}


def schema_ref(model: type[BaseModel]) -> dict[str, Any]:
    """A reference to `model`'s schema, which `document()` puts in the components."""
    name = model.__name__
    if MODELS.setdefault(name, model) is not model:
        raise RuntimeError(f"two API models are named {name}: rename one")
    return {"$ref": REF_TEMPLATE.format(model=name)}


def json_request(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """A JSON request body checked by `model`."""
    return {"required": required, "content": {"application/json": {"schema": schema_ref(model)}}}


def json_answer(description: str, model: type[BaseModel]) -> dict[str, Any]:
    """A 2xx answer whose JSON body is `model`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema_ref(model)}},
    }


def problem(description: str) -> dict[str, Any]:
    """A refusal, answered as application/problem+json."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": schema_ref(Problem)}},
    }


def components() -> dict[str, Any]:
    """Every named model's JSON Schema; the models they nest ($defs) become components too."""
    schemas: dict[str, Any] = {}
    for name, model in sorted(MODELS.items()):
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        for nested, nested_schema in schema.pop("$defs", {}).items():
            if schemas.setdefault(nested, nested_schema) != nested_schema:
                raise RuntimeError(f"two API models are named {nested}: rename one")
        schemas[name] = schema
    return schemas


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


def document(*, server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses = dict(op.responses)
        responses.setdefault("400", problem("Demande incorrecte"))
        responses.setdefault("422", problem("Contenu refusé"))
        if op.secured:
            responses.setdefault("401", problem("Jeton manquant, invalide ou expiré"))
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
            "schemas": components(),
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
