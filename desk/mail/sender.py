"""Sending mail over SMTP (aiosmtplib). The Message-ID is the job's idempotency key."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from desk.mail import compose
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


# Connections kept open between mails: as many as a worker's lanes send at once, each closed
# after this long unused (servers drop idle clients after minutes).
MAX_IDLE_CONNECTIONS = 32
IDLE_SECONDS = 30.0
# Failures of a kept connection the server had closed meanwhile: worth one fresh connection.
_STALE = (aiosmtplib.SMTPServerDisconnected, ConnectionError)


@dataclass(frozen=True)
class Composed:
    """A message written by desk.mail.compose, sent as it is."""

    sender: str
    to: str
    raw: bytes

    async def send(self, smtp: aiosmtplib.SMTP) -> None:
        await smtp.sendmail(self.sender, [self.to], self.raw)


@dataclass(frozen=True)
class Packaged:
    """A message the email package writes (and aiosmtplib sends, with SMTPUTF8 if need be)."""

    message: EmailMessage

    async def send(self, smtp: aiosmtplib.SMTP) -> None:
        await smtp.send_message(self.message)


Outgoing = Composed | Packaged


class SmtpMailer:
    """Sends over connections kept open from one mail to the next (a connection, its greeting,
    STARTTLS and login cost more than a message: bench/fanout.py), one mail per connection at
    a time. A kept connection the server has closed is replaced once, at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: list[tuple[aiosmtplib.SMTP, float, asyncio.AbstractEventLoop]] = []

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            start_tls=s.smtp_starttls,
            timeout=min(s.smtp_timeout, s.smtp_deadline),
        )
        await smtp.connect()
        return smtp

    def _kept(self) -> aiosmtplib.SMTP | None:
        """An open connection of this event loop unused for less than IDLE_SECONDS."""
        loop = asyncio.get_running_loop()
        while self._idle:
            smtp, since, owner = self._idle.pop()
            if owner is loop and smtp.is_connected and loop.time() - since < IDLE_SECONDS:
                return smtp
            if owner is loop:
                smtp.close()
        return None

    async def _deliver(self, message: Outgoing) -> None:
        smtp = self._kept()
        try:
            if smtp is None:
                smtp = await self._connect()
                await message.send(smtp)
            else:
                try:
                    await message.send(smtp)
                except _STALE:
                    smtp.close()
                    smtp = await self._connect()
                    await message.send(smtp)
        except BaseException:
            # Refused, timed out or cancelled mid-conversation: its state is unknown, not kept.
            if smtp is not None:
                smtp.close()
            raise
        loop = asyncio.get_running_loop()
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append((smtp, loop.time(), loop))
        else:
            smtp.close()

    def _message(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str | None,
        message_id: str,
        reply_to: str | None,
    ) -> EmailMessage:
        """The email package's message, for what `compose` leaves to it (addresses that need
        quoting or SMTPUTF8)."""
        message = EmailMessage()
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        return message

    async def close(self) -> None:
        """Say goodbye on every kept connection (the worker, when it stops)."""
        loop = asyncio.get_running_loop()
        idle, self._idle = self._idle, []
        for smtp, _since, owner in idle:
            if owner is loop and smtp.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await asyncio.wait_for(smtp.quit(), timeout=2)
            smtp.close()

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
        message_id = compose.message_id(idempotency_key)
        raw = compose.compose(
            mail_from=self.settings.mail_from,
            to=to,
            subject=subject,
            text=text,
            html=html or None,
            message_id=message_id,
            reply_to=reply_to,
        )
        sender = compose.envelope_sender(self.settings.mail_from)
        outgoing: Outgoing
        if raw is not None and sender is not None:
            outgoing = Composed(sender=sender, to=to, raw=raw)
        else:
            outgoing = Packaged(
                self._message(
                    to=to,
                    subject=subject,
                    text=text,
                    html=html,
                    message_id=message_id,
                    reply_to=reply_to,
                )
            )
        s = self.settings
        try:
            # aiosmtplib's timeout bounds each read; this bounds the whole conversation.
            async with asyncio.timeout(s.smtp_deadline):
                await self._deliver(outgoing)
        except (aiosmtplib.SMTPException, OSError) as exc:
            if isinstance(exc, TimeoutError) and not isinstance(exc, aiosmtplib.SMTPException):
                raise MailError(f"mail server not done within {s.smtp_deadline:g} s") from exc
            if isinstance(exc, aiosmtplib.SMTPException) and _is_permanent(exc):
                raise PermanentMailError(_describe(exc)) from exc
            raise MailError(_describe(exc)) from exc
        log.info("mail sent message_id=%s", message_id)
        return message_id
