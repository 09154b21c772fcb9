"""Holdings and lineage as partners send them: limits, and the parsing that refuses in French.

A refusal is a PayloadRefused carrying the HTTP status and a message saying what to correct.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from desk.holdings import hashing

MAX_HOLDINGS = 10_000
MAX_EVENTS = 1_000
# 10 000 holdings with a few declaration codes each fit well within these.
MAX_HOLDINGS_BYTES = 4 * 1024 * 1024
MAX_EVENTS_BYTES = 1024 * 1024
MAX_CATEGORY = 200
MAX_PURPOSE = 300
MAX_RECIPIENT = 200
MAX_DECLARATIONS_PER_HOLDING = 50
LINEAGE_SHOWN = 50
MAX_GROUPED_UPDATES = 20
# Rows per IN (...) clause: well under every database's limit on bound parameters.
CHUNK = 1000

DOC_URL = "docs/holdings.md"
NORMALISATION_FR = (
    "Message haché : « email: » suivi de l'adresse normalisée, ou « phone: » suivi du numéro "
    "normalisé. Adresse : espaces retirés au début et à la fin, Unicode NFC, tout en minuscules, "
    "domaine converti en IDNA (xn--…). Téléphone : espaces, points, tirets et parenthèses "
    "retirés ; 0X XX XX XX XX devient +33X… ; 0033… devient +33… ; les autres numéros "
    "internationaux (+CC…) restent tels quels. Empreinte : HMAC-SHA256 avec la clé (octets "
    "UTF-8 de la chaîne « key »), en hexadécimal minuscule (64 caractères)."
)

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

T = TypeVar("T")


# --- rules --------------------------------------------------------------------------------------


class PayloadRefused(Exception):
    """A refused body; `message` is French and names what to fix, `status` the HTTP status."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class HoldingItem:
    subject_hash: str
    kind: str
    declarations: tuple[str, ...]


@dataclass(frozen=True)
class EventItem:
    subject_hash: str
    category: str
    purpose: str
    recipient: str
    occurred_on: date


@dataclass(frozen=True)
class HoldingsResult:
    count: int
    removed: int


def _where(name: str, index: int) -> str:
    return f"{name}[{index}] (élément n° {index + 1})"


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadRefused(f"{what} doit être un objet JSON {{…}}.")
    return data


def _check_keys(item: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise PayloadRefused(
            f"{where} : champ inconnu « {unknown[0]} ». Champs possibles : "
            + ", ".join(sorted(allowed))
            + "."
        )


def _subject_hash(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise PayloadRefused(
            f"{where} : « {name} » doit être une empreinte HMAC-SHA256 en hexadécimal, "
            "soit exactement 64 caractères 0-9 et a-f."
        )
    return value.lower()


def _list(data: dict[str, Any], name: str, limit: int) -> list[Any]:
    items = data.get(name)
    if not isinstance(items, list):
        raise PayloadRefused(f"Le champ « {name} » est obligatoire et doit être une liste [...].")
    if len(items) > limit:
        raise PayloadRefused(
            f"Trop d'éléments dans « {name} » : {len(items)} reçus, {limit} au plus par appel. "
            "Découpez l'envoi en plusieurs appels.",
            status=413,
        )
    return items


def parse_holdings(data: Any) -> list[HoldingItem]:
    """The holdings of a PUT or POST body, checked; declaration codes are checked later."""
    body = _object(data, "Le corps de la demande")
    _check_keys(body, {"holdings"}, "Le corps de la demande")
    items: list[HoldingItem] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(_list(body, "holdings", MAX_HOLDINGS)):
        where = _where("holdings", index)
        item = _object(raw, where)
        _check_keys(item, {"hash", "kind", "declarations"}, where)
        subject_hash = _subject_hash(item.get("hash"), where, "hash")
        kind = item.get("kind")
        if kind not in hashing.KINDS:
            raise PayloadRefused(
                f"{where} : « kind » doit valoir « email » ou « phone » (le type "
                "d'identifiant qui a servi à calculer l'empreinte)."
            )
        codes = item.get("declarations", [])
        if (
            not isinstance(codes, list)
            or not all(isinstance(c, str) and c.strip() for c in codes)
            or len(codes) > MAX_DECLARATIONS_PER_HOLDING
        ):
            raise PayloadRefused(
                f"{where} : « declarations » doit être une liste de codes de vos traitements "
                f"(textes non vides, {MAX_DECLARATIONS_PER_HOLDING} au plus)."
            )
        if subject_hash in seen:
            raise PayloadRefused(
                f"{where} : cette empreinte figure déjà à l'élément n° {seen[subject_hash] + 1}. "
                "Chaque personne ne doit apparaître qu'une fois."
            )
        seen[subject_hash] = index
        declarations = tuple(dict.fromkeys(c.strip() for c in codes))
        items.append(HoldingItem(subject_hash=subject_hash, kind=kind, declarations=declarations))
    return items


def _text(item: dict[str, Any], name: str, limit: int, where: str, *, required: bool) -> str:
    value = item.get(name, "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        raise PayloadRefused(f"{where} : « {name} » doit être un texte.")
    value = value.strip()
    if required and not value:
        raise PayloadRefused(
            f"{where} : « {name} » est obligatoire (la catégorie de données concernée, par "
            "exemple « coordonnées »)."
        )
    if len(value) > limit:
        raise PayloadRefused(f"{where} : « {name} » fait plus de {limit} caractères.")
    return value


def parse_events(data: Any, *, today: date) -> list[EventItem]:
    """The lineage events of a POST body, checked: dates are real days, never after `today`."""
    body = _object(data, "Le corps de la demande")
    _check_keys(body, {"events"}, "Le corps de la demande")
    events: list[EventItem] = []
    allowed = {"subject_hash", "category", "purpose", "recipient", "occurred_on"}
    for index, raw in enumerate(_list(body, "events", MAX_EVENTS)):
        where = _where("events", index)
        item = _object(raw, where)
        _check_keys(item, allowed, where)
        subject_hash = _subject_hash(item.get("subject_hash"), where, "subject_hash")
        category = _text(item, "category", MAX_CATEGORY, where, required=True)
        purpose = _text(item, "purpose", MAX_PURPOSE, where, required=False)
        recipient = _text(item, "recipient", MAX_RECIPIENT, where, required=False)
        day = item.get("occurred_on")
        try:
            if not isinstance(day, str) or not _DAY.match(day):
                raise ValueError(day)
            occurred_on = date.fromisoformat(day)
        except ValueError:
            raise PayloadRefused(
                f"{where} : « occurred_on » doit être une date réelle au format AAAA-MM-JJ "
                "(par exemple 2024-03-15)."
            ) from None
        if occurred_on > today:
            raise PayloadRefused(
                f"{where} : la date {day} est dans le futur. Signalez un événement une fois "
                "qu'il a eu lieu."
            )
        events.append(
            EventItem(
                subject_hash=subject_hash,
                category=category,
                purpose=purpose,
                recipient=recipient,
                occurred_on=occurred_on,
            )
        )
    return events


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
