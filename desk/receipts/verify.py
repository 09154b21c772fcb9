"""Checking receipts: one token (pasted on /verifier, opened from a QR code), and the old chain.

Verification never trusts the token: it is decoded by hand first, so every way a text can
fail to be a receipt gets its own plain French reason, and nothing here raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey

from desk.core.chain import GENESIS
from desk.core.translatable import N_
from desk.receipts.keys import ALGORITHM, RECEIPT_TYPE, Keyring
from desk.receipts.log import inclusion_of, leaf_of
from desk.receipts.models import Receipt
from desk.registry.services import legal_basis_label

log = logging.getLogger("desk.receipts")

# A real receipt is a couple of kilobytes; anything far bigger is not one.
MAX_TOKEN_CHARS = 20_000
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_WHITESPACE = re.compile(r"\s+")
REQUIRED_CLAIMS = ("jti", "iat", "request", "signatory", "subject", "kind", "status", "state")

REASON_EMPTY = N_("Collez le texte complet du reçu dans le champ, puis lancez la vérification.")
REASON_TOO_LONG = N_(
    "Ce texte est beaucoup trop long pour être un reçu du guichet (un reçu fait quelques milliers "
    "de caractères au plus)."
)
REASON_SHAPE = N_(
    "Ce texte n'est pas un reçu signé : un reçu est fait de trois parties de lettres et de "
    "chiffres séparées par deux points. Vérifiez qu'il a été copié en entier, sans rien ajouter."
)
REASON_HEADER = N_(
    "Le début du reçu (l'en-tête, qui indique comment il a été signé) est illisible : le texte a "
    "sans doute été tronqué ou modifié."
)
REASON_NONE_ALG = N_(
    "Ce reçu n'est pas signé (il déclare l'algorithme « none ») : il n'a aucune valeur. "
    "Les reçus du guichet sont toujours signés."
)
REASON_ALG = N_(
    "Ce reçu n'utilise pas la méthode de signature du guichet (ES256, une signature sur "
    "courbe elliptique) : il ne vient pas du guichet."
)
REASON_TYPE = N_("Ce texte est un jeton signé, mais pas un reçu du guichet des données.")
REASON_UNKNOWN_KEY = N_(
    "Ce reçu a été signé avec une clé que le guichet ne publie pas : il n'a pas été émis par "
    "le guichet, ou il a été fabriqué."
)
REASON_SIGNATURE = N_(
    "La signature ne correspond pas au contenu : le reçu a été modifié après sa signature, "
    "ou il n'a pas été signé par le guichet. Ne vous fiez pas à son contenu."
)
REASON_PAYLOAD = N_(
    "La signature est correcte mais le contenu du reçu est illisible ou incomplet : ce n'est pas "
    "un reçu émis par ce guichet."
)


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason_fr: str | None
    payload: dict[str, Any] | None
    kid: str | None
    digest: str | None
    # The desk holds this receipt: found by what was signed, so one verdict per statement
    # whichever valid encoding of the signature was pasted.
    issued_here: bool = False
    # Its inclusion proof under the latest signed tree head verifies.
    in_log: bool = False
    # Issued, not yet appended by the sequencer (a matter of seconds while the worker runs).
    log_pending: bool = False
    receipt_id: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None


def refused(reason: str, *, kid: str | None = None) -> Verification:
    return Verification(valid=False, reason_fr=reason, payload=None, kid=kid, digest=None)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def normalise(token: str) -> str:
    """People paste receipts from printed pages and emails: line breaks and spaces are noise."""
    return _WHITESPACE.sub("", token or "")


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _key_for(keyring: Keyring, kid: str) -> ECKey | None:
    for key in keyring.published:
        if str(key.kid) == kid:
            return key
    return None


def check_signature(*, token: str, keyring: Keyring) -> Verification:
    """Everything that needs no database: shape, header, key, signature, payload."""
    try:
        return _check_signature(normalise(token) if isinstance(token, str) else "", keyring)
    except Exception:  # noqa: BLE001 — a verifier answers "invalid", it never crashes on input
        log.exception("unexpected error while verifying a receipt")
        return refused(REASON_SIGNATURE)


def _check_signature(token: str, keyring: Keyring) -> Verification:
    if not token:
        return refused(REASON_EMPTY)
    if len(token) > MAX_TOKEN_CHARS:
        return refused(REASON_TOO_LONG)
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL.match(p) for p in parts) or not parts[0] or not parts[1]:
        return refused(REASON_SHAPE)
    try:
        header = json.loads(_b64decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return refused(REASON_HEADER)
    if not isinstance(header, dict):
        return refused(REASON_HEADER)
    alg = header.get("alg")
    kid = header["kid"][:100] if isinstance(header.get("kid"), str) else None
    if isinstance(alg, str) and alg.lower() == "none":
        return refused(REASON_NONE_ALG, kid=kid)
    if alg != ALGORITHM:
        return refused(REASON_ALG, kid=kid)
    if header.get("typ") != RECEIPT_TYPE:
        return refused(REASON_TYPE, kid=kid)
    if set(header) - {"alg", "kid", "typ"}:
        # We never set other parameters ("crit", "b64", "jku"...): refusing them avoids surprises.
        return refused(REASON_HEADER, kid=kid)
    key = _key_for(keyring, kid) if kid else None
    if key is None:
        return refused(REASON_UNKNOWN_KEY, kid=kid)
    if not parts[2]:
        return refused(REASON_SIGNATURE, kid=kid)
    try:
        obj = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    except Exception:  # noqa: BLE001 — joserfc raises several kinds; all mean "not signed by us"
        return refused(REASON_SIGNATURE, kid=kid)
    try:
        payload = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError):
        return refused(REASON_PAYLOAD, kid=kid)
    if not isinstance(payload, dict) or any(claim not in payload for claim in REQUIRED_CLAIMS):
        return refused(REASON_PAYLOAD, kid=kid)
    return Verification(
        valid=True, reason_fr=None, payload=payload, kid=kid, digest=digest_of(token)
    )


async def verify_receipt(*, token: str, keyring: Keyring) -> Verification:
    """Check a receipt's signature, then whether the desk issued it and where the log holds it."""
    result = check_signature(token=token, keyring=keyring)
    if not result.valid or result.digest is None or result.payload is None:
        return result
    clean = normalise(token)
    try:
        row = await Receipt.filter(leaf_hash=leaf_of(clean).hex()).first()
        if row is None:
            # An old receipt the sequencer has not imported yet has no leaf hash.
            row = await Receipt.filter(digest=result.digest, leaf_hash__isnull=True).first()
        if row is None or result.payload.get("jti") != row.id:
            return result
        inclusion = await inclusion_of(receipt=row, keyring=keyring)
    except Exception:  # noqa: BLE001 — the signature answer stands even if the lookup fails
        log.exception("receipt log lookup failed")
        return result
    return Verification(
        valid=True,
        reason_fr=None,
        payload=result.payload,
        kid=result.kid,
        digest=result.digest,
        issued_here=True,
        in_log=inclusion is not None and inclusion.verified,
        log_pending=inclusion is None,
        receipt_id=row.id,
        leaf_index=inclusion.leaf_index if inclusion else None,
        tree_size=int(inclusion.head.size) if inclusion else None,
    )


