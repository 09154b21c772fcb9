"""The receipts' transparency log: a signed checkpoint (size, head hash, time) per receipt.

Each receipt names the digest of the one before it ("prev"), so the receipts form a hash chain.
A checkpoint is the desk's signed statement "the chain has `size` receipts and ends with
`head`": once published, the desk cannot quietly rewrite or drop an earlier receipt without the
checkpoints (kept by anyone who downloaded them) contradicting the chain.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from tortoise.backends.base.client import BaseDBAsyncClient

from desk import clock
from desk.charter.models import TransparencyCheckpoint
from desk.receipts.keys import ALGORITHM, Keyring
from desk.receipts.models import Receipt
from desk.requests.audit import verify_events
from desk.settings import Settings

log = logging.getLogger("desk.charter.transparency")

CHECKPOINT_TYPE = "desk-checkpoint+jws"
# Same as desk.receipts.services.GENESIS (not imported: that module imports this one).
GENESIS = "0" * 64
CHAIN_PAGE_MAX = 500


def sign_checkpoint(*, keyring: Keyring, payload: dict[str, Any]) -> str:
    header = {"alg": ALGORITHM, "kid": keyring.kid, "typ": CHECKPOINT_TYPE}
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return jws.serialize_compact(header, body, keyring.signing_key, algorithms=[ALGORITHM])


async def record_checkpoint(
    *, keyring: Keyring, issuer: str, size: int, head: str, connection: BaseDBAsyncClient
) -> TransparencyCheckpoint:
    """Sign and store the chain's new head, in the caller's transaction (the receipt's)."""
    now = clock.now()
    payload = {"iss": issuer, "size": size, "head": head, "iat": int(now.timestamp())}
    token = sign_checkpoint(keyring=keyring, payload=payload)
    return await TransparencyCheckpoint.create(
        size=size, head=head, jws=token, created_at=now, using_db=connection
    )


async def latest_checkpoint() -> TransparencyCheckpoint | None:
    return await TransparencyCheckpoint.all().order_by("-size", "-id").first()


def checkpoint_document(
    checkpoint: TransparencyCheckpoint | None, *, base_url: str
) -> dict[str, Any]:
    """What /transparence/checkpoint.json publishes."""
    if checkpoint is None:
        return {
            "size": 0,
            "head": GENESIS,
            "time": None,
            "jws": None,
            "keys": f"{base_url}/.well-known/jwks.json",
            "note": "Aucun reçu n'a encore été émis : la chaîne est vide.",
        }
    return {
        "size": checkpoint.size,
        "head": checkpoint.head,
        "time": checkpoint.created_at.isoformat(),
        "jws": checkpoint.jws,
        "typ": CHECKPOINT_TYPE,
        "keys": f"{base_url}/.well-known/jwks.json",
        "chain": f"{base_url}/transparence/chaine.json?from=1",
    }


@dataclass(frozen=True)
class ChainPage:
    entries: list[dict[str, Any]]
    next_from: int | None


async def chain_page(*, start: int, limit: int = CHAIN_PAGE_MAX) -> ChainPage:
    """Receipts from sequence `start`: digest and prev link, enough to recompute the chain."""
    limit = max(1, min(limit, CHAIN_PAGE_MAX))
    rows = (
        await Receipt.filter(sequence__gte=start)
        .order_by("sequence")
        .limit(limit + 1)
        .values_list("sequence", "id", "digest", "jws", "issued_at")
    )
    entries = []
    for sequence, receipt_id, digest, token, issued_at in rows[:limit]:
        entries.append(
            {
                "sequence": sequence,
                "receipt": receipt_id,
                "digest": digest,
                "prev": _claim(str(token), "prev"),
                "issued_at": issued_at.isoformat(),
                "jws": token,
            }
        )
    next_from = int(rows[limit][0]) if len(rows) > limit else None
    return ChainPage(entries=entries, next_from=next_from)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _claim(token: str, name: str) -> Any:
    try:
        payload = json.loads(_b64decode(token.split(".")[1]))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return payload.get(name) if isinstance(payload, dict) else None


def read_checkpoint(*, token: str, keyring: Keyring) -> dict[str, Any] | None:
    """The payload of a checkpoint signed by one of the desk's published keys, else None."""
    try:
        header = json.loads(_b64decode(token.split(".")[0]))
        if not isinstance(header, dict) or header.get("typ") != CHECKPOINT_TYPE:
            return None
        key = next((k for k in keyring.published if str(k.kid) == header.get("kid")), None)
        if key is None:
            return None
        obj = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
        payload = json.loads(obj.payload)
    except Exception:  # noqa: BLE001 — any failure means "not a valid checkpoint"
        return None
    return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class Finding:
    where: str
    message_fr: str


@dataclass
class AuditReport:
    receipts: int = 0
    head: str = GENESIS
    checkpoints: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


async def audit(*, keyring: Keyring) -> AuditReport:
    """Recompute the receipts chain, then check every checkpoint against it."""
    from desk.receipts.verify import digest_of, verify_chain  # verify imports services → here

    chain = await verify_chain(keyring=keyring)
    report = AuditReport(receipts=chain.count, head=chain.head)
    report.findings += [
        Finding(f"reçu n° {p.sequence} ({p.receipt_id})", p.reason_fr) for p in chain.problems
    ]
    digests = {
        int(seq): digest_of(str(token)) if str(token).isascii() else ""
        for seq, token in await Receipt.all().values_list("sequence", "jws")
    }
    for checkpoint in await TransparencyCheckpoint.all().order_by("size", "id"):
        report.checkpoints += 1
        where = f"point de contrôle n° {checkpoint.id} (taille {checkpoint.size})"
        payload = read_checkpoint(token=checkpoint.jws, keyring=keyring)
        if payload is None:
            report.findings.append(
                Finding(where, "Signature invalide : ce point de contrôle a été modifié.")
            )
            continue
        if payload.get("size") != checkpoint.size or payload.get("head") != checkpoint.head:
            report.findings.append(
                Finding(where, "La ligne enregistrée ne correspond pas au point de contrôle signé.")
            )
        size, head = payload.get("size"), payload.get("head")
        if not isinstance(size, int) or size < 1 or size not in digests:
            report.findings.append(
                Finding(
                    where, "La chaîne ne contient plus le reçu désigné par ce point de contrôle."
                )
            )
        elif digests[size] != head:
            report.findings.append(
                Finding(
                    where,
                    "Le reçu désigné par ce point de contrôle a changé depuis sa signature : "
                    "la chaîne a été réécrite.",
                )
            )
    latest = await latest_checkpoint()
    if latest is not None and latest.size < report.receipts:
        report.findings.append(
            Finding(
                "points de contrôle",
                f"Les reçus après le n° {latest.size} ne sont couverts par aucun point "
                "de contrôle.",
            )
        )
    if report.checkpoints == 0 and report.receipts:
        report.findings.append(
            Finding("points de contrôle", "Des reçus existent mais aucun point de contrôle signé.")
        )
    report.events, trail_problems = await verify_events()
    report.findings += [
        Finding(
            f"journal de l'envoi n° {p.delivery_id}"
            + (f", événement n° {p.event_id}" if p.event_id else ""),
            p.reason_fr,
        )
        for p in trail_problems
    ]
    return report


async def run_audit(*, settings: Settings) -> int:
    """`desk audit verify`: print findings; 0 when the chain and checkpoints hold, 1 on a break."""
    from desk.db import connected

    keyring = Keyring.load_or_create(settings.data_dir)
    async with connected(settings.database_url):
        report = await audit(keyring=keyring)
    print(
        f"Chaîne des reçus : {report.receipts} reçu(s), dernière empreinte {report.head}.\n"
        f"Points de contrôle signés : {report.checkpoints}.\n"
        f"Journal des envois : {report.events} événement(s) vérifié(s)."
    )
    if report.ok:
        print("Aucune anomalie : la chaîne et ses points de contrôle concordent.")
        return 0
    print(f"{len(report.findings)} anomalie(s) :")
    for finding in report.findings:
        print(f"  - {finding.where} : {finding.message_fr}")
    return 1
