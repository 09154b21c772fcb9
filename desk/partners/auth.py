"""The partner API's front door: the OAuth2 token endpoint and bearer-token checks."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote

from pydantic import BaseModel, ConfigDict, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desk.core.translatable import N_
from desk.partners import clients, tokens
from desk.partners.openapi import json_answer, operation, schema_ref
from desk.partners.tokens import PartnerPrincipal
from desk.web.errors import ApiProblem
from desk.web.inputguard import MESSAGE as NUL_MESSAGE
from desk.web.inputguard import has_nul
from desk.web.validation import omittable

MAX_TOKEN_REQUEST_BYTES = 4096


class TokenRequest(BaseModel):
    # The token request's form, for the document: the endpoint reads the form itself, to answer
    # RFC 6749's own errors (unsupported_grant_type, invalid_client…).

    # RFC 6749 §3.2: a token endpoint ignores the parameters it does not know (client
    # libraries add their own); said here, so the document is the truth.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "description": "Demande de jeton (RFC 6749, section 4.4).",
            "additionalProperties": {
                "type": "string",
                "description": "Tout autre champ est ignoré (RFC 6749, section 3.2).",
            },
        },
    )

    grant_type: Literal["client_credentials"]
    client_id: Annotated[str, StringConstraints(max_length=64)] | None = omittable()
    client_secret: Annotated[str, StringConstraints(max_length=200)] | None = omittable()
    scope: str | None = omittable(
        description="Facultatif ; ignoré : le jeton vaut pour les envois du signataire du client."
    )


class TokenAnswer(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    # RFC 6749 §5.2 errors, with the problem fields the rest of the API uses.
    model_config = ConfigDict(
        json_schema_extra={
            "description": "Erreur OAuth2 (RFC 6749, section 5.2), avec les champs des autres "
            "refus de l'API."
        }
    )

    error: str
    error_description: str
    type: str
    title: str
    status: int
    detail: str


def _oauth_error_response(description: str) -> dict[str, Any]:
    return json_answer(description, OAuthError)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    # RFC 6749 §5.2 names the fields; the problem fields make it read like the rest of the API.
    body = {
        "error": error,
        "error_description": description,
        "type": "about:blank",
        "title": "Authentification refusée" if status == 401 else "Demande de jeton incorrecte",
        "status": status,
        "detail": description,
    }
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="desk"'
    return JSONResponse(body, status_code=status, headers=headers)


@operation(
    "POST",
    "/oauth/token",
    summary="Obtenir un jeton d'accès (OAuth2 client credentials)",
    description="Authentification du client par HTTP Basic ou par les champs client_id et "
    "client_secret ; le jeton vaut 15 minutes et ne donne accès qu'aux envois du signataire.",
    tags=["Authentification"],
    secured=False,
    request_body={
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema_ref(TokenRequest)}},
    },
    responses={
        "200": json_answer("Jeton d'accès", TokenAnswer),
        "400": _oauth_error_response("Demande de jeton incorrecte"),
        "401": _oauth_error_response("Client inconnu ou secret incorrect"),
        "413": _oauth_error_response("Demande de jeton trop volumineuse"),
    },
)
async def token_endpoint(request: Request) -> Response:
    """POST /oauth/token — client credentials grant (form body; client auth by Basic or form)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return _oauth_error(
            400,
            "invalid_request",
            "Envoyez un formulaire application/x-www-form-urlencoded (RFC 6749).",
        )
    # Counted while it streams: a huge body is refused without being held in memory.
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    body = b""
    if size <= MAX_TOKEN_REQUEST_BYTES:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_TOKEN_REQUEST_BYTES:
                break
    if max(size, len(body)) > MAX_TOKEN_REQUEST_BYTES:
        return _oauth_error(413, "invalid_request", "Demande de jeton trop volumineuse.")
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", N_("Le formulaire n'est pas encodé en UTF-8."))
    if any(has_nul(value) for value in form.values()):
        return _oauth_error(400, "invalid_request", NUL_MESSAGE)
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "Seul grant_type=client_credentials est accepté."
        )
    client_id, client_secret = _basic_credentials(request)
    if client_id is None:
        client_id = str(form.get("client_id") or "") or None
        client_secret = str(form.get("client_secret") or "") or None
    if not client_id or not client_secret or len(client_id) > 64 or len(client_secret) > 200:
        return _oauth_error(401, "invalid_client", "Identifiant ou secret client manquant.")
    # Basic credentials are decoded here, after the form's check: NUL matches no client.
    nul = has_nul(client_id + client_secret)
    client = (
        None
        if nul
        else await clients.authenticate(client_id=client_id, client_secret=client_secret)
    )
    if client is None:
        return _oauth_error(401, "invalid_client", "Identifiant ou secret client incorrect.")
    runtime = request.app.state.runtime
    access_token = tokens.issue(
        secret_key=runtime.settings.secret_key,
        issuer=runtime.issuer,
        client_id=client.client_id,
        signatory_id=client.signatory_id,
        secret_id=client.secret_id,
    )
    answer = TokenAnswer(
        access_token=access_token,
        token_type="Bearer",
        expires_in=tokens.LIFETIME,
        scope=tokens.SCOPE,
    )
    return JSONResponse(
        answer.model_dump(mode="json"), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None, None
    return unquote(client_id), unquote(secret)


async def require_partner(request: Request) -> PartnerPrincipal:
    """The caller's signatory, from its bearer token; a problem+json 401 otherwise.

    The signature alone is not enough: the secret the token was issued with must still be
    active, so a revocation, a rotation that retires it, or an exclusion from the charter closes
    the tokens already issued at once rather than 15 minutes later."""
    header = request.headers.get("authorization", "")
    challenge = {"WWW-Authenticate": 'Bearer realm="desk"'}
    if not header.lower().startswith("bearer "):
        raise ApiProblem(
            401,
            "Jeton d'accès manquant : demandez-en un à /oauth/token et envoyez-le dans "
            "l'en-tête Authorization: Bearer.",
            title="Authentification requise",
            headers=challenge,
        )
    runtime = request.app.state.runtime
    refused = {"WWW-Authenticate": 'Bearer realm="desk", error="invalid_token"'}
    try:
        principal = tokens.verify(
            secret_key=runtime.settings.secret_key, issuer=runtime.issuer, token=header[7:].strip()
        )
    except tokens.InvalidToken as exc:
        raise ApiProblem(
            401,
            "Jeton d'accès invalide ou expiré : demandez-en un nouveau à /oauth/token.",
            title="Authentification requise",
            headers=refused,
        ) from exc
    if not await clients.secret_still_active(
        secret_id=principal.secret_id,
        client_id=principal.client_id,
        signatory_id=principal.signatory_id,
    ):
        raise ApiProblem(
            401,
            "Accès retiré : le secret client de ce jeton a été révoqué ou remplacé, ou le "
            "signataire n'a plus accès à l'API. Demandez un nouveau jeton à /oauth/token.",
            title="Authentification requise",
            headers=refused,
        )
    return principal


routes = [Route("/oauth/token", token_endpoint, methods=["POST"], name="oauth_token")]
