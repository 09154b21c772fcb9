"""The login mail jobs' rows: the link each job mails, and the token it forgets once sent.

A worker claims login mail jobs together and runs them as one batch (`JobRegistry.batches`,
desk.identity.login.mail_batch_handler): their challenges are read in one query, and the
tokens of every job done are forgotten in one statement, rather than a query and an update
per mail (on SQLite, every statement queues for the process's one connection).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.core import clock, crypto
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


async def _read_challenges(ids: Sequence[str]) -> dict[str, _Row]:
    if not ids:
        return {}
    rows = await LoginChallenge.filter(id__in=sorted(set(ids))).values_list(
        "id", "audience", "email", "used_at", "created_at"
    )
    return {str(row[0]): row for row in rows}


def _link(
    job: OutboxJob, row: _Row | None, *, kind: LinkKind, secret_key: str, oldest: datetime
) -> MailedLink | None:
    sealed = job.payload.get("token")
    if not isinstance(sealed, str) or row is None:
        return None  # already sent (the token was forgotten), or the challenge is gone
    challenge_id, audience, email, used_at, created_at = row
    if audience != kind.audience or used_at is not None or not email:
        return None
    if created_at < oldest:
        return None  # the worker was late: a dead link helps nobody
    token = crypto.decrypt(secret_key, sealed)
    if not hmac.compare_digest(digest(token), challenge_id):
        return None
    return MailedLink(
        email=email,
        url_path=link_path(kind, token),
        locale=str(job.payload.get("locale", "fr")),
    )


async def links_to_mail(
    jobs: Sequence[OutboxJob], *, kind: LinkKind, secret_key: str, max_age: int
) -> list[MailedLink | None | Exception]:
    """For each job, in order: what its mail must carry, None when there is nothing to send
    (the link is used, expired or purged, or the mail already went out), or the error that
    stops this job alone (a token no key opens)."""
    rows = await _read_challenges(
        [str(job.payload.get("challenge_id", "")) for job in jobs if "token" in job.payload]
    )
    oldest = clock.now() - timedelta(seconds=max_age)
    links: list[MailedLink | None | Exception] = []
    for job in jobs:
        row = rows.get(str(job.payload.get("challenge_id", "")))
        try:
            links.append(_link(job, row, kind=kind, secret_key=secret_key, oldest=oldest))
        except Exception as exc:
            links.append(exc)
    return links


async def link_to_mail(
    job: OutboxJob, *, kind: LinkKind, secret_key: str, max_age: int
) -> MailedLink | None:
    """What one mail job must send, or None when the link is dead (used, expired, purged)."""
    [link] = await links_to_mail([job], kind=kind, secret_key=secret_key, max_age=max_age)
    if isinstance(link, Exception):
        raise link
    return link


# The token out of each job's payload, in one statement whatever the number of jobs.
_FORGET = {
    "sqlite": "UPDATE {table} SET payload = json_remove(payload, '$.token') "
    "WHERE id IN (SELECT value FROM json_each(?))",
    "postgres": "UPDATE {table} SET payload = payload - 'token' WHERE id = ANY($1::int[])",
}


async def forget_mailed_tokens(jobs: Sequence[OutboxJob]) -> None:
    """Once their mails are out, the jobs keep no trace of their tokens, even encrypted."""
    if not jobs:
        return
    db = OutboxJob._meta.db
    statement = _FORGET.get(db.capabilities.dialect)
    if statement is None:
        for job in jobs:
            payload = {k: v for k, v in job.payload.items() if k != "token"}
            await OutboxJob.filter(id=job.id).update(payload=payload)
        return
    ids = sorted({job.id for job in jobs})
    value: object = json.dumps(ids) if db.capabilities.dialect == "sqlite" else ids
    await db.execute_query(statement.format(table=OutboxJob._meta.db_table), [value])
