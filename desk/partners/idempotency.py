"""Idempotency-Key on the partner API's POSTs: the same key and body get the same answer once."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from desk.partners.models import IdempotencyRecord
from desk.partners.tokens import PartnerPrincipal
from desk.web.errors import ApiProblem, problem

MAX_KEY_LENGTH = 255


class _Raced(Exception):
    """Another request committed the same key first: ours is rolled back, then replays it."""


class _Unremembered(Exception):
    """A server error: rolled back with its record, so the partner may simply retry."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def idempotent(
    request: Request,
    principal: PartnerPrincipal,
    body: bytes,
    handler: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `handler` once per (signatory, Idempotency-Key); replay its answer afterwards.

    The record and the effect it guards are written in one transaction: a crash leaves
    neither. Two identical requests racing on one key get the same answer, and one effect
    (the second waits on the key's unique index, then replays the first one's answer). A key
    reused with another body is refused (422). Server errors are not remembered, so the
    partner may retry them.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ApiProblem(400, "L'en-tête Idempotency-Key doit faire de 1 à 255 caractères.")
    digest = hashlib.sha256(body).hexdigest()
    scope = f"{request.method} {request.url.path}"
    lookup: dict[str, Any] = {"signatory_id": principal.signatory_id, "key": key}
    try:
        async with in_transaction() as conn:
            existing = await IdempotencyRecord.filter(**lookup).using_db(conn).first()
            if existing is not None:
                return _replay(existing, digest, scope)
            try:
                record = await IdempotencyRecord.create(
                    **lookup,
                    method=request.method,
                    path=request.url.path,
                    body_sha256=digest,
                    using_db=conn,
                )
            except IntegrityError as exc:
                raise _Raced() from exc
            response = await _run(handler)
            if response.status_code >= 500:
                raise _Unremembered(response)
            record.status = response.status_code
            record.response_body = bytes(response.body)
            record.content_type = response.headers.get("content-type", "application/json")
            await record.save(
                update_fields=["status", "response_body", "content_type"], using_db=conn
            )
    except _Raced:
        return _replay(await IdempotencyRecord.get(**lookup), digest, scope)
    except _Unremembered as failed:
        return failed.response
    response.headers["Idempotency-Key"] = key
    return response


async def _run(handler: Callable[[], Awaitable[Response]]) -> Response:
    """The handler in a savepoint: a refusal (4xx) undoes whatever it had begun to write."""
    try:
        async with in_transaction():
            return await handler()
    except ApiProblem as refusal:
        return problem(refusal.status, refusal.detail, title=refusal.title)


def _replay(record: IdempotencyRecord, digest: str, scope: str) -> Response:
    if record.body_sha256 != digest or f"{record.method} {record.path}" != scope:
        raise ApiProblem(
            422,
            "Cette clé Idempotency-Key a déjà servi pour une autre demande : "
            "utilisez une nouvelle clé.",
        )
    if record.status is None:
        # Only rows left by the former two-step write can lack an answer.
        raise ApiProblem(409, "Une demande avec cette clé est encore en cours : réessayez.")
    return Response(
        content=record.response_body or b"",
        status_code=record.status,
        media_type=record.content_type,
        headers={"Idempotency-Key": record.key, "Idempotent-Replayed": "true"},
    )
