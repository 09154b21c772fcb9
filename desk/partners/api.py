"""The partner API under /api/v1: a signatory's inbox of deliveries, and its answers.

Every query is filtered by the bearer token's signatory: another signatory's delivery is
"not found", exactly like one that does not exist. Every POST goes through `idempotent`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from desk import clock
from desk.partners import api_schemas as S
from desk.partners.api_auth import require_partner
from desk.partners.idempotency import idempotent
from desk.partners.openapi import operation
from desk.partners.services import (
    FORM_OVERHEAD_BYTES,
    TEXT_FIELD_MAX_BYTES,
    AnswerRefused,
    UploadTooLarge,
    accept_upload,
    ensure_allowed,
    human_size,
    parse_denial,
    parse_extension,
)
from desk.partners.tokens import PartnerPrincipal
from desk.requests import assurance
from desk.requests.dispatch import build_envelope
from desk.requests.errors import RequestError
from desk.requests.models import Delivery, DeliveryEvent, DeliveryState, RequestKind
from desk.requests.services import AlreadyAnswered, DeliveryNotFound, UploadedFile, apply
from desk.requests.states import FINAL_STATES, TransitionNotAllowed, check
from desk.runtime import Runtime
from desk.web.errors import STATUS_BY_CODE, ApiProblem
from desk.web.inputguard import MESSAGE as NUL_MESSAGE
from desk.web.inputguard import has_nul

PREFIX = "/api/v1/deliveries"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
JSON_MAX_BYTES = TEXT_FIELD_MAX_BYTES
# DeliveryEvent.actor holds 32 characters.
ACTOR_MAX = 32
NO_STORE = {"Cache-Control": "no-store"}

IDENTITY_ASSURANCE = {"online": "email_verified", "assisted": "mediator_checked"}

MSG_NOT_FOUND = "Cet envoi est introuvable pour votre organisme."
MSG_BAD_STATE = "Le paramètre state doit valoir l'un de : {values}."
MSG_BAD_KIND = "Le paramètre kind doit valoir l'un de : {values}."
MSG_BAD_LIMIT = "Le paramètre limit doit être un nombre entier de 1 à 100."
MSG_BAD_CURSOR = (
    "Le paramètre cursor est invalide : reprenez la valeur next_cursor de la page précédente."
)
MSG_NOT_JSON = "Le corps de la demande n'est pas un JSON valide."
MSG_WANT_JSON = "Envoyez le corps de la demande en JSON (en-tête Content-Type: application/json)."
MSG_WANT_JSON_OR_FORM = (
    "Envoyez la réponse en JSON (Content-Type: application/json), ou, avec une copie jointe, "
    "en multipart/form-data (un champ « outcome » en JSON et un fichier « copy »)."
)
MSG_JSON_TOO_LARGE = "Le corps de la demande est trop volumineux ({size} au plus)."
MSG_BAD_FORM = "Le formulaire multipart reçu est incomplet ou mal formé."
MSG_OUTCOME_NOT_JSON = "Le champ « outcome » doit contenir un objet JSON valide."
MSG_FILE_NOT_ACCESS = "Seule une demande de copie (kind access) accepte un fichier joint."
MSG_FILE_AND_NOTHING = (
    "Vous avez indiqué ne détenir aucune donnée, mais joint un fichier : "
    "choisissez l'un ou l'autre."
)
MSG_NEED_INFO_NOT_ALLOWED = (
    "Vous ne pouvez poser une question que sur une demande reçue et en cours de traitement, "
    "et une seule à la fois : attendez la réponse à la question déjà posée."
)


# --- reading deliveries (no HTTP objects) --------------------------------------------------


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def delivery_for(*, delivery_id: int, signatory_id: int) -> Delivery:
    delivery = (
        await Delivery.filter(id=delivery_id, signatory_id=signatory_id)
        .select_related("request__resident", "signatory")
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


async def delivery_document(delivery: Delivery, runtime: Runtime) -> dict[str, Any]:
    """A delivery as the partner sees it (the DELIVERY schema)."""
    # The envelope is what the adapters carry: the identifiers this signatory accepts, and
    # only those, and the signed answer link.
    envelope = await build_envelope(delivery, runtime)
    events = await DeliveryEvent.filter(delivery_id=delivery.id).order_by("at", "id")
    request = delivery.request
    return {
        "id": delivery.id,
        "request_reference": request.reference,
        "kind": request.kind.value,
        "state": delivery.state.value,
        "identifiers": envelope.identifiers,
        "identity_assurance": IDENTITY_ASSURANCE.get(request.filed_via, "unverified"),
        "assurance": envelope.assurance,
        "assurance_label": assurance.label(envelope.assurance),
        "received_at": rfc3339(delivery.received_at),
        "due_at": rfc3339(delivery.due_at),
        "extension_reason": delivery.extension_reason,
        "info_request": delivery.info_request,
        "info_answer": delivery.info_answer,
        "outcome": delivery.outcome,
        "denial_reason": delivery.denial_reason,
        "denial_detail": delivery.denial_detail,
        "completed_at": rfc3339(delivery.completed_at),
        "history": [
            {
                "at": rfc3339(event.at),
                "actor": event.actor,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
            }
            for event in events
        ],
        "answer_url": envelope.answer_url,
    }


@dataclass(frozen=True)
class InboxPage:
    deliveries: list[Delivery]
    next_after: int | None


async def inbox(
    *,
    signatory_id: int,
    state: DeliveryState | None,
    kind: RequestKind | None,
    limit: int,
    after_id: int,
) -> InboxPage:
    """One page of this signatory's deliveries, in id order, after `after_id`."""
    query = Delivery.filter(signatory_id=signatory_id, id__gt=after_id)
    if state is not None:
        query = query.filter(state=state)
    if kind is not None:
        query = query.filter(request__kind=kind)
    rows = await query.select_related("request").order_by("id").limit(limit + 1)
    page = list(rows[:limit])
    return InboxPage(deliveries=page, next_after=page[-1].id if len(rows) > limit else None)


