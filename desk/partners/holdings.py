"""Holdings and lineage: a signatory tells, by keyed hashes, whom it holds data about and what
it did with those data; the resident sees it on their dashboard.

Services first (keyword-only, no HTTP objects), then the thin API routes. The hashing rules
are in desk/partners/hashing.py and docs/holdings.md.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from desk import clock, crypto
from desk.partners import clients, hashing
from desk.partners.api_auth import require_partner
from desk.partners.idempotency import idempotent
from desk.partners.models import Holding, LineageEvent
from desk.partners.openapi import operation
from desk.partners.tokens import PartnerPrincipal
from desk.registry.models import Declaration, Signatory
from desk.residents.models import Resident
from desk.web.errors import ApiProblem

log = logging.getLogger("desk.partners.holdings")

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


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- services -----------------------------------------------------------------------------------


async def signatory_hashing_key(*, signatory_id: int, secret_key: str) -> str:
    """The signatory's hashing key, created on first use.

    Created with a conditional write: if two clients of one signatory ask at the same moment,
    both get the key that was stored, never one that was overwritten.
    """
    signatory = await Signatory.get(id=signatory_id)
    existing = await clients.hashing_key(signatory=signatory, secret_key=secret_key, create=False)
    if existing is not None:
        return existing
    key = secrets.token_urlsafe(32)
    stored = await Signatory.filter(id=signatory_id, hashing_key="").update(
        hashing_key=crypto.encrypt(secret_key, key)
    )
    if stored:
        log.info("hashing key created for signatory %s", signatory_id)
        return key
    signatory = await Signatory.get(id=signatory_id)
    created = await clients.hashing_key(signatory=signatory, secret_key=secret_key, create=False)
    assert created is not None
    return created


async def _check_declarations(signatory_id: int, items: list[HoldingItem]) -> None:
    wanted = {code for item in items for code in item.declarations}
    if not wanted:
        return
    known = set(await Declaration.filter(signatory_id=signatory_id).values_list("code", flat=True))
    unknown = sorted(wanted - known)
    if unknown:
        names = ", ".join(f"« {code} »" for code in unknown[:5])
        more = f" (et {len(unknown) - 5} autres)" if len(unknown) > 5 else ""
        raise PayloadRefused(
            f"Code de traitement inconnu pour votre organisme : {names}{more}. Utilisez les "
            "codes de vos traitements tels que publiés dans le registre des signataires."
        )


async def _save_changes(changed: list[Holding], *, now: datetime, conn: BaseDBAsyncClient) -> None:
    """Write changed holdings: one UPDATE per distinct (kind, declarations) when they are few,
    as they usually are (a partner has a handful of processing activities); row by row in
    batches otherwise."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for row in changed:
        groups.setdefault((row.identifier_kind, tuple(row.declarations)), []).append(row.id)
    if len(groups) > MAX_GROUPED_UPDATES:
        await Holding.bulk_update(
            changed,
            fields=["identifier_kind", "declarations", "updated_at"],
            batch_size=500,
            using_db=conn,
        )
        return
    for (kind, declarations), ids in groups.items():
        for some in _chunks(ids):
            await (
                Holding.filter(id__in=list(some))
                .using_db(conn)
                .update(identifier_kind=kind, declarations=list(declarations), updated_at=now)
            )


