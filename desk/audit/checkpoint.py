"""Signed checkpoints of the global audit log: "the log had `count` actions up to `last_id`,
whose digest was `last_digest`", signed ES256 with the receipt keyring.

The chain alone shows an edited or removed row in the middle, not a log cut short at the end.
A checkpoint kept outside the desk (by the DPO, the ethics committee, an auditor) does: the
rows it covers must still be there, unchanged. Anyone can check its signature offline against
the published JWKS (/.well-known/jwks.json) with any JOSE library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey

from desk.audit.log import ChainHead, RecordProblem, verify_records
from desk.audit.models import AuditRecord
from desk.core import chain, clock
from desk.db import connected
from desk.receipts.keys import ALGORITHM, Keyring
from desk.settings import Settings

CHECKPOINT_TYPE = "desk-audit-checkpoint+jws"
LOG_NAME = "audit"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted; `reason_fr` says why."""

    def __init__(self, reason_fr: str) -> None:
        super().__init__(reason_fr)
        self.reason_fr = reason_fr


def sign_head(
    *, head: ChainHead, keyring: Keyring, issuer: str, at: datetime | None = None
) -> dict[str, Any]:
    """The checkpoint document: the head in clear, and the same signed as a compact JWS."""
    moment = at or clock.now()
    payload = {
        "iss": issuer,
        "log": LOG_NAME,
        "count": head.count,
        "last_id": head.last_id,
        "last_digest": head.last_digest,
        "time": moment.isoformat(),
        "iat": int(moment.timestamp()),
    }
    token = chain.sign_statement(keyring, payload, typ=CHECKPOINT_TYPE)
    return {
        "count": head.count,
        "last_id": head.last_id,
        "last_digest": head.last_digest,
        "time": payload["time"],
        "jws": token,
        "typ": CHECKPOINT_TYPE,
        "keys": f"{issuer.rstrip('/')}/.well-known/jwks.json",
    }


NOT_A_CHECKPOINT = "Ce fichier n'est pas un point de contrôle du journal."
_REASONS = {
    chain.NOT_OURS: NOT_A_CHECKPOINT,
    chain.UNKNOWN_KEY: "Point de contrôle signé par une clé que le guichet ne publie pas.",
    chain.BAD_SIGNATURE: "Signature invalide : ce point de contrôle a été modifié.",
}


def read_checkpoint(document: Any, *, jwks: dict[str, Any]) -> dict[str, Any]:
    """The signed payload of a checkpoint document, checked against `jwks`; else CheckpointError.

    Needs only the public keys: this is the offline check.
    """
    keys = [k for k in jwks.get("keys", []) if isinstance(k, dict)]

    def find_key(kid: Any) -> ECKey | None:
        match = next((k for k in keys if k.get("kid") == kid), None)
        return ECKey.import_key(match) if match is not None else None

    token = document.get("jws") if isinstance(document, dict) else None
    try:
        payload = chain.read_statement(
            token, typ=CHECKPOINT_TYPE, find_key=find_key, algorithm=ALGORITHM
        )
    except chain.StatementError as exc:
        raise CheckpointError(_REASONS[exc.reason]) from exc
    if not isinstance(payload, dict) or payload.get("log") != LOG_NAME:
        raise CheckpointError(NOT_A_CHECKPOINT)
    for name in ("count", "last_id", "last_digest"):
        if name in document and document[name] != payload.get(name):
            raise CheckpointError(
                "Les valeurs en clair du fichier ne sont pas celles qui ont été signées."
            )
    if not isinstance(payload.get("count"), int) or not isinstance(payload.get("last_id"), int):
        raise CheckpointError(NOT_A_CHECKPOINT)
    return payload


async def check_log_covers(payload: dict[str, Any]) -> list[RecordProblem]:
    """What the log lost or changed of what a (verified) checkpoint covers."""
    count, last_id = int(payload["count"]), int(payload["last_id"])
    if count == 0:
        return []
    row = await AuditRecord.filter(id=last_id).first()
    if row is None:
        return [
            RecordProblem(
                last_id,
                f"Le journal ne contient plus l'action n° {last_id}, la dernière couverte par "
                "le point de contrôle : il a été tronqué ou purgé.",
            )
        ]
    problems: list[RecordProblem] = []
    if row.digest != payload.get("last_digest"):
        problems.append(
            RecordProblem(
                last_id,
                "Cette action a changé depuis le point de contrôle : le journal a été réécrit.",
            )
        )
    kept = await AuditRecord.filter(id__lte=last_id).count()
    if kept != count:
        problems.append(
            RecordProblem(
                None,
                f"Le point de contrôle couvre {count} action(s) jusqu'au n° {last_id}, "
                f"le journal n'en contient plus que {kept}.",
            )
        )
    return problems


@dataclass(frozen=True)
class LogAudit:
    head: ChainHead
    problems: list[RecordProblem]


async def audit_log(*, checkpoint: dict[str, Any] | None, jwks: dict[str, Any]) -> LogAudit:
    head, problems = await verify_records()
    if checkpoint is not None:
        try:
            payload = read_checkpoint(checkpoint, jwks=jwks)
        except CheckpointError as exc:
            problems.append(RecordProblem(None, exc.reason_fr))
        else:
            problems += await check_log_covers(payload)
    return LogAudit(head=head, problems=problems)


def _load_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"Impossible de lire le point de contrôle {path} : {exc}") from exc
    if not isinstance(document, dict):
        raise CheckpointError(NOT_A_CHECKPOINT)
    return document


async def run_log_audit(*, settings: Settings, checkpoint_path: Path | None) -> int:
    """The audit-log part of `desk audit verify [--checkpoint FILE]`: 0 when it holds."""

    keyring = Keyring.load_or_create(settings.data_dir)
    document = None
    if checkpoint_path is not None:
        try:
            document = _load_document(checkpoint_path)
        except CheckpointError as exc:
            print(exc.reason_fr)
            return 1
    async with connected(settings.database_url):
        result = await audit_log(checkpoint=document, jwks=keyring.jwks())
    head = result.head
    print(
        f"Journal des actions : {head.count} action(s), dernière n° {head.last_id}, "
        f"empreinte {head.last_digest}."
    )
    if document is not None and not result.problems:
        print(
            f"Point de contrôle du {document.get('time')} : les {document.get('count')} "
            "action(s) qu'il couvre sont toujours là, inchangées."
        )
    if not result.problems:
        print("Aucune anomalie dans le journal des actions.")
        return 0
    print(f"{len(result.problems)} anomalie(s) dans le journal des actions :")
    for problem in result.problems:
        where = f"action n° {problem.record_id} : " if problem.record_id else ""
        print(f"  - {where}{problem.reason_fr}")
    return 1


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


async def run_checkpoint(*, settings: Settings, out: Path | None) -> int:
    """`desk audit checkpoint [--out FILE]`: sign the head of a chain that verifies."""

    keyring = Keyring.load_or_create(settings.data_dir)
    async with connected(settings.database_url):
        head, problems = await verify_records()
    if problems:
        print(
            f"Le journal des actions a {len(problems)} anomalie(s) : pas de point de contrôle "
            "signé. Lancez `desk audit verify` pour les voir.",
        )
        return 1
    document = sign_head(head=head, keyring=keyring, issuer=settings.base_url.rstrip("/"))
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        print(text, end="")
    else:
        _write(out, text)
        print(f"Point de contrôle écrit dans {out} ({head.count} action(s)).")
    return 0
