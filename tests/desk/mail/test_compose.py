"""Mails written as bytes by desk.mail.compose read, in Python's email package (as in a mail
client), exactly as the email package's own messages: sender, subject, both parts, accents."""

from __future__ import annotations

import random
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from aiosmtplib.email import flatten_message

from desk.mail import compose
from desk.mail.sender import SmtpMailer
from desk.mail.sink import MailSink, SmtpSinkServer
from desk.settings import Settings

FROM = "Le guichet des données <guichet@exemple.fr>"
LINK = "https://guichet.exemple.fr/connexion/" + "AbCdEf0123-_" * 4 + "x" * 30
TEXT = (
    "Bonjour,\n\nPour vous connecter au guichet des données, ouvrez ce lien :\n\n"
    f"{LINK}\n\nLe lien fonctionne pendant 10 minutes, une seule fois. Une page vous demandera "
    "de confirmer en appuyant sur « Me connecter ».\n\n"
    "Le guichet des données — Charte éthique de la donnée\n"
)
HTML = (
    f'<p>Ouvrez <a href="{LINK}" style="display: inline-block; padding: .5em 1em;">ce lien'
    "</a> : il est à usage unique.</p>\n<p>Données, éthique, « guillemets » — fin.</p>\n"
)


def _read(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _seen(raw: bytes) -> tuple[object, ...]:
    """What a reader sees: headers decoded, each part's text (line ends as a client shows
    them), and any defect the parser found."""
    parsed = _read(raw)
    plain = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    return (
        str(parsed["From"]),
        str(parsed["To"]),
        str(parsed["Subject"]),
        str(parsed["Message-ID"]),
        str(parsed.get("Reply-To", "")),
        plain.get_content().replace("\r\n", "\n"),
        None if rich is None else rich.get_content().replace("\r\n", "\n"),
        [defect for part in parsed.walk() for defect in part.defects],
    )


def _package(**fields: str | None) -> bytes:
    """The same mail, as the email package writes it (the mailer's former way)."""
    message = EmailMessage()
    message["From"] = fields["mail_from"]
    message["To"] = fields["to"]
    message["Subject"] = fields["subject"]
    message["Message-ID"] = fields["message_id"]
    if fields.get("reply_to"):
        message["Reply-To"] = fields["reply_to"]
    message.set_content(str(fields["text"]))
    if fields["html"] is not None:
        message.add_alternative(str(fields["html"]), subtype="html")
    return flatten_message(message)


def _composed(**fields: str | None) -> bytes:
    raw = compose.compose(
        mail_from=str(fields["mail_from"]),
        to=str(fields["to"]),
        subject=str(fields["subject"]),
        text=str(fields["text"]),
        html=fields["html"],
        message_id=str(fields["message_id"]),
        reply_to=fields.get("reply_to"),
    )
    assert raw is not None
    return raw


def test_a_login_mail_reads_as_the_email_package_writes_it() -> None:
    fields: dict[str, str | None] = {
        "mail_from": FROM,
        "to": "camille.durand+guichet@exemple.fr",
        "subject": "Votre lien de connexion au guichet des données",
        "text": TEXT,
        "html": HTML,
        "message_id": compose.message_id("resident-login-" + "ab12" * 16),
        "reply_to": "Mairie de Brest — délégué à la protection des données <dpo@brest.fr>",
    }
    raw = _composed(**fields)
    assert _seen(raw) == _seen(_package(**fields))
    # 7-bit all through, body lines within the 78 characters a mail should keep to.
    head, body = raw.split(b"\r\n\r\n", 1)
    assert raw.isascii() and max(len(line) for line in body.split(b"\r\n")) <= 78
    parsed = _read(raw)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsedate_to_datetime(str(parsed["Date"])).year >= 2026
    assert str(parsed["MIME-Version"]) == "1.0"


def test_random_texts_read_back_the_same_as_with_the_email_package() -> None:
    pick = random.Random(18)
    alphabet = "abc éàç€«» \t.=_-<>&\n\n\r\n\u2028\x0c" + "x" * 12
    for n in range(400):
        text = "".join(pick.choice(alphabet) for _ in range(pick.randint(0, 300)))
        html = "".join(pick.choice(alphabet) for _ in range(pick.randint(1, 200)))
        subject = " ".join(
            "".join(pick.choice("abcéà€ «»") for _ in range(pick.randint(1, 140))).split()
        )
        fields: dict[str, str | None] = {
            "mail_from": FROM,
            "to": f"n{n}@exemple.fr",
            "subject": subject or "Objet",
            "text": text,
            "html": html if n % 2 else None,
            "message_id": compose.message_id(f"job-{n}"),
        }
        assert _seen(_composed(**fields)) == _seen(_package(**fields)), fields


def test_a_header_with_a_line_break_is_refused_as_by_the_email_package() -> None:
    with pytest.raises(ValueError):
        compose.compose(
            mail_from=FROM,
            to="a@exemple.fr",
            subject="Objet\r\nBcc: tous@exemple.fr",
            text="Texte",
            html=None,
            message_id=compose.message_id("k"),
        )
    with pytest.raises(ValueError):
        compose.compose(
            mail_from=FROM,
            to="a@exemple.fr",
            subject="Objet",
            text="Texte",
            html=None,
            message_id=compose.message_id("k"),
            reply_to="dpo@exemple.fr\nBcc: tous@exemple.fr",
        )


@pytest.mark.parametrize(
    "to", ["Camille <camille@exemple.fr>", "camille@exemple.fr\r\nBcc: x@y.fr", "zoé@exemple.fr"]
)
def test_an_address_that_is_not_plain_is_left_to_the_email_package(to: str) -> None:
    raw = compose.compose(
        mail_from=FROM,
        to=to,
        subject="Objet",
        text="Texte",
        html=None,
        message_id=compose.message_id("k"),
    )
    assert raw is None


async def test_a_mail_with_accents_and_a_long_link_arrives_whole_through_smtp() -> None:
    sink = MailSink()
    server = SmtpSinkServer(sink, port=0)
    server.start()
    mailer = SmtpMailer(Settings(smtp_port=server.port, secret_key="k" * 40, mail_from=FROM))
    try:
        sent_id = await mailer.send(
            to="camille@exemple.fr",
            subject="Votre lien de connexion au guichet des données",
            text=TEXT,
            html=HTML,
            idempotency_key="resident-login-" + "cd34" * 16,
        )
    finally:
        await mailer.close()
        server.stop()
    [mail] = sink.messages()
    assert mail.to == ["camille@exemple.fr"] and mail.sender == "guichet@exemple.fr"
    assert mail.subject == "Votre lien de connexion au guichet des données"
    assert mail.message_id == sent_id == f"<resident-login-{'cd34' * 16}@desk.invalid>"
    assert mail.text.replace("\r\n", "\n") == TEXT
    assert mail.html is not None and mail.html.replace("\r\n", "\n") == HTML
    assert mail.links == [LINK]
    assert ("From", FROM) in mail.headers
