"""Idempotency-Key on the partner API's POSTs: the same key and body get the same answer once."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from tortoise.exceptions import IntegrityError

from desk.partners.models import IdempotencyRecord
from desk.partners.tokens import PartnerPrincipal
from desk.web.errors import ApiProblem, problem

MAX_KEY_LENGTH = 255


async def idempotent(
    request: Request,
    principal: PartnerPrincipal,
    body: bytes,
    handler: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `handler` once per (signatory, Idempotency-Key); replay its answer afterwards.

    A key reused with another body is refused (422); a key whose first request is still running
    gets 409. Server errors are not remembered, so the partner may retry them.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ApiProblem(400, "L'en-tête Idempotency-Key doit faire de 1 à 255 caractères.")
    digest = hashlib.sha256(body).hexdigest()
    scope = f"{request.method} {request.url.path}"
    existing = await IdempotencyRecord.get_or_none(signatory_id=principal.signatory_id, key=key)
    if existing is not None:
        return _replay(existing, digest, scope)
    try:
        record = await IdempotencyRecord.create(
            signatory_id=principal.signatory_id,
            key=key,
            method=request.method,
            path=request.url.path,
            body_sha256=digest,
        )
    except IntegrityError:
        raced = await IdempotencyRecord.get(signatory_id=principal.signatory_id, key=key)
        return _replay(raced, digest, scope)
    try:
        response = await handler()
    except ApiProblem as refusal:
        response = problem(refusal.status, refusal.detail, title=refusal.title)
    except BaseException:
        await record.delete()
        raise
    if response.status_code >= 500:
        await record.delete()
        return response
    record.status = response.status_code
    record.response_body = bytes(response.body)
    record.content_type = response.headers.get("content-type", "application/json")
    await record.save(update_fields=["status", "response_body", "content_type"])
    response.headers["Idempotency-Key"] = key
    return response


def _replay(record: IdempotencyRecord, digest: str, scope: str) -> Response:
    if record.body_sha256 != digest or f"{record.method} {record.path}" != scope:
        raise ApiProblem(
            422,
            "Cette clé Idempotency-Key a déjà servi pour une autre demande : "
            "utilisez une nouvelle clé.",
        )
    if record.status is None:
        raise ApiProblem(409, "Une demande avec cette clé est encore en cours : réessayez.")
    return Response(
        content=record.response_body or b"",
        status_code=record.status,
        media_type=record.content_type,
        headers={"Idempotency-Key": record.key, "Idempotent-Replayed": "true"},
    )
