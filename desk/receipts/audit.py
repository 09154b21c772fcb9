"""`desk audit verify` for receipts: the Merkle log recomputed, the old chain, the trails.

The log is rebuilt from the receipts themselves: every leaf hash from its token, every stored
subtree and every signed tree head from those leaves. A receipt edited, removed or moved, a
node or a head rewritten, a head not signed by the desk: each is named, in French.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desk.core import merkle
from desk.db import connected
from desk.receipts.keys import Keyring
from desk.receipts.log import LOG_NAME, leaf_of, read_nodes, read_tree_head
from desk.receipts.models import Receipt, TransparencyCheckpoint, TreeHead
from desk.receipts.verify import check_signature, digest_of, verify_chain
from desk.requests.audit import verify_events
from desk.settings import Settings


@dataclass(frozen=True)
class Finding:
    where: str
    message_fr: str


@dataclass
class AuditReport:
    leaves: int = 0
    root_hash: str = merkle.EMPTY_ROOT.hex()
    heads: int = 0
    waiting: int = 0
    legacy_receipts: int = 0
    legacy_checkpoints: int = 0
    events: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def _leaf_problems(row: Receipt, expected_index: int, keyring: Keyring) -> list[str]:
    problems: list[str] = []
    if row.leaf_index != expected_index:
        problems.append(
            f"Position interrompue : la feuille n° {expected_index} manque avant la "
            f"n° {row.leaf_index}."
        )
    if not row.jws.isascii() or leaf_of(row.jws).hex() != row.leaf_hash:
        problems.append(
            "L'empreinte inscrite au journal ne correspond plus au reçu : il a été modifié."
        )
        return problems
    result = check_signature(token=row.jws, keyring=keyring)
    if not result.valid or result.payload is None:
        problems.append(f"Signature invalide : {result.reason_fr}")
    elif result.payload.get("jti") != row.id:
        problems.append("Le reçu signé ne porte pas l'identifiant de sa ligne.")
    return problems


async def verify_log(*, keyring: Keyring, report: AuditReport, batch: int = 1000) -> None:
    """Recompute the tree leaf by leaf; compare stored nodes and every signed head."""
    heads = await TreeHead.all().order_by("size")
    by_size = {int(h.size): h for h in heads}
    report.heads = len(heads)
    tree = merkle.CompactRange()
    last_index = -1
    while True:
        rows = await Receipt.filter(leaf_index__gt=last_index).order_by("leaf_index").limit(batch)
        if not rows:
            break
        closed: dict[merkle.NodeId, bytes] = {}
        for row in rows:
            where = f"reçu {row.id} (feuille n° {row.leaf_index})"
            problems = _leaf_problems(row, tree.size, keyring)
            report.findings += [Finding(where, p) for p in problems]
            closed.update(tree.append(bytes.fromhex(row.leaf_hash or "00" * 32)))
            head = by_size.get(tree.size)
            if head is not None and head.root_hash != tree.root().hex():
                report.findings.append(
                    Finding(
                        f"tête signée de taille {head.size}",
                        "La racine signée ne correspond pas aux reçus : le journal a été réécrit.",
                    )
                )
        last_index = int(rows[-1].leaf_index or 0)
        stored = await read_nodes(list(closed))
        for node_id, expected in closed.items():
            if stored.get(node_id) != expected:
                report.findings.append(
                    Finding(
                        f"nœud ({node_id[0]}, {node_id[1]}) du journal",
                        "Ce nœud manque ou a été modifié : "
                        "les preuves qui le citent seraient fausses.",
                    )
                )
    report.leaves, report.root_hash = tree.size, tree.root().hex()
    for head in heads:
        where = f"tête signée de taille {head.size}"
        payload = read_tree_head(token=head.jws, keyring=keyring)
        if payload is None:
            report.findings.append(
                Finding(where, "Signature invalide : cette tête a été modifiée.")
            )
        elif payload.get("size") != head.size or payload.get("root_hash") != head.root_hash:
            report.findings.append(
                Finding(where, "La ligne enregistrée ne correspond pas à la tête signée.")
            )
        elif payload.get("log") != LOG_NAME:
            report.findings.append(
                Finding(where, "Cette tête n'est pas celle du journal des reçus.")
            )
        if head.size > tree.size:
            report.findings.append(
                Finding(
                    where,
                    f"Cette tête couvre {head.size} reçus ; "
                    f"le journal n'en a plus que {tree.size}.",
                )
            )
    if heads and heads[-1].size < tree.size:
        report.findings.append(
            Finding(
                "journal des reçus",
                f"Les feuilles après la n° {heads[-1].size - 1} ne sont couvertes "
                "par aucune tête signée.",
            )
        )
    report.waiting = await Receipt.filter(leaf_index__isnull=True).count()


async def verify_legacy(*, keyring: Keyring, report: AuditReport) -> None:
    """Receipts issued before the Merkle log: their hash chain and its signed checkpoints."""
    chain = await verify_chain(keyring=keyring)
    report.legacy_receipts = chain.count
    report.findings += [
        Finding(f"ancien reçu n° {p.sequence} ({p.receipt_id})", p.reason_fr)
        for p in chain.problems
    ]
    digests = {
        int(seq): digest_of(str(token)) if str(token).isascii() else ""
        for seq, token in await Receipt.filter(sequence__isnull=False).values_list(
            "sequence", "jws"
        )
    }
    for checkpoint in await TransparencyCheckpoint.all().order_by("size", "id"):
        report.legacy_checkpoints += 1
        where = f"ancien point de contrôle n° {checkpoint.id} (taille {checkpoint.size})"
        if digests.get(int(checkpoint.size)) != checkpoint.head:
            report.findings.append(
                Finding(where, "La chaîne ne contient plus, inchangé, le reçu qu'il désigne.")
            )


async def audit(*, keyring: Keyring) -> AuditReport:
    report = AuditReport()
    await verify_log(keyring=keyring, report=report)
    await verify_legacy(keyring=keyring, report=report)
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
    """The receipts part of `desk audit verify`: 0 when everything holds, 1 on a break."""
    keyring = Keyring.load_or_create(settings.data_dir)
    async with connected(settings.database_url):
        report = await audit(keyring=keyring)
    print(
        f"Journal des reçus : {report.leaves} reçu(s), racine {report.root_hash}, "
        f"{report.heads} tête(s) signée(s) vérifiée(s).\n"
        f"Reçus en attente d'inscription : {report.waiting}.\n"
        f"Ancienne chaîne : {report.legacy_receipts} reçu(s), "
        f"{report.legacy_checkpoints} point(s) de contrôle.\n"
        f"Journal des envois : {report.events} événement(s) vérifié(s)."
    )
    if report.ok:
        print("Aucune anomalie : le journal, ses têtes signées et les reçus concordent.")
        return 0
    print(f"{len(report.findings)} anomalie(s) :")
    for finding in report.findings:
        print(f"  - {finding.where} : {finding.message_fr}")
    return 1
