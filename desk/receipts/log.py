"""The public receipt log: a Merkle tree in the manner of Certificate Transparency (RFC 9162).

Leaves are receipts, hashed over what was signed (never published: a leaf hash tells nothing
about a request). One sequencer at a time appends the receipts not yet logged, in a batch,
stores the complete subtrees they close, and signs a tree head ("the log has `size` leaves
and this root"). Anyone holding a receipt can ask for its inclusion proof under a signed head;
anyone can ask for the consistency proof between two heads, showing the log only grew.

Answers never wait for this: a receipt is committed with its answer, and its outbox job
(`APPEND_JOB`) calls the sequencer afterwards (desk.receipts.services).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from joserfc.jwk import ECKey
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from desk.core import chain, clock, merkle
from desk.db_rows import placeholder
from desk.receipts.keys import ALGORITHM, Keyring, signing_input
from desk.receipts.models import LogNode, Receipt, TreeHead

if TYPE_CHECKING:
    from desk.outbox.models import OutboxJob

log = logging.getLogger("desk.receipts.log")


class Signer(Protocol):
    """What the sequencer needs from the worker's runtime (desk.runtime.Runtime): the keys
    that sign tree heads, and the desk's address. Named here so receipts import no runtime."""

    @property
    def keyring(self) -> Keyring: ...

    @property
    def issuer(self) -> str: ...


LOG_NAME = "desk-receipts"
TREE_HEAD_TYPE = "desk-tree-head+jws"
APPEND_JOB = "receipts.log_append"
BATCH = 1000
# pg_advisory_xact_lock key held by the sequencer: one appender at a time, answers untouched.
_SEQUENCER_LOCK = 9_162_2026


def leaf_of(token: str) -> bytes:
    """The receipt's leaf hash: RFC 9162's over the JWS signing input ("header.payload")."""
    return merkle.leaf_hash(signing_input(token))


def sign_tree_head(*, keyring: Keyring, issuer: str, size: int, root: bytes) -> str:
    now = clock.now()
    payload = {
        "iss": issuer,
        "log": LOG_NAME,
        "size": size,
        "root_hash": root.hex(),
        "iat": int(now.timestamp()),
        "time": now.isoformat(),
    }
    return chain.sign_statement(keyring, payload, typ=TREE_HEAD_TYPE, ensure_ascii=True)


def read_tree_head(*, token: str, keyring: Keyring) -> dict[str, Any] | None:
    """The payload of a tree head signed by one of the desk's published keys, else None."""

    def find_key(kid: Any) -> ECKey | None:
        return next((k for k in keyring.published if str(k.kid) == kid), None)

    try:
        payload = chain.read_statement(
            token, typ=TREE_HEAD_TYPE, find_key=find_key, algorithm=ALGORITHM
        )
    except chain.StatementError:
        return None
    if not isinstance(payload, dict) or payload.get("log") != LOG_NAME:
        return None
    return payload


# --- The sequencer -----------------------------------------------------------------------------


async def _pending(conn: BaseDBAsyncClient, batch: int) -> list[Receipt]:
    # Receipts of the old hash chain first, in their chain's order: they are imported once.
    older = (
        await Receipt.filter(leaf_index__isnull=True, sequence__isnull=False)
        .using_db(conn)
        .order_by("sequence")
        .limit(batch)
    )
    if len(older) >= batch:
        return older
    newer = (
        await Receipt.filter(leaf_index__isnull=True, sequence__isnull=True)
        .using_db(conn)
        .order_by("issued_at", "id")
        .limit(batch - len(older))
    )
    return older + newer


async def read_nodes(
    ids: list[merkle.NodeId], *, connection: BaseDBAsyncClient | None = None
) -> dict[merkle.NodeId, bytes]:
    """The stored nodes `ids`, in one query."""
    if not ids:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, position in ids:
        by_level.setdefault(level, []).append(position)
    where = Q(*(Q(level=lv, position__in=ps) for lv, ps in by_level.items()), join_type="OR")
    rows = await LogNode.filter(where).using_db(connection).values_list("level", "position", "hash")
    return {(int(lv), int(pos)): bytes.fromhex(str(h)) for lv, pos, h in rows}


async def append_pending(*, keyring: Keyring, issuer: str, batch: int = BATCH) -> int:
    """Append up to `batch` receipts not yet logged and sign the new head; how many were added."""
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # One sequencer at a time; on SQLite, BEGIN IMMEDIATE already serialises writers.
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_SEQUENCER_LOCK])
        head = await TreeHead.all().using_db(conn).order_by("-size").first()
        size = int(head.size) if head is not None else 0
        pending = await _pending(conn, batch)
        if not pending:
            return 0
        edge_ids = merkle.CompactRange.edge_ids(size)
        edge = await read_nodes(edge_ids, connection=conn)
        tree = merkle.CompactRange(size, [edge[i] for i in edge_ids])
        closed: list[tuple[merkle.NodeId, bytes]] = []
        for receipt in pending:
            leaf = leaf_of(receipt.jws)
            receipt.leaf_hash = leaf.hex()
            receipt.leaf_index = tree.size
            closed += tree.append(leaf)
        await LogNode.bulk_create(
            [LogNode(level=lv, position=pos, hash=h.hex()) for (lv, pos), h in closed],
            using_db=conn,
        )
        # One statement run per receipt (bulk_update built a CASE per row in Python).
        marks = [placeholder(conn, n) for n in (1, 2, 3)]
        await conn.execute_many(
            f"UPDATE receipt SET leaf_hash = {marks[0]}, leaf_index = {marks[1]} "  # noqa: S608
            f"WHERE id = {marks[2]}",
            [[r.leaf_hash, r.leaf_index, r.id] for r in pending],
        )
        root = tree.root()
        await TreeHead.create(
            size=tree.size,
            root_hash=root.hex(),
            jws=sign_tree_head(keyring=keyring, issuer=issuer, size=tree.size, root=root),
            created_at=clock.now(),
            using_db=conn,
        )
    log.info("receipt log: %s leaves appended, size %s", len(pending), tree.size)
    return len(pending)