@dataclass(frozen=True)
class ChainProblem:
    sequence: int
    receipt_id: str
    reason_fr: str


@dataclass
class ChainReport:
    count: int = 0
    head: str = GENESIS
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_chain(*, keyring: Keyring, batch: int = 500) -> ChainReport:
    """Walk the receipts of the old chain in sequence order: numbering, digest, signature, prev."""
    report = ChainReport()
    expected_sequence = 1
    previous_digest = GENESIS
    last_sequence = 0
    while True:
        rows = await Receipt.filter(sequence__gt=last_sequence).order_by("sequence").limit(batch)
        if not rows:
            break
        for row in rows:
            number = int(row.sequence or 0)
            problems = _check_row(row, keyring, expected_sequence, previous_digest)
            report.problems += [ChainProblem(number, row.id, p) for p in problems]
            report.count += 1
            previous_digest = digest_of(row.jws) if row.jws.isascii() else row.digest
            expected_sequence = number + 1
            last_sequence = number
    report.head = previous_digest
    return report


def _check_row(row: Receipt, keyring: Keyring, expected_sequence: int, previous: str) -> list[str]:
    problems: list[str] = []
    if row.sequence != expected_sequence:
        problems.append(
            f"Numérotation interrompue : le reçu n° {expected_sequence} manque "
            f"avant le n° {row.sequence}."
        )
    token = row.jws
    if not token.isascii() or digest_of(token) != row.digest:
        problems.append("L'empreinte enregistrée ne correspond pas au reçu : il a été modifié.")
    result = check_signature(token=token, keyring=keyring)
    if not result.valid or result.payload is None:
        problems.append(f"Signature invalide : {result.reason_fr}")
        return problems
    if result.payload.get("jti") != row.id:
        problems.append("Le reçu signé ne porte pas l'identifiant de sa ligne.")
    if result.payload.get("prev") != previous:
        problems.append(
            "Lien rompu : ce reçu ne désigne pas le reçu qui le précède dans la chaîne."
        )
    return problems


