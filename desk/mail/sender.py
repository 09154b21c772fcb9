"""Sending mail over SMTP (aiosmtplib). The Message-ID is the job's idempotency key."""

from __future__ import annotations

import asyncio
import logging
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from desk.outbox.worker import PermanentJobError
from desk.settings import Settings

log = logging.getLogger("desk.mail")


class MailError(Exception):
    """Sending failed; the outbox retries."""


class PermanentMailError(MailError, PermanentJobError):
    """The mail server refused for good (a 5xx reply): the job is parked as dead at once."""


# Servers echo addresses in their replies; logs and last_error keep ids, never addresses.
ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"']+")


def _is_permanent(exc: aiosmtplib.SMTPException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


def _describe(exc: Exception) -> str:
    return ADDRESS.sub("<address>", f"{type(exc).__name__}: {exc}")


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str | None = None,
        idempotency_key: str | None = None,
        reply_to: str | None = None,
    ) -> str:
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = "desk.invalid"
        message_id = (
            f"<{idempotency_key}@{domain}>" if idempotency_key else make_msgid(domain=domain)
        )
        message["Message-ID"] = message_id
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        s = self.settings
        try:
            # aiosmtplib's timeout bounds each read; this bounds the whole conversation.
            async with asyncio.timeout(s.smtp_deadline):
                await aiosmtplib.send(
                    message,
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username or None,
                    password=s.smtp_password or None,
                    start_tls=s.smtp_starttls,
                    timeout=min(s.smtp_timeout, s.smtp_deadline),
                )
        except (aiosmtplib.SMTPException, OSError) as exc:
            if isinstance(exc, TimeoutError) and not isinstance(exc, aiosmtplib.SMTPException):
                raise MailError(f"mail server not done within {s.smtp_deadline:g} s") from exc
            if isinstance(exc, aiosmtplib.SMTPException) and _is_permanent(exc):
                raise PermanentMailError(_describe(exc)) from exc
            raise MailError(_describe(exc)) from exc
        log.info("mail sent message_id=%s", message_id)
        return message_id
