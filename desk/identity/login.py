"""One login flow by emailed link for everyone who logs in: residents, staff, and the people of
an organisation. Each is an `Audience`; the rules are the same for all of them.

- Asking (`request_login`) does the same work for any well-formed address (one challenge, one
  mail job, in one transaction): neither the answer nor its timing tells whether the address
  is known. The worker decides whether to mail (`mail_handler`): a resident always gets a link
  (following it creates the account), staff and organisation people only when active.
- Opening the link shows a page; only its button (a POST with CSRF token) logs in
  (`confirm_login`): mail scanners follow links.
- The link is bound to the browser that asked (desk.identity.login_links); on another device
  it still logs in after the asking device's code or confirmation (desk.identity.other_device),
  and `log_in` is the one place the link is spent, the person found and the login audited.

Plain keyword-only async functions; no HTTP objects (the pages: desk.identity.login_routes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from desk.audit.log import record_action
from desk.core import clock
from desk.core.emails import normalise_email
from desk.identity import login_links, login_mail, other_device
from desk.identity.login_links import LinkKind, LoginLinkError
from desk.identity.login_mail import MailedLink
from desk.identity.models import LoginChallenge
from desk.outbox.models import OutboxJob
from desk.runtime import Runtime

log = logging.getLogger("desk.identity.login")

P = TypeVar("P", bound=Model)
MailJob = Callable[[OutboxJob, Runtime], Awaitable[None]]
MailBatch = Callable[[Sequence[OutboxJob], Runtime], Awaitable[list[Exception | None]]]


@dataclass(frozen=True)
class Audience(Generic[P]):
    """Who logs in, and what differs for them: everything else is the one flow."""

    link: LinkKind
    # The person an address names when the link is used, their last login recorded (a new
    # resident's account is created); None refuses the link: not, or no longer, a member.
    person: Callable[[str, BaseDBAsyncClient, datetime], Awaitable[P | None]]
    # How the audit log names the person: "resident:12", "staff:3", "member:7".
    actor: Callable[[P], str]
    login_action: str
    mail_template: str
    # The mails' own context for each of these addresses, in one query; an address left out
    # gets no mail (nobody active there).
    mail_contexts: Callable[[Sequence[str]], Awaitable[Mapping[str, Mapping[str, Any]]]]
    login_detail: Mapping[str, str] = field(default_factory=dict)
    # Whether the mail follows the language the asking page was read in.
    mail_in_reader_locale: bool = False

    @property
    def name(self) -> str:
        return self.link.audience


async def request_login(
    *,
    audience: Audience[Any],
    email: str,
    browser: str,
    secret_key: str,
    now: datetime | None = None,
    locale: str | None = None,
) -> LoginChallenge | None:
    """A challenge bound to this browser and its mail job, in one transaction, whoever the
    address is (InvalidEmail for a malformed one).

    None when the address asked for too many links recently: the caller shows the same page
    either way, so nobody learns anything about an address from this answer.
    """
    return await login_links.create_link(
        kind=audience.link,
        email=normalise_email(email),
        browser=browser,
        secret_key=secret_key,
        now=now,
        locale=locale if audience.mail_in_reader_locale else None,
    )


async def check_login(
    *, audience: Audience[Any], token: str, browser: str | None, max_age: int
) -> LoginChallenge:
    """The live challenge a link names, opened where it may log in, or LoginLinkError."""
    return await login_links.check_link(
        kind=audience.link, token=token, browser=browser, max_age=max_age
    )


async def confirm_login(
    *, audience: Audience[P], token: str, browser: str | None, max_age: int
) -> P:
    """Use a link (once) in the browser that asked for it (or one the asking browser
    confirmed), and return the person it logs in."""
    challenge = await check_login(audience=audience, token=token, browser=browser, max_age=max_age)
    via = None if login_links.same_digest(challenge.browser_digest, browser) else "confirmed"
    return await log_in(audience=audience, challenge=challenge, via=via)


async def open_link(
    *, audience: Audience[Any], token: str, browser: str | None, max_age: int
) -> str:
    """What opening a live link shows in this browser: "here" (the login button) or
    "waiting" (this device asked the asking one to confirm); LoginLinkError otherwise,
    "elsewhere" on a device that may type the code or ask to be confirmed."""
    challenge = await login_links.live_link(kind=audience.link, token=token, max_age=max_age)
    if login_links.opens_here(challenge, browser):
        return "here"
    if other_device.waits_here(challenge, browser):
        return "waiting"
    raise LoginLinkError("elsewhere")


async def confirm_with_code(
    *, audience: Audience[P], token: str, typed: str, secret_key: str, max_age: int
) -> P:
    """Log in on another device with the asking device's code (other_device.check_code)."""
    challenge = await other_device.check_code(
        kind=audience.link, token=token, typed=typed, secret_key=secret_key, max_age=max_age
    )
    return await log_in(audience=audience, challenge=challenge, via="code")