# --- Wording for people: what a receipt says, in plain French ---------------------------------

KIND_FR = {
    "discovery": N_("Savoir si des données sont détenues (article 15 du RGPD)"),
    "access": N_("Obtenir une copie de ses données (articles 15 et 20 du RGPD)"),
    "erasure": N_("Faire effacer ses données (article 17 du RGPD)"),
    "objection": N_("S'opposer à l'utilisation de ses données (article 21 du RGPD)"),
}

STATUS_FR = {
    "RequestFulfilled": N_("demande satisfaite"),
    "RequestRejected": N_("demande refusée"),
    "RequestAcknowledged": N_("demande reçue par le signataire"),
    "RequestActionDelayed": N_("délai de réponse prolongé"),
    "RequestInitiated": N_("demande transmise"),
    "RequestRequiresAction": N_("en attente d'une réponse de la personne"),
    "RequestUnfulfilled": N_("demande non aboutie"),
}

DENIAL_FR = {
    "no_match": N_(
        "Le signataire n'a retrouvé personne correspondant aux informations transmises."
    ),
    "insuf_verification": N_("Le signataire n'a pas pu vérifier assez l'identité de la personne."),
    "claim_not_covered": N_("Le droit demandé ne s'applique pas à ces données."),
    "legal_obligation": N_("Une obligation légale impose au signataire de garder ces données."),
    "other": N_("Autre motif, précisé par le signataire à la personne concernée."),
}

ERASURE_RESULT_FR = {
    "erased": N_("Les données ont été effacées."),
    "partial": N_(
        "Une partie des données a été effacée ; le reste est gardé pour une raison légale."
    ),
    "nothing_held": (
        N_(
            "Le signataire ne détenait aucune donnée sur cette personne : "
            "il n'y avait rien à effacer."
        )
    ),
}

OBJECTION_RESULT_FR = {
    "stopped": N_(
        "Le signataire a cessé d'utiliser les données de cette personne pour ce traitement."
    ),
    "nothing_held": N_("Le signataire ne détenait aucune donnée sur cette personne."),
}


@dataclass(frozen=True)
class ReceiptView:
    """A receipt's payload, read for people. Built only from a payload whose signature is valid."""

    title: str
    kind: str
    kind_label: str
    state: str
    status: str
    status_label: str
    summary: str
    reference: str
    receipt_id: str
    signatory_name: str
    signatory_slug: str
    subject: str
    erased: list[str]
    kept: list[dict[str, str]]
    recipients: list[str]
    declarations: list[str]
    categories: list[str]
    denial_reason: str | None
    denial_label: str | None
    note: str
    issued_at: datetime | None
    received_at: datetime | None
    completed_at: datetime | None
    prev: str
    # The one purpose (declaration) an objection or a consent withdrawal named; "" for all.
    scope_title: str = ""
    consent_withdrawal: bool = False


def _text(value: Any, limit: int = 500) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return str(value)[:limit]