async def declare_holdings(
    *, signatory_id: int, items: list[HoldingItem], replace: bool
) -> HoldingsResult:
    """Upsert these holdings; with `replace`, also delete the signatory's holdings not listed.

    Each item is the whole truth about that person: its declarations replace the stored ones.
    Everything happens in one transaction, so the dashboard never shows half a set.
    """
    await _check_declarations(signatory_id, items)
    wanted = {item.subject_hash: item for item in items}
    now = clock.now()
    removed = 0
    try:
        async with in_transaction() as conn:
            existing: dict[str, Holding] = {}
            if replace:
                rows = await Holding.filter(signatory_id=signatory_id).using_db(conn)
                existing = {h.subject_hash: h for h in rows}
                stale = [h.id for h in rows if h.subject_hash not in wanted]
                for ids in _chunks(stale):
                    await Holding.filter(id__in=list(ids)).using_db(conn).delete()
                removed = len(stale)
            else:
                for some in _chunks(list(wanted)):
                    for h in await Holding.filter(
                        signatory_id=signatory_id, subject_hash__in=list(some)
                    ).using_db(conn):
                        existing[h.subject_hash] = h
            created: list[Holding] = []
            changed: list[Holding] = []
            for item in items:
                row = existing.get(item.subject_hash)
                if row is None:
                    created.append(
                        Holding(
                            signatory_id=signatory_id,
                            subject_hash=item.subject_hash,
                            identifier_kind=item.kind,
                            declarations=list(item.declarations),
                        )
                    )
                elif row.identifier_kind != item.kind or list(row.declarations) != list(
                    item.declarations
                ):
                    row.identifier_kind = item.kind
                    row.declarations = list(item.declarations)
                    row.updated_at = now
                    changed.append(row)
            if created:
                await Holding.bulk_create(created, batch_size=500, using_db=conn)
            await _save_changes(changed, now=now, conn=conn)
    except IntegrityError as exc:
        # Another push for the same signatory committed the same person meanwhile.
        raise PayloadRefused(
            "Un autre envoi de vos détentions est en cours : réessayez dans un instant.",
            status=409,
        ) from exc
    log.info("holdings of signatory %s: %s declared, %s removed", signatory_id, len(items), removed)
    return HoldingsResult(count=len(items), removed=removed)


async def record_lineage(*, signatory_id: int, events: list[EventItem]) -> int:
    if events:
        await LineageEvent.bulk_create(
            [
                LineageEvent(
                    signatory_id=signatory_id,
                    subject_hash=event.subject_hash,
                    category=event.category,
                    purpose=event.purpose,
                    recipient=event.recipient,
                    occurred_on=event.occurred_on,
                )
                for event in events
            ],
            batch_size=500,
        )
    log.info("lineage of signatory %s: %s events", signatory_id, len(events))
    return len(events)


# --- the resident's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredHolding:
    signatory_id: int
    signatory_name: str
    # Titles of the declarations the signatory named (its code when a title is unknown).
    declarations: list[str]
    updated_at: datetime


@dataclass(frozen=True)
class LineageRow:
    occurred_on: date
    signatory_name: str
    category: str
    purpose: str
    recipient: str


@dataclass
class Transparency:
    """What signatories told, by keyed hash, about one resident."""

    holdings: dict[int, DeclaredHolding] = field(default_factory=dict)
    events: list[LineageRow] = field(default_factory=list)
    total_events: int = 0

    @property
    def more(self) -> bool:
        return self.total_events > len(self.events)


async def resident_transparency(*, resident_id: int, secret_key: str) -> Transparency:
    """Holdings and lineage events matching this resident, in a fixed number of queries.

    Each signatory's key is decrypted once; a row counts only when its signatory is the one
    whose key gives that hash.
    """
    resident = await Resident.get_or_none(id=resident_id)
    result = Transparency()
    if resident is None or not resident.email:
        return result
    signatories = await Signatory.exclude(hashing_key="").prefetch_related("declarations")
    hashes: dict[int, list[str]] = {}
    names: dict[int, str] = {}
    titles: dict[int, dict[str, str]] = {}
    for signatory in signatories:
        try:
            key = crypto.decrypt(secret_key, signatory.hashing_key)
        except ValueError:
            log.warning("hashing key of signatory %s cannot be decrypted", signatory.id)
            continue
        found = hashing.resident_hashes(resident, key)
        if found:
            hashes[signatory.id] = found
            names[signatory.id] = signatory.name
            titles[signatory.id] = {d.code: d.title for d in signatory.declarations}
    if not hashes:
        return result
    pairs = {(sid, h) for sid, hs in hashes.items() for h in hs}
    every_hash = sorted({h for hs in hashes.values() for h in hs})
    for holding in await Holding.filter(subject_hash__in=every_hash):
        sid: int = holding.signatory_id  # type: ignore[attr-defined]
        if (sid, holding.subject_hash) not in pairs:
            continue
        named = titles[sid]
        result.holdings[sid] = DeclaredHolding(
            signatory_id=sid,
            signatory_name=names[sid],
            declarations=[named.get(code, code) for code in holding.declarations],
            updated_at=holding.updated_at,
        )
    mine = Q(
        *[Q(signatory_id=sid, subject_hash__in=hs) for sid, hs in hashes.items()],
        join_type="OR",
    )
    result.total_events = await LineageEvent.filter(mine).count()
    if result.total_events:
        rows = (
            await LineageEvent.filter(mine)
            .order_by("-occurred_on", "-id")
            .limit(LINEAGE_SHOWN)
            .values("signatory_id", "category", "purpose", "recipient", "occurred_on")
        )
        result.events = [
            LineageRow(
                occurred_on=row["occurred_on"],
                signatory_name=names[row["signatory_id"]],
                category=row["category"],
                purpose=row["purpose"],
                recipient=row["recipient"],
            )
            for row in rows
        ]
    return result


