"""The login mail job's rows: the link a job mails, and the token it forgets once it is sent.

A worker sends many login mails at once (desk.outbox.lanes), and the jobs claimed together
start together: the challenges they need are read in one query, and the tokens of the mails
sent meanwhile are forgotten in one statement (desk.core.coalesce), rather than a query and
an update per mail. Each job still waits for its own read and its own forgetting.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.core import clock, crypto
from desk.core.coalesce import Coalesced
from desk.identity.login_links import LinkKind, digest, link_path
from desk.identity.models import LoginChallenge
from desk.outbox.models import OutboxJob


@dataclass(frozen=True)
class MailedLink:
    email: str
    url_path: str
    locale: str


# What a mail needs of its challenge: id, audience, address, used_at, created_at.
_Row = tuple[str, str, str | None, datetime | None, datetime]


async def _read_challenges(ids: Sequence[str]) -> list[_Row | None]:
    rows = await LoginChallenge.filter(id__in=sorted(set(ids))).values_list(
        "id", "audience", "email", "used_at", "created_at"
    )
    by_id: dict[str, _Row] = {str(row[0]): row for row in rows}
    return [by_id.get(challenge_id) for challenge_id in ids]


_challenge = Coalesced(_read_challenges)


async def link_to_mail(
    job: OutboxJob, *, kind: LinkKind, secret_key: str, max_age: int
) -> MailedLink | None:
    """What a mail job must send, or None when the link is dead (used, expired, purged)."""
    sealed = job.payload.get("token")
    if not isinstance(sealed, str):
        return None  # already sent: the token was forgotten
    row = await _challenge(str(job.payload.get("challenge_id", "")))
    if row is None:
        return None
    challenge_id, audience, email, used_at, created_at = row
    if audience != kind.audience or used_at is not None or not email:
        return None
    if created_at < clock.now() - timedelta(seconds=max_age):
        return None  # the worker was late: a dead link helps nobody
    token = crypto.decrypt(secret_key, sealed)
    if not hmac.compare_digest(digest(token), challenge_id):
        return None
    return MailedLink(
        email=email,
        url_path=link_path(kind, token),
        locale=str(job.payload.get("locale", "fr")),
    )


# The token out of each job's payload, in one statement whatever the number of jobs.
_FORGET = {
    "sqlite": "UPDATE {table} SET payload = json_remove(payload, '$.token') "
    "WHERE id IN (SELECT value FROM json_each(?))",
    "postgres": "UPDATE {table} SET payload = payload - 'token' WHERE id = ANY($1::int[])",
}


async def _forget_tokens(jobs: Sequence[OutboxJob]) -> list[None]:
    db = OutboxJob._meta.db
    statement = _FORGET.get(db.capabilities.dialect)
    if statement is None:
        for job in jobs:
            payload = {k: v for k, v in job.payload.items() if k != "token"}
            await OutboxJob.filter(id=job.id).update(payload=payload)
        return [None] * len(jobs)
    ids = sorted({job.id for job in jobs})
    value: object = json.dumps(ids) if db.capabilities.dialect == "sqlite" else ids
    await db.execute_query(statement.format(table=OutboxJob._meta.db_table), [value])
    return [None] * len(jobs)


_forget = Coalesced(_forget_tokens)


async def forget_mailed_token(job: OutboxJob) -> None:
    """Once the mail is out, the job keeps no trace of the token, even encrypted."""
    await _forget(job)