async def log_in(*, audience: Audience[P], challenge: LoginChallenge, via: str | None) -> P:
    """Spend the challenge, find (or create) the person and audit the login, in one transaction.

    `via` says how a device other than the asking one was let in ("code", "confirmed").
    """
    now = clock.now()
    async with in_transaction() as conn:
        email = await login_links.use_link(challenge, conn=conn)
        person = await audience.person(email, conn, now)
        if person is None:
            # Deactivated (or removed) between the mail and the click.
            raise LoginLinkError("invalid")
        detail = dict(audience.login_detail)
        if via is not None:
            detail["via"] = via
        actor = audience.actor(person)
        await record_action(
            action=audience.login_action, actor=actor, detail=detail, connection=conn
        )
    log.info("%s logged in", actor)
    return person


def mail_batch_handler(audience: Audience[Any]) -> MailBatch:
    """The outbox batch handler that mails `audience`'s login links (job kind
    `link.mail_job`, JobRegistry.batches): the jobs claimed together are read together, their
    mails sent together over the kept SMTP connections, and their tokens forgotten together.

    Each job has its own outcome: a mail refused or failed fails its job alone, to be retried
    alone. A job whose mail went out forgets its token, so should it run again (its DONE lost
    with a killed worker) it sends nothing; a worker killed between a send and the forgetting
    sends that mail again, with the same Message-ID (at least once, never lost).
    """

    async def send_login_links(jobs: Sequence[OutboxJob], rt: Runtime) -> list[Exception | None]:
        settings = rt.settings
        links = await login_mail.links_to_mail(
            jobs,
            kind=audience.link,
            secret_key=settings.secret_key,
            max_age=settings.login_link_max_age,
        )
        outcomes: list[Exception | None] = [
            link if isinstance(link, Exception) else None for link in links
        ]
        to_mail = [
            (job, link)
            for job, link in zip(jobs, links, strict=True)
            if isinstance(link, MailedLink)
        ]
        if not to_mail:
            return outcomes
        contexts = await audience.mail_contexts(sorted({link.email for _, link in to_mail}))
        # Nobody active at an address: no mail, and its job forgets the token all the same. The
        # challenge (and its address) goes with the other old ones (`purge_challenges`).
        done = [job for job, link in to_mail if link.email not in contexts]
        sending = [(job, link) for job, link in to_mail if link.email in contexts]
        minutes = max(1, settings.login_link_max_age // 60)
        sent = await asyncio.gather(
            *(
                rt.send_mail(
                    to=link.email,
                    template=audience.mail_template,
                    context={
                        "link": settings.url(link.url_path),
                        "minutes": minutes,
                        **contexts[link.email],
                    },
                    idempotency_key=job.idempotency_key,
                    locale=link.locale if audience.mail_in_reader_locale else "fr",
                )
                for job, link in sending
            ),
            return_exceptions=True,
        )
        position = {job.id: n for n, job in enumerate(jobs)}
        for (job, _), result in zip(sending, sent, strict=True):
            if isinstance(result, Exception):
                outcomes[position[job.id]] = result
            elif isinstance(result, BaseException):
                raise result  # cancelled: the jobs stay running, their leases lapse
            else:
                done.append(job)
        try:
            await login_mail.forget_mailed_tokens(done)
        except Exception:
            # The mails are out: their jobs are done all the same (a retry would send them
            # twice). The tokens open links that expire within `login_link_max_age`.
            log.warning(
                "%s login links sent, tokens not forgotten (jobs %s)",
                audience.name,
                ", ".join(str(job.id) for job in done),
                exc_info=True,
            )
        if done:
            log.info(
                "%s login links sent or not needed (jobs %s)",
                audience.name,
                ", ".join(str(job.id) for job in done),
            )
        return outcomes

    return send_login_links


def mail_handler(audience: Audience[Any]) -> MailJob:
    """One login mail job alone (`desk worker --once`, tests): a batch of one; the worker's
    lanes run them in batches (`mail_batch_handler`)."""
    batch = mail_batch_handler(audience)

    async def send_login_link(job: OutboxJob, rt: Runtime) -> None:
        [error] = await batch([job], rt)
        if error is not None:
            raise error

    return send_login_link