# --- API ----------------------------------------------------------------------------------------


def _principal(request: Request, scope: str) -> PartnerPrincipal:
    principal = require_partner(request)
    if scope not in principal.scope:
        raise ApiProblem(
            403,
            f"Votre jeton ne donne pas accès à cette partie de l'API (droit « {scope} » "
            "manquant) : demandez un nouveau jeton.",
        )
    return principal


async def _read_json_body(request: Request, limit: int) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiProblem(
            415, "Envoyez le corps en JSON, avec l'en-tête Content-Type: application/json."
        )
    too_large = (
        f"Corps de la demande trop volumineux : {limit // (1024 * 1024)} Mo au plus. "
        "Découpez l'envoi en plusieurs appels."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, too_large)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiProblem(413, too_large)
    return bytes(body)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(
            400, "Le corps de la demande n'est pas un JSON valide (UTF-8) : vérifiez sa syntaxe."
        ) from None


def _refused(exc: PayloadRefused) -> ApiProblem:
    return ApiProblem(exc.status, exc.message)


_HOLDINGS_REQUEST: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["holdings"],
                "additionalProperties": False,
                "properties": {
                    "holdings": {
                        "type": "array",
                        "maxItems": MAX_HOLDINGS,
                        "items": {
                            "type": "object",
                            "required": ["hash", "kind"],
                            "additionalProperties": False,
                            "properties": {
                                "hash": {
                                    "type": "string",
                                    "pattern": "^[0-9a-fA-F]{64}$",
                                    "description": "HMAC-SHA256 (hexadécimal) de l'identifiant "
                                    "normalisé, avec la clé de /api/v1/hashing-key.",
                                },
                                "kind": {"type": "string", "enum": list(hashing.KINDS)},
                                "declarations": {
                                    "type": "array",
                                    "maxItems": MAX_DECLARATIONS_PER_HOLDING,
                                    "items": {"type": "string", "minLength": 1},
                                    "description": "Codes de vos traitements publiés.",
                                },
                            },
                        },
                    }
                },
            }
        }
    },
}


def _count_response(description: str, *, removed: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "count": {"type": "integer", "description": "Éléments reçus et enregistrés."}
    }
    required = ["count"]
    if removed:
        properties["removed"] = {
            "type": "integer",
            "description": "Détentions précédentes supprimées car absentes de la liste.",
        }
        required.append("removed")
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


_IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Rejouer la même demande avec la même clé renvoie la première réponse.",
}

_WRITE_ERRORS: dict[str, Any] = {
    "409": {"description": "Un envoi avec la même clé, ou pour les mêmes personnes, est en cours"},
    "413": {"description": "Corps trop volumineux ou trop d'éléments"},
    "415": {"description": "Corps qui n'est pas du JSON"},
}


