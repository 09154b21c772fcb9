"""How long each text a request carries may be: one table for every form, query and path.

The input guard (desk.web.inputguard) refuses anything longer before a route runs, the upload
forms check their text fields against it (desk.web.forms), and the templates read it for the
`maxlength` of each field and the "N caractères au plus" hint beside it. So a maximum is
written once and is the same on the form, in the check and in the README.

Free text people type has its own maximum, by field name (names mean the same on every form:
`reason` is the partner's reason wherever it is asked). Every other field — a choice, an id, a
slug, an address, a key — is short: SHORT_MAX. What reaches a column narrower than these is
refused by the ORM's own length check before any SQL, and answered as a 422 too
(desk.web.errors.invalid_value).
"""

from __future__ import annotations

import re

# Free text, by form field name: the documented maximum in characters.
FREE_TEXT: dict[str, int] = {
    # A resident's (or a mediator's, with the resident) answer to a signatory's question.
    "answer": 4000,
    # A complaint about a signatory, and a signatory's answer to a charter alert.
    "text": 4000,
    "explanation": 4000,
    "plan": 4000,
    # Ethics committee decisions, and its question to a signatory about a complaint.
    "reasoning": 8000,
    "question": 4000,
    "conditions": 4000,
    # A signatory's answer (answer page, back office's paper answer): as in the partner API.
    "detail": 2000,
    "note": 2000,
    "reason": 2000,
    "categories": 2000,
    "erased_categories": 2000,
    "recipients_notified": 2000,
    # One row of what is kept after an erasure.
    "kept_category": 200,
    "kept_basis": 200,
    "kept_retention": 200,
    # A charter self-evaluation's comment on one commitment.
    "comment": 2000,
    # A channel's settings, typed by the back office (JSON).
    "settings": 4000,
    # A mediator's contact details for a resident without email.
    "full_name": 200,
    "street": 200,
    "street_more": 200,
    "city": 200,
    # A digital-help point's directory entry, as staff type it (desk/helppoints).
    "opening_hours": 1000,
    "accessibility": 1000,
    "languages": 1500,
    # The "Rejoindre la charte" form: an organisation's postal address.
    "address": 1000,
    # A declaration, as its signatory writes it in its space.
    "purposes": 4000,
    "retention": 4000,
    "source": 4000,
    "data_categories": 4000,
    "recipients": 4000,
    "automated_decisions": 4000,
    "algorithm_explanation": 4000,
    "dpia_summary": 4000,
    "results_statement": 4000,
    # A receipt pasted into /verifier (a compact JWS).
    "jws": 20_000,
}
# Every other field: choices, ids, slugs, keys, email addresses (254 at most), tokens.
SHORT_MAX = 254
# Query parameters nobody types (FranceConnect's answer, paging): generous, still bounded.
QUERY_MAX = 1000
# One segment of an address (tokens in links are the longest), and the whole address.
PATH_SEGMENT_MAX = 512
PATH_MAX = 2048
# A string anywhere in a JSON body (the longest free text of the API is 4,000): the API's
# schemas then apply their own, smaller, maxima.
JSON_STRING_MAX = 8000

_NUMBERED = re.compile(r"_\d{1,3}$")


def max_chars(name: str, *, query: bool = False) -> int:
    """The longest value accepted for the field or query parameter `name`."""
    base = _NUMBERED.sub("", name)  # kept_category_3 is one row of kept_category
    if base in FREE_TEXT:
        return FREE_TEXT[base]
    if base.endswith("_comment"):  # <commitment>_comment on the self-evaluation form
        return FREE_TEXT["comment"]
    return QUERY_MAX if query else SHORT_MAX


def too_long(name: str, *, query: bool = False) -> str:
    """The French message for a value longer than its field's maximum."""
    return (
        f"Le champ « {name[:40]} » est trop long : {count(max_chars(name, query=query))} "
        "caractères au plus. Raccourcissez-le, puis réessayez."
    )


def count(number: int) -> str:
    """A number as French writes it: 4 000 (a narrow no-break space between thousands)."""
    return f"{number:,}".replace(",", "\u202f")


def first_too_long(items: list[tuple[str, str]], *, query: bool = False) -> str | None:
    """The name of the first field whose value is longer than its maximum, if any."""
    for name, value in items:
        if len(name) > SHORT_MAX or len(value) > max_chars(name, query=query):
            return name
    return None


def is_ascii_id(raw: str, *, max_digits: int = 10) -> bool:
    """ASCII digits only: "１" (fullwidth), "²" or "٣" are digits to str.isdigit, and int()
    reads some of them, but no id of the desk is written so."""
    return 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit()


def ascii_id(raw: str, *, max_digits: int = 10) -> int | None:
    """The id written in `raw` (ASCII digits, at most `max_digits`), or None."""
    return int(raw) if is_ascii_id(raw, max_digits=max_digits) else None


def has_foreign_digit(text: str) -> bool:
    """A digit other than 0-9 (what the desk never writes in its addresses)."""
    return not text.isascii() and any(c.isdigit() and not c.isascii() for c in text)


def digits(raw: str) -> bool:
    """Only ASCII digits, at least one: what str.isdigit says, without "１", "²" or "٣"."""
    return raw.isascii() and raw.isdigit()


# Rows' ids are 32-bit integer columns (PostgreSQL's `integer`): a larger number names no row,
# and PostgreSQL refuses it as a parameter (a 500) where SQLite would find nothing.
MAX_ROW_ID = 2**31 - 1


def row_id(raw: str) -> int | None:
    """`raw` as a row's id (ASCII digits, 1 to MAX_ROW_ID); None when no row can have it."""
    if not digits(raw) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ROW_ID else None
