"""The partner API's answers: read the body, parse it per action, apply it once.

Every POST goes through `idempotent`, so one Idempotency-Key gives one effect.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from desk.core import clock
from desk.core.errors import DeskError, status_of
from desk.partners import bodies as B
from desk.partners.answer_page import delivery_for
from desk.partners.auth import require_partner
from desk.partners.deliveries import (
    ACTOR_MAX,
    JSON_MAX_BYTES,
    MSG_BAD_FORM,
    MSG_FILE_AND_NOTHING,
    MSG_FILE_NOT_ACCESS,
    MSG_JSON_TOO_LARGE,
    MSG_NEED_INFO_NOT_ALLOWED,
    MSG_NOT_FOUND,
    MSG_NOT_JSON,
    MSG_OUTCOME_NOT_JSON,
    MSG_WANT_JSON,
    MSG_WANT_JSON_OR_FORM,
    NO_STORE,
    delivery_document,
)
from desk.partners.idempotency import idempotent
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
from desk.requests import partner_answer
from desk.requests.effects import UploadedFile
from desk.requests.models import Delivery, RequestKind
from desk.requests.partner_answer import PartnerAnswer
from desk.requests.states import FINAL_STATES, TransitionNotAllowed, check
from desk.requests.transitions import AlreadyAnswered
from desk.runtime import Runtime
from desk.web.errors import ApiProblem
from desk.web.inputguard import MESSAGE as NUL_MESSAGE
from desk.web.inputguard import has_nul
from desk.web.limits import row_id
from desk.web.validation import ApiBody, validated

Body = TypeVar("Body", bound=ApiBody)

# --- HTTP helpers -------------------------------------------------------------------------


def json_response(data: dict[str, Any] | BaseModel) -> JSONResponse:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return JSONResponse(data, headers=NO_STORE)


def path_id(request: Request) -> int:
    delivery_id = row_id(str(request.path_params.get("delivery_id", "")))
    if delivery_id is None:
        raise ApiProblem(404, MSG_NOT_FOUND)
    return delivery_id


def refusal(exc: DeskError) -> ApiProblem:
    status = status_of(exc, default=422)
    message = MSG_NOT_FOUND if exc.code == "not_found" else exc.message
    return ApiProblem(status, message)


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


async def read_body(request: Request, limit: int, too_large: str) -> bytes:
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


def json_body(media_type: str, body: bytes, model: type[Body], wrong_type: str) -> Body:
    """The body as a `model`: 415 when it is not JSON, 400 when malformed, 422 when it breaks
    the model (the problem names the field, in French). An empty body is {}."""
    if not body.strip():
        data: Any = {}
    elif not is_json(media_type):
        raise ApiProblem(415, wrong_type)
    else:
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiProblem(400, MSG_NOT_JSON) from exc
    return validated(model, data)


def partner_actor(principal: PartnerPrincipal) -> str:
    return f"partner:{principal.client_id}"[:ACTOR_MAX]


Parser = Callable[[Request, bytes, Delivery], Awaitable[PartnerAnswer]]


async def answer_once(request: Request, parse: Parser) -> Response:
    """Authenticate, read the body, then parse and apply it once per Idempotency-Key."""
    principal = await require_partner(request)
    delivery_id = path_id(request)
    settings = request.app.state.settings
    if media_type_of(request) == "multipart/form-data":
        limit = settings.upload_max_bytes + FORM_OVERHEAD_BYTES
        too_large = UploadTooLarge(settings.upload_max_bytes).message
    else:
        limit = JSON_MAX_BYTES
        too_large = MSG_JSON_TOO_LARGE.format(size=human_size(JSON_MAX_BYTES))
    body = await read_body(request, limit, too_large)

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
            # The row as the transition wrote it, with its request, resident and signatory:
            # read again, it was a tenth of an answer's time (bench/concurrent_load.py e2e).
            answered = await partner_answer.answer(
                delivery_id=delivery.id,
                answer=answer,
                actor=partner_actor(principal),
                keyring=runtime.keyring,
                issuer=runtime.issuer,
                download_max_age=settings.download_link_max_age,
                signatory_id=principal.signatory_id,
            )
        except DeskError as exc:
            raise refusal(exc) from exc
        return json_response(await delivery_document(answered, runtime))

    return await idempotent(request, principal, body, handler)


# --- parsers, one per action --------------------------------------------------------------


async def parse_acknowledge(request: Request, body: bytes, delivery: Delivery) -> PartnerAnswer:
    json_body(media_type_of(request), body, B.AcknowledgeBody, MSG_WANT_JSON)
    return partner_answer.Acknowledge()


async def parse_extend(request: Request, body: bytes, delivery: Delivery) -> PartnerAnswer:
    data = json_body(media_type_of(request), body, B.ExtendBody, MSG_WANT_JSON)
    # The same rules as the answer page's form (which sends texts): one place says them.
    reason, months = parse_extension(
        {"reason": [data.reason], "extra_months": [str(data.extra_months)]}
    )
    return partner_answer.Extend(reason=reason, extra_months=months)


async def parse_deny(request: Request, body: bytes, delivery: Delivery) -> PartnerAnswer:
    data = json_body(media_type_of(request), body, B.DenyBody, MSG_WANT_JSON)
    reason, detail = parse_denial({"reason": [data.reason], "detail": [data.detail or ""]})
    return partner_answer.Deny(reason=reason, detail=detail)


async def parse_need_info(request: Request, body: bytes, delivery: Delivery) -> PartnerAnswer:
    data = json_body(media_type_of(request), body, B.NeedInfoBody, MSG_WANT_JSON)
    return partner_answer.NeedInfo(question=data.message.strip(), identity=data.identity)


async def parse_fulfil(request: Request, body: bytes, delivery: Delivery) -> PartnerAnswer:
    media_type = media_type_of(request)
    file: UploadedFile | None = None
    if media_type == "multipart/form-data":
        outcome, file = await _fulfil_form(request, body)
    else:
        outcome = json_body(media_type, body, B.FulfilBody, MSG_WANT_JSON_OR_FORM).outcome
    if file is not None:
        if delivery.request.kind != RequestKind.ACCESS:
            raise ApiProblem(422, MSG_FILE_NOT_ACCESS)
        if outcome.holds_data is False:
            raise ApiProblem(422, MSG_FILE_AND_NOTHING)
    # What a request kind needs is checked by the state machine's outcomes.validate, which
    # reads the fields as sent (and returns the typed outcome it stores).
    return partner_answer.Fulfil(outcome=outcome.sent(), file=file)


async def _fulfil_form(request: Request, body: bytes) -> tuple[B.OutcomeBody, UploadedFile | None]:
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
        # The file is not the model's to read: only the text field goes through it.
        fields = validated(
            B.FulfilForm, {"outcome": raw_outcome} if raw_outcome is not None else {}
        )
        if has_nul(fields.outcome):
            raise ApiProblem(400, NUL_MESSAGE)
        try:
            data = json.loads(fields.outcome)
        except (ValueError, RecursionError) as exc:
            raise ApiProblem(422, MSG_OUTCOME_NOT_JSON) from exc
        if not isinstance(data, dict):
            raise ApiProblem(422, MSG_OUTCOME_NOT_JSON)
        outcome = validated(B.OutcomeBody, data)
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