@operation(
    "GET",
    "/api/v1/hashing-key",
    summary="Obtenir la clé de hachage des identifiants",
    description="La clé secrète propre à votre organisme pour calculer les empreintes "
    "(HMAC-SHA256) des adresses et numéros des personnes dont vous détenez des données. Elle "
    "est créée au premier appel et ne change pas ensuite. Gardez-la secrète : quiconque la "
    "connaît peut tester si une adresse figure dans vos envois.",
    tags=["Détentions et cheminement"],
    responses={
        "200": {
            "description": "La clé et la règle de calcul",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["algorithm", "key", "normalisation"],
                        "properties": {
                            "algorithm": {"type": "string", "enum": [hashing.ALGORITHM]},
                            "key": {
                                "type": "string",
                                "description": "À utiliser telle quelle, en octets UTF-8.",
                            },
                            "normalisation": {"type": "string"},
                            "documentation": {"type": "string"},
                        },
                    }
                }
            },
        },
    },
)
async def hashing_key_endpoint(request: Request) -> Response:
    principal = _principal(request, "holdings")
    key = await signatory_hashing_key(
        signatory_id=principal.signatory_id,
        secret_key=request.app.state.settings.secret_key,
    )
    return JSONResponse(
        {
            "algorithm": hashing.ALGORITHM,
            "key": key,
            "normalisation": NORMALISATION_FR,
            "documentation": DOC_URL,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _holdings(request: Request, *, replace: bool) -> Response:
    principal = _principal(request, "holdings")
    body = await _read_json_body(request, MAX_HOLDINGS_BYTES)

    async def handler() -> Response:
        try:
            items = parse_holdings(_decode(body))
            result = await declare_holdings(
                signatory_id=principal.signatory_id, items=items, replace=replace
            )
        except PayloadRefused as exc:
            raise _refused(exc) from exc
        answer: dict[str, int] = {"count": result.count}
        if replace:
            answer["removed"] = result.removed
        return JSONResponse(answer)

    return await idempotent(request, principal, body, handler)


@operation(
    "PUT",
    "/api/v1/holdings",
    summary="Déclarer l'ensemble des personnes dont vous détenez des données",
    description="Remplace toute la liste précédente : les empreintes absentes sont supprimées, "
    "les autres créées ou mises à jour, en une seule transaction. Au plus 10 000 éléments par "
    "appel ; au-delà, envoyez le premier lot par PUT puis les suivants par POST.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body=_HOLDINGS_REQUEST,
    responses={"200": _count_response("Liste enregistrée", removed=True), **_WRITE_ERRORS},
)
async def put_holdings(request: Request) -> Response:
    return await _holdings(request, replace=True)


@operation(
    "POST",
    "/api/v1/holdings",
    summary="Ajouter ou mettre à jour des détentions, sans rien supprimer",
    description="Chaque élément décrit entièrement une personne : ses codes de traitement "
    "remplacent ceux déjà enregistrés pour cette empreinte.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body=_HOLDINGS_REQUEST,
    responses={"200": _count_response("Détentions enregistrées", removed=False), **_WRITE_ERRORS},
)
async def post_holdings(request: Request) -> Response:
    return await _holdings(request, replace=False)


@operation(
    "POST",
    "/api/v1/lineage-events",
    summary="Signaler des utilisations ou transmissions de données",
    description="Chaque événement dit qu'une catégorie de données d'une personne (connue par "
    "son empreinte) a servi à une finalité ou a été transmise à un destinataire, à une date "
    "passée. La personne le voit dans son espace. Au plus 1 000 événements par appel.",
    tags=["Détentions et cheminement"],
    parameters=[_IDEMPOTENCY_HEADER],
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["events"],
                    "additionalProperties": False,
                    "properties": {
                        "events": {
                            "type": "array",
                            "maxItems": MAX_EVENTS,
                            "items": {
                                "type": "object",
                                "required": ["subject_hash", "category", "occurred_on"],
                                "additionalProperties": False,
                                "properties": {
                                    "subject_hash": {
                                        "type": "string",
                                        "pattern": "^[0-9a-fA-F]{64}$",
                                    },
                                    "category": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": MAX_CATEGORY,
                                    },
                                    "purpose": {"type": "string", "maxLength": MAX_PURPOSE},
                                    "recipient": {"type": "string", "maxLength": MAX_RECIPIENT},
                                    "occurred_on": {
                                        "type": "string",
                                        "format": "date",
                                        "description": "AAAA-MM-JJ, aujourd'hui ou avant.",
                                    },
                                },
                            },
                        }
                    },
                }
            }
        },
    },
    responses={"200": _count_response("Événements enregistrés", removed=False), **_WRITE_ERRORS},
)
async def post_lineage_events(request: Request) -> Response:
    principal = _principal(request, "lineage")
    body = await _read_json_body(request, MAX_EVENTS_BYTES)

    async def handler() -> Response:
        try:
            events = parse_events(_decode(body), today=clock.local(clock.now()).date())
            count = await record_lineage(signatory_id=principal.signatory_id, events=events)
        except PayloadRefused as exc:
            raise _refused(exc) from exc
        return JSONResponse({"count": count})

    return await idempotent(request, principal, body, handler)


routes: list[BaseRoute] = [
    Route("/api/v1/hashing-key", hashing_key_endpoint, methods=["GET"], name="api_hashing_key"),
    Route("/api/v1/holdings", put_holdings, methods=["PUT"], name="api_holdings_put"),
    Route("/api/v1/holdings", post_holdings, methods=["POST"], name="api_holdings_post"),
    Route(
        "/api/v1/lineage-events",
        post_lineage_events,
        methods=["POST"],
        name="api_lineage_events",
    ),
]
