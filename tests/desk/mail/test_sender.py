"""The mailer keeps its SMTP connection open from one mail to the next, and replaces one the
server has closed meanwhile without losing the mail."""

from __future__ import annotations

from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from desk.mail.sender import SmtpMailer
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.settings import Settings


class PeerSink(MailSink):
    """Notes the client's address and port of each mail: one port, one connection."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[Any] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def _mailer(port: int) -> SmtpMailer:
    return SmtpMailer(Settings(smtp_port=port, secret_key="k" * 40))


async def test_mails_share_one_kept_connection() -> None:
    sink = PeerSink()
    server = SmtpSinkServer(sink, port=0)
    server.start()
    mailer = _mailer(server.port)
    try:
        for n in range(3):
            await mailer.send(to=f"n{n}@exemple.fr", subject="Bonjour", text="Texte")
    finally:
        await mailer.close()
        server.stop()
    assert [m.to[0] for m in sink.messages()] == ["n0@exemple.fr", "n1@exemple.fr", "n2@exemple.fr"]
    assert len(set(sink.peers)) == 1


async def test_a_connection_the_server_closed_is_replaced_and_the_mail_sent() -> None:
    sink = PeerSink()
    server = SmtpSinkServer(sink, port=0)
    server.start()
    mailer = _mailer(server.port)
    try:
        await mailer.send(to="avant@exemple.fr", subject="Bonjour", text="Texte")
        server.stop()  # the kept connection dies with the server
        server = SmtpSinkServer(sink, port=server.port)
        server.start()
        await mailer.send(to="apres@exemple.fr", subject="Bonjour", text="Texte")
    finally:
        await mailer.close()
        server.stop()
    assert [m.to[0] for m in sink.messages()] == ["avant@exemple.fr", "apres@exemple.fr"]
    assert len(set(sink.peers)) == 2
