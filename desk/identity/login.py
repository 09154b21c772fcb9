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

import logging
from collections.abc import Awaitable, Callable, Mapping
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
from desk.identity.models import LoginChallenge
from desk.outbox.models import OutboxJob
from desk.runtime import Runtime

log = logging.getLogger("desk.identity.login")

P = TypeVar("P", bound=Model)
MailJob = Callable[[OutboxJob, Runtime], Awaitable[None]]


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
    # The mail's own context for this address; None sends no mail (nobody active there).
    mail_context: Callable[[str], Awaitable[Mapping[str, Any] | None]]
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


def mail_handler(audience: Audience[Any]) -> MailJob:
    """The outbox handler that mails `audience`'s login links (job kind `link.mail_job`)."""

    async def send_login_link(job: OutboxJob, rt: Runtime) -> None:
        settings = rt.settings
        mailed = await login_mail.link_to_mail(
            job,
            kind=audience.link,
            secret_key=settings.secret_key,
            max_age=settings.login_link_max_age,
        )
        if mailed is None:
            return
        extra = await audience.mail_context(mailed.email)
        if extra is None:
            # Nobody active at that address: no mail, and the job forgets the token. The
            # challenge (and its address) goes with the other old ones (`purge_challenges`).
            await login_mail.forget_mailed_token(job)
            log.info("%s login link not sent: nobody active (job %s)", audience.name, job.id)
            return
        await rt.send_mail(
            to=mailed.email,
            template=audience.mail_template,
            context={
                "link": settings.url(mailed.url_path),
                "minutes": max(1, settings.login_link_max_age // 60),
                **extra,
            },
            idempotency_key=job.idempotency_key,
            locale=mailed.locale if audience.mail_in_reader_locale else "fr",
        )
        await login_mail.forget_mailed_token(job)
        log.info("%s login link sent (job %s)", audience.name, job.id)

    return send_login_link