def summary(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "request_reference": delivery.request.reference,
        "kind": delivery.request.kind.value,
        "state": delivery.state.value,
        "received_at": rfc3339(delivery.received_at),
        "due_at": rfc3339(delivery.due_at),
    }


def encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(str(after_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor stands for; ValueError when it is not one of ours."""
    if not cursor or len(cursor) > 16:
        raise ValueError(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(cursor) from exc
    if not raw.isdigit() or int(raw) > S.MAX_ID:
        raise ValueError(cursor)
    return int(raw)


# --- HTTP helpers -------------------------------------------------------------------------


def _json(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse(data, headers=NO_STORE)


def _path_id(request: Request) -> int:
    raw = str(request.path_params.get("delivery_id", ""))
    if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= S.MAX_ID:
        raise ApiProblem(404, MSG_NOT_FOUND)
    return int(raw)


def _refusal(exc: RequestError) -> ApiProblem:
    status = getattr(exc, "status", None) or STATUS_BY_CODE.get(exc.code, 422)
    message = MSG_NOT_FOUND if exc.code == "not_found" else exc.message
    return ApiProblem(status, message)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


async def _read_body(request: Request, limit: int, too_large: str) -> bytes:
    """The whole body, refused with 413 as soon as it grows past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _json_body(media_type: str, body: bytes, schema: S.Schema, wrong_type: str) -> dict[str, Any]:
    if not body.strip():
        data: Any = {}
    elif not _is_json(media_type):
        raise ApiProblem(415, wrong_type)
    else:
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiProblem(400, MSG_NOT_JSON) from exc
    _check(schema, data)
    assert isinstance(data, dict)
    return data


def _check(schema: S.Schema, data: Any) -> None:
    try:
        S.check(schema, data)
    except S.SchemaError as exc:
        raise ApiProblem(422, exc.message) from exc


def _actor(principal: PartnerPrincipal) -> str:
    return f"partner:{principal.client_id}"[:ACTOR_MAX]


@dataclass(frozen=True)
class Answer:
    """A parsed partner answer, ready for `apply`."""

    action: str
    reason: str | None = None
    detail: str | None = None
    extra_months: int = 2
    outcome: dict[str, Any] | None = None
    file: UploadedFile | None = None


Parser = Callable[[Request, bytes, Delivery], Awaitable[Answer]]


async def _answer(request: Request, parse: Parser) -> Response:
    """Authenticate, read the body, then parse and apply it once per Idempotency-Key."""
    principal = require_partner(request)
    delivery_id = _path_id(request)
    settings = request.app.state.settings
    if _media_type(request) == "multipart/form-data":
        limit = settings.upload_max_bytes + FORM_OVERHEAD_BYTES
        too_large = UploadTooLarge(settings.upload_max_bytes).message
    else:
        limit = JSON_MAX_BYTES
        too_large = MSG_JSON_TOO_LARGE.format(size=human_size(JSON_MAX_BYTES))
    body = await _read_body(request, limit, too_large)

    async def handler() -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            delivery = await delivery_for(
                delivery_id=delivery_id, signatory_id=principal.signatory_id
            )
            answer = await parse(request, body, delivery)
            if delivery.state in FINAL_STATES:
                raise AlreadyAnswered(delivery.state)
            if answer.action == "need_info":
                try:
                    check("need_info", delivery.state)
                except TransitionNotAllowed as exc:
                    raise ApiProblem(409, MSG_NEED_INFO_NOT_ALLOWED) from exc
            else:
                ensure_allowed(
                    answer.action,
                    delivery.state,
                    received_at=delivery.received_at,
                    now=clock.now(),
                )
            await apply(
                delivery_id=delivery.id,
                action=answer.action,
                actor=_actor(principal),
                keyring=runtime.keyring,
                issuer=runtime.issuer,
                outcome=answer.outcome,
                reason=answer.reason,
                detail=answer.detail,
                file=answer.file,
                extra_months=answer.extra_months,
                download_max_age=settings.download_link_max_age,
                signatory_id=principal.signatory_id,
            )
            fresh = await delivery_for(delivery_id=delivery.id, signatory_id=principal.signatory_id)
        except RequestError as exc:
            raise _refusal(exc) from exc
        return _json(await delivery_document(fresh, runtime))

    return await idempotent(request, principal, body, handler)


# --- parsers, one per action --------------------------------------------------------------


async def _parse_acknowledge(request: Request, body: bytes, delivery: Delivery) -> Answer:
    _json_body(_media_type(request), body, S.ACKNOWLEDGE_BODY, MSG_WANT_JSON)
    return Answer(action="acknowledge")


async def _parse_extend(request: Request, body: bytes, delivery: Delivery) -> Answer:
    data = _json_body(_media_type(request), body, S.EXTEND_BODY, MSG_WANT_JSON)
    reason, months = parse_extension(
        {"reason": [data["reason"]], "extra_months": [str(data["extra_months"])]}
    )
    return Answer(action="extend", reason=reason, extra_months=months)


async def _parse_deny(request: Request, body: bytes, delivery: Delivery) -> Answer:
    data = _json_body(_media_type(request), body, S.DENY_BODY, MSG_WANT_JSON)
    reason, detail = parse_denial({"reason": [data["reason"]], "detail": [data.get("detail", "")]})
    return Answer(action="deny", reason=reason, detail=detail)


async def _parse_need_info(request: Request, body: bytes, delivery: Delivery) -> Answer:
    data = _json_body(_media_type(request), body, S.NEED_INFO_BODY, MSG_WANT_JSON)
    return Answer(action="need_info", detail=str(data["message"]).strip())


async def _parse_fulfil(request: Request, body: bytes, delivery: Delivery) -> Answer:
    media_type = _media_type(request)
    file: UploadedFile | None = None
    if media_type == "multipart/form-data":
        outcome, file = await _fulfil_form(request, body)
    else:
        data = _json_body(media_type, body, S.FULFIL_BODY, MSG_WANT_JSON_OR_FORM)
        outcome = data["outcome"]
    if file is not None:
        if delivery.request.kind != RequestKind.ACCESS:
            raise ApiProblem(422, MSG_FILE_NOT_ACCESS)
        if outcome.get("holds_data") is False:
            raise ApiProblem(422, MSG_FILE_AND_NOTHING)
    return Answer(action="fulfil", outcome=outcome, file=file)


async def _fulfil_form(request: Request, body: bytes) -> tuple[dict[str, Any], UploadedFile | None]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form_request = Request(request.scope, receive=replay)
    try:
        form = await form_request.form(
            max_files=1, max_fields=10, max_part_size=TEXT_FIELD_MAX_BYTES
        )
    except (HTTPException, ValueError) as exc:
        raise ApiProblem(400, MSG_BAD_FORM) from exc
    try:
        raw_outcome = form.get("outcome")
        if not isinstance(raw_outcome, str):
            raise ApiProblem(422, S.MSG_REQUIRED.format(field="outcome"))
        if has_nul(raw_outcome):
            raise ApiProblem(400, NUL_MESSAGE)
        try:
            outcome = json.loads(raw_outcome)
        except (ValueError, RecursionError) as exc:
            raise ApiProblem(422, MSG_OUTCOME_NOT_JSON) from exc
        if not isinstance(outcome, dict):
            raise ApiProblem(422, MSG_OUTCOME_NOT_JSON)
        _check(S.OUTCOME, outcome)
        upload = form.get("copy")
        if not (isinstance(upload, UploadFile) and upload.filename):
            return outcome, None
        try:
            file = await accept_upload(
                upload, max_bytes=request.app.state.settings.upload_max_bytes
            )
        except AnswerRefused as exc:
            raise ApiProblem(exc.status, exc.message) from exc
        return outcome, file
    finally:
        await form.close()


# --- OpenAPI declarations -------------------------------------------------------------------


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _ok(description: str, schema: S.Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


DELIVERY_ID_PARAM: dict[str, Any] = {
    "name": "delivery_id",
    "in": "path",
    "required": True,
    "description": "Identifiant de l'envoi (champ id).",
    "schema": {"type": "integer", "minimum": 1, "maximum": S.MAX_ID},
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
    "200": _ok("L'envoi, après votre action", S.DELIVERY),
    "404": _problem("Envoi introuvable pour votre organisme"),
    "409": _problem("Action impossible dans l'état actuel de l'envoi (par exemple déjà traité)"),
    "413": _problem("Corps de la demande ou fichier trop volumineux"),
    "415": _problem("Type de contenu ou de fichier refusé"),
}


def _json_request(schema: S.Schema, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


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
            "schema": {"type": "string", "enum": S.STATES},
        },
        {
            "name": "kind",
            "in": "query",
            "required": False,
            "description": "Seulement les demandes de ce type.",
            "schema": {"type": "string", "enum": S.KINDS},
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
    responses={"200": _ok("Une page d'envois", S.DELIVERY_LIST)},
)
async def list_deliveries(request: Request) -> Response:
    principal = require_partner(request)
    params = request.query_params
    state: DeliveryState | None = None
    kind: RequestKind | None = None
    if params.get("state"):
        try:
            state = DeliveryState(params["state"])
        except ValueError as exc:
            raise ApiProblem(400, MSG_BAD_STATE.format(values=", ".join(S.STATES))) from exc
    if params.get("kind"):
        try:
            kind = RequestKind(params["kind"])
        except ValueError as exc:
            raise ApiProblem(400, MSG_BAD_KIND.format(values=", ".join(S.KINDS))) from exc
    raw_limit = params.get("limit", "")
    limit = DEFAULT_LIMIT
    if raw_limit:
        if not raw_limit.isdigit() or len(raw_limit) > 3 or not 1 <= int(raw_limit) <= MAX_LIMIT:
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
    return _json(
        {
            "items": [summary(d) for d in page.deliveries],
            "next_cursor": encode_cursor(page.next_after) if page.next_after else None,
        }
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
        "200": _ok("L'envoi", S.DELIVERY),
        "404": _problem("Envoi introuvable pour votre organisme"),
    },
)
async def get_delivery(request: Request) -> Response:
    principal = require_partner(request)
    delivery_id = _path_id(request)
    try:
        delivery = await delivery_for(delivery_id=delivery_id, signatory_id=principal.signatory_id)
    except RequestError as exc:
        raise _refusal(exc) from exc
    return _json(await delivery_document(delivery, request.app.state.runtime))


@_post_operation(
    "acknowledge",
    "Accuser réception",
    "Vous confirmez avoir reçu la demande ; le délai ne change pas. Corps vide ou {}.",
    _json_request(S.ACKNOWLEDGE_BODY, required=False),
)
async def acknowledge(request: Request) -> Response:
    return await _answer(request, _parse_acknowledge)


@_post_operation(
    "extend",
    "Prolonger le délai",
    "Une seule fois, pendant le premier mois, d'un ou deux mois, avec une raison que la "
    "personne lira (article 12, paragraphe 3, du RGPD).",
    _json_request(S.EXTEND_BODY),
)
async def extend(request: Request) -> Response:
    return await _answer(request, _parse_extend)


@_post_operation(
    "fulfil",
    "Répondre à la demande",
    "En JSON {outcome: {...}} ; pour une demande de copie (access), en multipart/form-data "
    "avec un champ « outcome » (JSON) et un fichier « copy » (JSON, CSV ou PDF). "
    "Un reçu signé est remis à la personne.",
    {
        "required": True,
        "content": {
            "application/json": {"schema": S.FULFIL_BODY},
            "multipart/form-data": {"schema": S.FULFIL_MULTIPART},
        },
    },
)
async def fulfil(request: Request) -> Response:
    return await _answer(request, _parse_fulfil)


@_post_operation(
    "deny",
    "Refuser la demande",
    "Avec un motif de la liste et une explication pour la personne. Un reçu signé lui est remis.",
    _json_request(S.DENY_BODY),
)
async def deny(request: Request) -> Response:
    return await _answer(request, _parse_deny)


@_post_operation(
    "need-info",
    "Poser une question à la personne",
    "Quand il vous manque une information pour la retrouver ou répondre. La personne est "
    "prévenue par courriel et répond depuis son espace ; l'envoi repasse alors à acknowledged "
    "(ou extended) et info_answer contient sa réponse.",
    _json_request(S.NEED_INFO_BODY),
)
async def need_info(request: Request) -> Response:
    return await _answer(request, _parse_need_info)


routes: list[BaseRoute] = [
    Route(PREFIX, list_deliveries, methods=["GET"], name="api_deliveries"),
    Route(f"{PREFIX}/{{delivery_id}}", get_delivery, methods=["GET"], name="api_delivery"),
    Route(f"{PREFIX}/{{delivery_id}}/acknowledge", acknowledge, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/extend", extend, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/fulfil", fulfil, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/deny", deny, methods=["POST"]),
    Route(f"{PREFIX}/{{delivery_id}}/need-info", need_info, methods=["POST"]),
]