async def append_all(*, keyring: Keyring, issuer: str) -> int:
    """Append every receipt not yet logged, batch after batch (worker housekeeping, import)."""
    total = 0
    while True:
        added = await append_pending(keyring=keyring, issuer=issuer)
        total += added
        # A batch not full took every receipt committed before it began: a later one has its
        # own job (an empty transaction after each run was half the sequencer's statements).
        if added < BATCH:
            return total


async def append_job(job: OutboxJob, runtime: Signer) -> None:
    """The outbox job of receipts stored together: a no-op when no receipt waits.

    Not "when this job's receipt is logged": the worker runs log jobs claimed together once
    (`coalesce`), with one of them, and that one's receipt may have been taken by an earlier
    run while the others' were not; they waited for the next sweep (five minutes), their
    proofs answering 404 (tests/e2e/test_concurrent_load.py, 1 run in 7 on PostgreSQL)."""
    if not await Receipt.filter(leaf_index__isnull=True).exists():
        return
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)


async def append_periodically(runtime: Signer) -> None:
    """Worker housekeeping: imports the old chain's receipts, catches anything left behind."""
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)


# --- Proofs ------------------------------------------------------------------------------------


async def latest_head() -> TreeHead | None:
    return await TreeHead.all().order_by("-size").first()


async def head_of_size(size: int) -> TreeHead | None:
    return await TreeHead.filter(size=size).first()


async def inclusion_path(*, index: int, size: int) -> list[bytes]:
    needed = merkle.nodes_needed(lambda read: merkle.inclusion_proof(index, size, read))
    nodes = await read_nodes(needed)
    return merkle.inclusion_proof(index, size, merkle.reader(nodes))


async def consistency_path(*, old_size: int, new_size: int) -> list[bytes]:
    needed = merkle.nodes_needed(lambda read: merkle.consistency_proof(old_size, new_size, read))
    nodes = await read_nodes(needed)
    return merkle.consistency_proof(old_size, new_size, merkle.reader(nodes))


@dataclass(frozen=True)
class Inclusion:
    """A receipt's place in the log under a signed head, its proof checked here too."""

    leaf_hash: str
    leaf_index: int
    head: TreeHead
    path: list[bytes]
    verified: bool


async def inclusion_of(
    *, receipt: Receipt, keyring: Keyring, size: int | None = None
) -> Inclusion | None:
    """The inclusion of a logged receipt under the head of `size` (the latest by default);
    None while the receipt waits for the sequencer or when no such head covers it."""
    if receipt.leaf_index is None or receipt.leaf_hash is None:
        return None
    head = await (latest_head() if size is None else head_of_size(size))
    if head is None or head.size <= receipt.leaf_index:
        return None
    path = await inclusion_path(index=int(receipt.leaf_index), size=int(head.size))
    signed = read_tree_head(token=head.jws, keyring=keyring)
    verified = (
        signed is not None
        and signed.get("size") == head.size
        and signed.get("root_hash") == head.root_hash
        and leaf_of(receipt.jws).hex() == receipt.leaf_hash
        and merkle.verify_inclusion(
            leaf=bytes.fromhex(receipt.leaf_hash),
            index=int(receipt.leaf_index),
            size=int(head.size),
            proof=path,
            root=bytes.fromhex(head.root_hash),
        )
    )
    return Inclusion(
        leaf_hash=receipt.leaf_hash,
        leaf_index=int(receipt.leaf_index),
        head=head,
        path=path,
        verified=verified,
    )


# --- What the public endpoints publish ---------------------------------------------------------


def head_document(head: TreeHead | None, *, base_url: str) -> dict[str, Any]:
    common = {
        "log": LOG_NAME,
        "typ": TREE_HEAD_TYPE,
        "hashing": "RFC 9162 (SHA-256, 0x00 leaf / 0x01 node prefixes)",
        "keys": f"{base_url}/.well-known/jwks.json",
        "leaves": f"{base_url}/transparence/journal/feuilles.json?depuis=0",
    }
    if head is None:
        return {
            **common,
            "size": 0,
            "root_hash": merkle.EMPTY_ROOT.hex(),
            "time": None,
            "jws": None,
            "note": "Aucun reçu n'a encore été inscrit au journal.",
        }
    return {
        **common,
        "size": head.size,
        "root_hash": head.root_hash,
        "time": head.created_at.isoformat(),
        "jws": head.jws,
    }


def inclusion_document(inclusion: Inclusion) -> dict[str, Any]:
    return {
        "log": LOG_NAME,
        "leaf_hash": inclusion.leaf_hash,
        "leaf_index": inclusion.leaf_index,
        "tree_size": inclusion.head.size,
        "root_hash": inclusion.head.root_hash,
        "audit_path": [h.hex() for h in inclusion.path],
        "tree_head": inclusion.head.jws,
        "leaf_input": "the receipt's JWS signing input (the text before its last dot)",
    }
