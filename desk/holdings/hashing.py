"""Identifiers as keyed hashes: how a signatory and the desk name the same person without
exchanging the address or the number. The rules are spelt out in docs/holdings.md, with a test
vector; a partner reimplements them in its own language, so every step here must stay exact."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from encodings import idna
from typing import Literal, Protocol

from desk.core.translatable import N_

Kind = Literal["email", "phone"]
KINDS: tuple[Kind, ...] = ("email", "phone")

ALGORITHM = "HMAC-SHA256"

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Spaces (including the no-break spaces French word processors put in numbers), dots, dashes
# and parentheses are only layout.
_PHONE_LAYOUT = re.compile(r"[\s.\-()\u00a0\u202f]")
_FRENCH_NATIONAL = re.compile(r"^0([1-9]\d{8})$")
_FRENCH_INTERNATIONAL = re.compile(r"^\+33(?:0)?([1-9]\d{8})$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class InvalidIdentifier(ValueError):
    """An identifier the rules cannot normalise; `message` says why, in French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HasEmail(Protocol):
    email: str | None


def normalise_email(raw: str) -> str:
    """Trimmed, NFC, lower-case, domain in IDNA ASCII form (xn--…).

    The whole address is lower-cased, local part included: RFC 5321 lets a server tell
    "Camille" from "camille", but the French mailbox providers residents use do not, and a
    signatory's files hold whatever case the person typed.
    """
    value = unicodedata.normalize("NFC", raw.strip()).lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidIdentifier(N_("Adresse e-mail incorrecte : il faut la forme nom@domaine.fr."))
    if "@" in local or any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        raise InvalidIdentifier(
            N_("Adresse e-mail incorrecte : un seul @, sans espace ni caractère invisible.")
        )
    if len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidIdentifier(
            N_("Adresse e-mail incorrecte : la partie avant @ n'est pas valable.")
        )
    ascii_domain = _ascii_domain(domain)
    address = f"{local}@{ascii_domain}"
    if len(address) > 254:
        raise InvalidIdentifier(N_("Adresse e-mail trop longue (254 caractères au plus)."))
    return address


def _ascii_domain(domain: str) -> str:
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidIdentifier(
            N_("Adresse e-mail incorrecte : le domaine doit contenir un point (exemple.fr).")
        )
    converted: list[str] = []
    for label in labels:
        try:
            # RFC 3490 ToASCII per label: "xn--" + Punycode for labels that are not ASCII.
            ascii_label = idna.ToASCII(label).decode("ascii").lower()
        except UnicodeError as exc:
            raise InvalidIdentifier(
                N_("Adresse e-mail incorrecte : le nom de domaine n'est pas valable.")
            ) from exc
        if not _LABEL.match(ascii_label):
            raise InvalidIdentifier(
                N_("Adresse e-mail incorrecte : le nom de domaine n'est pas valable.")
            )
        converted.append(ascii_label)
    ascii_domain = ".".join(converted)
    if len(ascii_domain) > 253:
        raise InvalidIdentifier(N_("Adresse e-mail incorrecte : le nom de domaine est trop long."))
    return ascii_domain


def normalise_phone(raw: str) -> str:
    """E.164: French numbers as +33 followed by 9 digits; other "+CC…" numbers kept as written."""
    value = _PHONE_LAYOUT.sub("", unicodedata.normalize("NFC", raw))
    if value.startswith("00"):
        value = "+" + value[2:]
    national = _FRENCH_NATIONAL.match(value)
    if national:
        return "+33" + national.group(1)
    french = _FRENCH_INTERNATIONAL.match(value)
    if french:
        # "+33 (0)6 …" is common on French letterheads: the 0 in brackets is not dialled.
        return "+33" + french.group(1)
    if value.startswith("+33"):
        raise InvalidIdentifier(
            N_("Numéro français incorrect : après +33, il faut 9 chiffres (sans le 0 initial).")
        )
    if _E164.match(value):
        return value
    raise InvalidIdentifier(
        N_(
            "Numéro de téléphone incorrect : écrivez un numéro français (06 12 34 56 78) ou "
            "international commençant par + et l'indicatif du pays."
        )
    )


def normalise(kind: str, value: str) -> str:
    if kind == "email":
        return normalise_email(value)
    if kind == "phone":
        return normalise_phone(value)
    raise InvalidIdentifier(N_("Type d'identifiant inconnu : « email » ou « phone » seulement."))


def message(kind: str, value: str) -> str:
    """The exact text that is hashed: the kind, a colon, the normalised identifier."""
    return f"{kind}:{normalise(kind, value)}"


def keyed_hash(key: str, kind: str, value: str) -> str:
    """hex(HMAC-SHA256(key = UTF-8 of the signatory's key, message = "kind:" + normalised))."""
    return hmac.new(
        key.encode("utf-8"), message(kind, value).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def resident_hashes(resident: HasEmail, key: str) -> list[str]:
    """The hashes a signatory using `key` would send for this resident (email only for now)."""
    if not resident.email:
        return []
    try:
        return [keyed_hash(key, "email", resident.email)]
    except InvalidIdentifier:
        return []
