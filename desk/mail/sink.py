"""An in-process SMTP server that keeps every message it receives (demo mode and tests)."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class CapturedMail:
    id: int
    to: list[str]
    sender: str
    subject: str
    text: str
    html: str | None
    message_id: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Every header as sent, in order (name, value): lets tests prove nothing was injected.
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def links(self) -> list[str]:
        seen: list[str] = []
        for link in LINK.findall(self.text):
            if link not in seen:
                seen.append(link)
        return seen

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to,
            "from": self.sender,
            "subject": self.subject,
            "text": self.text,
            "links": self.links,
            "message_id": self.message_id,
            "received_at": self.received_at.isoformat(),
        }


class MailSink:
    """Keeps the messages; the aiosmtpd handler appends to it from the server's thread."""

    def __init__(self, limit: int = 500) -> None:
        self._messages: list[CapturedMail] = []
        self._lock = threading.Lock()
        self._limit = limit
        self._next_id = 1

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        with self._lock:
            mail = CapturedMail(
                id=self._next_id,
                to=list(envelope.rcpt_tos),
                sender=str(envelope.mail_from),
                subject=str(parsed.get("Subject", "")),
                text=text_part.get_content() if text_part is not None else "",
                html=html_part.get_content() if html_part is not None else None,
                message_id=str(parsed.get("Message-ID", "")),
                headers=[(name, str(value)) for name, value in parsed.items()],
            )
            self._next_id += 1
            self._messages.append(mail)
            del self._messages[: -self._limit]
        return "250 Message accepted for delivery"

    def messages(self) -> list[CapturedMail]:
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[CapturedMail]:
        return [m for m in self.messages() if address.lower() in (t.lower() for t in m.to)]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class SmtpSinkServer:
    """Starts and stops the SMTP server on a loopback port (0 picks a free one)."""

    def __init__(self, sink: MailSink, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sink = sink
        self.controller = Controller(sink, hostname=host, port=port or _free_port(host))

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _free_port(host: str) -> int:

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
