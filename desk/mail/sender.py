"""Sending mail over SMTP (aiosmtplib). The Message-ID is the job's idempotency key."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from desk.settings import Settings

log = logging.getLogger("desk.mail")


class MailError(Exception):
    """Sending failed; the outbox retries."""


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
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
        log.info("mail sent message_id=%s", message_id)
        return message_id
