"""Mail messages written straight to bytes: the same MIME the email package writes, for a
fraction of its cost.

`EmailMessage` parses every header into objects and `as_bytes` folds them back, about 2 ms
per two-part mail (as much as the SMTP exchange; bench/fanout.py). Here the headers that
vary per mail are plain ASCII written as they are; those that need RFC 2047 words (a sender's
or a subject's accents) are folded by the email package once per distinct value; each part is
UTF-8, sent as is when it is ASCII with short lines ("7bit"), quoted-printable otherwise.
Anything unusual (an address needing quotes or SMTPUTF8) is for the email package itself:
`compose` answers None and the caller builds an `EmailMessage`.
"""

from __future__ import annotations

import binascii
import re
import secrets
from email import policy
from email.utils import formatdate, parseaddr
from functools import lru_cache

# The email package's own rules: lines of at most 78 characters, CRLF, non-ASCII encoded.
_POLICY = policy.SMTP
MAX_LINE = 78
# An address with nothing to quote or encode: a header and an envelope take it as it is.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
# A Message-ID's left part as the desk makes it (job idempotency keys).
_PLAIN_ID = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
MESSAGE_ID_DOMAIN = "desk.invalid"


def is_plain_address(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None


def message_id(key: str | None) -> str:
    """`<key@desk.invalid>`: the job's idempotency key, so a retried mail keeps its id."""
    if key is None:
        key = secrets.token_hex(16)
    return f"<{key}@{MESSAGE_ID_DOMAIN}>"


def _header(name: str, value: str) -> bytes:
    """One header line (folded, RFC 2047 words for non-ASCII) as the email package writes it;
    ValueError for a value holding a line break, as `EmailMessage` would raise."""
    stored = _POLICY.header_store_parse(name, value)[1]
    return _POLICY.fold_binary(name, stored)


# Senders and subjects repeat (one per template and language): folded once each. Recipient
# addresses are never kept here.
_shared_header = lru_cache(maxsize=512)(_header)


@lru_cache(maxsize=8)
def envelope_sender(mail_from: str) -> str | None:
    """The address of a From header such as "Le guichet des données <guichet@…>", or None
    when it is not a plain address."""
    address = parseaddr(mail_from)[1]
    return address if is_plain_address(address) else None


def _part(content: str, subtype: bytes) -> bytes:
    lines = content.encode("utf-8").splitlines()
    body = b"\r\n".join(lines) + b"\r\n"
    if body.isascii() and max(map(len, lines), default=0) <= MAX_LINE:
        encoding = b"7bit"
    else:
        encoding = b"quoted-printable"
        body = binascii.b2a_qp(body, istext=True)
    return (
        b"Content-Type: text/"
        + subtype
        + b'; charset="utf-8"\r\nContent-Transfer-Encoding: '
        + encoding
        + b"\r\n\r\n"
        + body
    )


def compose(
    *,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    reply_to: str | None = None,
) -> bytes | None:
    """The message as sent (CRLF lines), or None when `to` or `mail_from` is not a plain
    address (the email package then writes it, with SMTPUTF8 if need be)."""
    if not is_plain_address(to) or envelope_sender(mail_from) is None:
        return None
    if not (message_id.startswith("<") and message_id.endswith(">")):
        return None
    left, at, domain = message_id[1:-1].partition("@")
    if not (at and _PLAIN_ID.fullmatch(left) and _PLAIN_ID.fullmatch(domain)):
        return None
    head = [
        _shared_header("From", mail_from),
        b"To: " + to.encode("ascii") + b"\r\n",
        _shared_header("Subject", subject),
        b"Date: " + formatdate(localtime=False).encode("ascii") + b"\r\n",
        b"Message-ID: " + message_id.encode("ascii") + b"\r\n",
    ]
    if reply_to:
        head.append(_header("Reply-To", reply_to))
    head.append(b"MIME-Version: 1.0\r\n")
    plain = _part(text, b"plain")
    if html is None:
        return b"".join(head) + plain
    rich = _part(html, b"html")
    boundary = _boundary(plain, rich)
    return b"".join(
        (
            *head,
            b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
            b"--" + boundary + b"\r\n",
            plain,
            b"\r\n--" + boundary + b"\r\n",
            rich,
            b"\r\n--" + boundary + b"--\r\n",
        )
    )


def _boundary(*parts: bytes) -> bytes:
    # "=_" never occurs in quoted-printable; a 7bit part is checked.
    while True:
        boundary = b"=_" + secrets.token_hex(16).encode("ascii")
        if not any(boundary in part for part in parts):
            return boundary