def _texts(value: Any) -> list[str]:
    return [_text(v, 200) for v in _list(value) if isinstance(v, str)][:100]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _when(value: Any) -> datetime | None:
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def title_for(kind: str, state: str, outcome: dict[str, Any]) -> str:
    if state == "denied":
        return N_("Reçu de refus d'une demande")
    result = outcome.get("result")
    if kind == "erasure":
        if result == "partial":
            return N_("Reçu de suppression partielle de données")
        if result == "nothing_held":
            return N_("Reçu de demande de suppression : aucune donnée détenue")
        return N_("Reçu de suppression de données")
    if kind == "access":
        if outcome.get("holds_data") is False:
            return N_("Reçu de demande de copie : aucune donnée détenue")
        return N_("Reçu de communication d'une copie des données")
    if kind == "discovery":
        return N_("Reçu de réponse : données détenues ou non")
    if kind == "objection":
        if result == "nothing_held":
            return N_("Reçu d'opposition : aucune donnée détenue")
        return N_("Reçu d'opposition : utilisation des données arrêtée")
    return N_("Reçu de réponse à une demande")


def _summary(kind: str, state: str, outcome: dict[str, Any]) -> str:
    if state == "denied":
        return N_("Le signataire a refusé la demande, pour le motif indiqué ci-dessous.")
    if kind == "erasure":
        default = N_("Le signataire a répondu à la demande d'effacement.")
        return ERASURE_RESULT_FR.get(_text(outcome.get("result")), default)
    if kind == "objection":
        default = N_("Le signataire a répondu à l'opposition.")
        return OBJECTION_RESULT_FR.get(_text(outcome.get("result")), default)
    if kind == "access":
        if outcome.get("holds_data") is False:
            return N_("Le signataire ne détenait aucune donnée sur cette personne.")
        return N_("Le signataire a transmis une copie des données à la personne concernée.")
    if kind == "discovery":
        if outcome.get("holds_data") is True:
            return N_("Le signataire détient des données sur cette personne (détail ci-dessous).")
        if outcome.get("holds_data") is False:
            return N_("Le signataire ne détient aucune donnée sur cette personne.")
    return N_("Le signataire a répondu à la demande.")


def describe(payload: dict[str, Any]) -> ReceiptView:
    """Plain-French reading of a receipt; tolerant of missing fields, never raises on odd values."""
    outcome = _dict(payload.get("outcome"))
    signatory = _dict(payload.get("signatory"))
    kind = _text(payload.get("kind"))
    state = _text(payload.get("state"))
    status = _text(payload.get("status"))
    denial = _text(payload.get("denial_reason")) or None
    kept = [
        {
            "category": _text(item.get("category"), 200),
            # A partner may give the GDPR code ("legal_obligation"): people read its name.
            "legal_basis": legal_basis_label(_text(item.get("legal_basis"), 300)),
            "retention": _text(item.get("retention"), 200),
        }
        for item in map(_dict, _list(payload.get("kept")))
        if item
    ]
    return ReceiptView(
        title=title_for(kind, state, outcome),
        kind=kind,
        kind_label=KIND_FR.get(kind, "Demande"),
        state=state,
        status=status,
        status_label=STATUS_FR.get(status, ""),
        summary=_summary(kind, state, outcome),
        reference=_text(payload.get("request"), 64),
        receipt_id=_text(payload.get("jti"), 64),
        signatory_name=_text(signatory.get("name"), 200),
        signatory_slug=_text(signatory.get("slug"), 64),
        subject=_text(payload.get("subject"), 64),
        erased=_texts(payload.get("erased_categories")),
        kept=kept,
        recipients=_texts(payload.get("recipients_notified")),
        declarations=_texts(outcome.get("declarations")),
        categories=_texts(outcome.get("categories")),
        denial_reason=denial,
        denial_label=DENIAL_FR.get(denial, DENIAL_FR["other"]) if denial else None,
        note=_text(outcome.get("note"), 2000),
        issued_at=_when(payload.get("iat")),
        received_at=_when(payload.get("received_at")),
        completed_at=_when(payload.get("completed_at")),
        prev=_text(payload.get("prev"), 64),
        scope_title=_text(_dict(payload.get("scope")).get("title"), 200),
        consent_withdrawal=_dict(payload.get("scope")).get("ground") == "consent_withdrawal",
    )
