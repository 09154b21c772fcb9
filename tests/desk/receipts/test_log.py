"""The public receipt log: answers commit receipts without a log position, the sequencer
appends them, and anyone checks inclusion and consistency proofs against signed tree heads
without ever seeing a receipt's content."""

from __future__ import annotations

import hashlib
import json
import uuid

import httpx
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.core import clock, merkle
from desk.core.chain import GENESIS
from desk.outbox.models import OutboxJob
from desk.outbox.worker import JobRegistry, Worker
from desk.receipts.audit import audit
from desk.receipts.keys import signing_input
from desk.receipts.log import APPEND_JOB, TREE_HEAD_TYPE, append_all, append_job, leaf_of
from desk.receipts.models import LogNode, Receipt, TransparencyCheckpoint, TreeHead
from desk.requests.models import Delivery, RightsRequest
from tests.desk.receipts.conftest import fulfil_all, tamper, unb64
from tests.helpers import column, run_desk, run_worker_until_done


def _payload(token: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(unb64(token.split(".")[1]))
    return loaded


async def test_an_answer_commits_its_receipt_and_the_worker_logs_it(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    empty = (await client.get("/transparence/journal/tete.json")).json()
    assert empty["size"] == 0 and empty["jws"] is None
    assert "le journal est vide" in (await client.get("/transparence")).text

    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    # Committed with the answers, no position taken: the sequencer's job does that.
    assert all(r.leaf_index is None for r in receipts)
    assert await OutboxJob.filter(kind=APPEND_JOB).count() == 2
    page = (await client.get(f"/recus/{receipts[0].id}")).text
    assert "sera inscrit au journal public" in page

    await worker.run_until_idle()
    logged = [await Receipt.get(id=r.id) for r in receipts]
    assert sorted(r.leaf_index for r in logged) == [0, 1]
    head = (await client.get("/transparence/journal/tete.json")).json()
    assert head["size"] == 2
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    signed = jws.deserialize_compact(head["jws"], keys, algorithms=["ES256"])
    assert signed.headers()["typ"] == TREE_HEAD_TYPE
    assert json.loads(signed.payload)["root_hash"] == head["root_hash"]

    # The resident's receipt page shows its place, with a proof anyone can check offline.
    page = (await client.get(f"/recus/{receipts[0].id}")).text
    assert "Inscription au journal public" in page and "inclusion.json" in page
    proof = (await client.get(f"/recus/{receipts[0].id}/inclusion.json")).json()
    assert proof["leaf_hash"] == merkle.leaf_hash(signing_input(receipts[0].jws)).hex()
    assert merkle.verify_inclusion(
        leaf=bytes.fromhex(proof["leaf_hash"]),
        index=proof["leaf_index"],
        size=proof["tree_size"],
        proof=[bytes.fromhex(h) for h in proof["audit_path"]],
        root=bytes.fromhex(json.loads(signed.payload)["root_hash"]),
    )
    # The same proof, asked by leaf hash (what a receipt's holder computes by themselves).
    by_hash = await client.get(f"/transparence/journal/inclusion.json?feuille={proof['leaf_hash']}")
    assert by_hash.json()["audit_path"] == proof["audit_path"]

    # A receipt fulfilled later grows the log; the two heads are consistent.
    [third] = await fulfil_all(app, slugs=["brest-metropole-habitat"])
    await worker.run_until_idle()
    consistency = (await client.get("/transparence/journal/coherence.json?de=2&a=3")).json()
    assert consistency["verified_here"] is True
    assert merkle.verify_consistency(
        old_size=2,
        new_size=3,
        proof=[bytes.fromhex(h) for h in consistency["proof"]],
        old_root=bytes.fromhex(consistency["from"]["root_hash"]),
        new_root=bytes.fromhex(consistency["to"]["root_hash"]),
    )
    heads = (await client.get("/transparence/journal/tetes.json")).json()["heads"]
    assert [h["size"] for h in heads] == [2, 3]
    report = await audit(keyring=app.state.runtime.keyring)
    assert report.ok, report.findings
    assert report.leaves == 3 and report.heads == 2 and report.waiting == 0
    assert third.id in {r.id for r in await Receipt.filter(leaf_index=2)}


async def test_the_public_log_publishes_no_receipt_content(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    await worker.run_until_idle()
    request = await RightsRequest.get(deliveries__id=receipts[0].delivery_id)  # type: ignore[attr-defined]
    published = " ".join(
        [
            (await client.get(url)).text
            for url in (
                "/transparence",
                "/transparence/journal/tete.json",
                "/transparence/journal/tetes.json",
                "/transparence/journal/feuilles.json?depuis=0",
                f"/recus/{receipts[0].id}/inclusion.json",
            )
        ]
    )
    for receipt in receipts:
        payload = _payload(receipt.jws)
        assert str(payload["subject"]) not in published
        assert receipt.jws.split(".")[1] not in published
    assert request.reference not in published and "coordonnées" not in published
    leaves = (await client.get("/transparence/journal/feuilles.json?depuis=0")).json()["leaves"]
    assert [leaf["leaf_hash"] for leaf in leaves] == [
        leaf_of(r.jws).hex() for r in sorted(receipts, key=lambda r: r.issued_at)
    ]
    # The old endpoint that published every payload is gone, and says where to look.
    gone = await client.get("/transparence/chaine.json?from=1")
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert "/transparence/journal/tete.json" in gone.json()["detail"]
    moved = await client.get("/transparence/checkpoint.json", follow_redirects=False)
    assert moved.status_code == 301


async def test_bad_log_parameters_are_refused_in_french(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    await fulfil_all(app, slugs=["eau-du-ponant"])
    await worker.run_until_idle()
    cases = {
        "/transparence/journal/feuilles.json?depuis=abc": 400,
        "/transparence/journal/feuilles.json?depuis=-1": 400,
        "/transparence/journal/feuilles.json?limite=99999": 400,
        "/transparence/journal/feuilles.json?depuis=%D9%A1": 400,
        "/transparence/journal/tetes.json?depuis=" + "9" * 40: 400,
        "/transparence/journal/tetes.json?depuis=" + "9" * 5000: 422,
        "/transparence/journal/inclusion.json?feuille=xyz": 400,
        "/transparence/journal/inclusion.json?feuille=" + "a" * 65: 400,
        "/transparence/journal/inclusion.json?feuille=" + "a" * 60_000: 422,
        "/transparence/journal/inclusion.json?feuille=" + "0" * 64: 404,
        "/transparence/journal/coherence.json?de=1": 400,
        "/transparence/journal/coherence.json?de=2&a=1": 400,
        "/transparence/journal/coherence.json?de=1&a=7": 404,
        "/recus/" + "0" * 32 + "/inclusion.json": 404,
        "/recus/%C3%A9t%C3%A9/inclusion.json": 404,
    }
    for url, status in cases.items():
        response = await client.get(url)
        assert response.status_code == status, (url[:80], response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"]


async def test_many_receipts_are_appended_in_one_batch_with_one_head(
    app: Starlette, worker: Worker
) -> None:
    await fulfil_all(app, slugs=[f"org-{n}" for n in range(7)])
    await worker.run_until_idle()
    assert await TreeHead.all().count() == 1
    assert (await TreeHead.get()).size == 7
    # Complete subtrees only: 7 leaves, 3 pairs, 1 quadruple.
    assert await LogNode.all().count() == 7 + 3 + 1


async def test_receipts_whose_jobs_are_claimed_with_one_already_logged_are_all_logged(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A worker runs log jobs claimed together once, with one of them. When that one's receipt
    was taken by an earlier run, the others' receipts must still be logged: they were left for
    the five-minute sweep, their proofs answering 404 meanwhile."""
    runtime = app.state.runtime
    first = await fulfil_all(app, slugs=["eau-du-ponant"])
    # A sequencer run started by an earlier job takes the first receipt; its own job waits.
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)
    later = await fulfil_all(app, slugs=["bibus", "brest-metropole-habitat"])
    assert await OutboxJob.filter(kind=APPEND_JOB).count() == 3
    # Only the log's jobs, so that one claim takes the three (dispatches and mails aside).
    await OutboxJob.exclude(kind=APPEND_JOB).delete()

    # No housekeeping sweep: only the jobs may log the receipts.
    lanes = Worker(
        registry=JobRegistry(handlers={APPEND_JOB: append_job}, coalesce=frozenset({APPEND_JOB})),
        context=runtime, base_delay=0, max_delay=0, poll_interval=0.05, concurrency=4,
    )  # fmt: skip
    await run_worker_until_done(lanes, 3)

    assert (await TreeHead.all().order_by("-size").first()).size == 3  # type: ignore[union-attr]
    for receipt in [*first, *later]:
        proof = await client.get(f"/recus/{receipt.id}/inclusion.json")
        assert proof.status_code == 200, proof.text
        assert proof.json()["tree_size"] == 3


async def test_tampering_with_receipts_nodes_or_heads_is_found(app: Starlette) -> None:
    runtime = app.state.runtime
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus", "brest-metropole-habitat"])
    await append_all(keyring=runtime.keyring, issuer=runtime.issuer)
    assert (await audit(keyring=runtime.keyring)).ok

    forged = tamper(receipts[1].jws, lambda p: p.update(erased_categories=["rien"]))
    await Receipt.filter(id=receipts[1].id).update(jws=forged)
    text = " ".join(f.message_fr for f in (await audit(keyring=runtime.keyring)).findings)
    assert "ne correspond plus au reçu" in text
    await Receipt.filter(id=receipts[1].id).update(jws=receipts[1].jws)

    node = await LogNode.get(level=1, position=0)
    await LogNode.filter(id=node.id).update(hash="f" * 64)
    text = " ".join(f.message_fr for f in (await audit(keyring=runtime.keyring)).findings)
    assert "Ce nœud manque ou a été modifié" in text
    await LogNode.filter(id=node.id).update(hash=node.hash)

    head = await TreeHead.get()
    await TreeHead.filter(id=head.id).update(root_hash="e" * 64)
    text = " ".join(f.message_fr for f in (await audit(keyring=runtime.keyring)).findings)
    assert "La racine signée ne correspond pas" in text or "ne correspond pas à la tête" in text
    await TreeHead.filter(id=head.id).update(root_hash=head.root_hash)

    await Receipt.filter(id=receipts[2].id).delete()
    text = " ".join(f.message_fr for f in (await audit(keyring=runtime.keyring)).findings)
    assert "le journal n'en a plus que 2" in text


async def test_receipts_of_the_old_chain_are_imported_and_still_verify(
    app: Starlette, client: httpx.AsyncClient, worker: Worker
) -> None:
    """Receipts issued before the Merkle log carry "prev" and a chain number: the sequencer
    imports them first, in their chain's order, and their old checkpoints still hold."""
    keyring = app.state.runtime.keyring
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    previous = GENESIS
    for number, receipt in enumerate(receipts, start=1):
        payload = _payload(receipt.jws) | {"prev": previous}
        token = keyring.sign(json.dumps(payload).encode())
        digest = hashlib.sha256(token.encode()).hexdigest()
        await Receipt.filter(id=receipt.id).update(
            jws=token, digest=digest, sequence=number, leaf_hash=None
        )
        previous = digest
    await TransparencyCheckpoint.create(size=2, head=previous, jws="legacy", created_at=clock.now())
    # A receipt issued after the upgrade, before the worker ran.
    [newer] = await fulfil_all(app, slugs=["brest-metropole-habitat"])
    await worker.run_until_idle()

    order = await column(Receipt.all().order_by("leaf_index"), "id")
    assert order == [receipts[0].id, receipts[1].id, newer.id]
    report = await audit(keyring=keyring)
    assert report.ok, report.findings
    assert report.legacy_receipts == 2 and report.legacy_checkpoints == 1 and report.leaves == 3
    old = await Receipt.get(id=receipts[0].id)
    page = await client.get(f"/recus/{old.id}/inclusion.json")
    assert page.status_code == 200 and page.json()["leaf_index"] == 0


async def test_desk_audit_verify_command_exits_1_on_a_break(app: Starlette, worker: Worker) -> None:
    settings = app.state.settings
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    await worker.run_until_idle()
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    ok = await run_desk("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Aucune anomalie" in ok.stdout and "2 reçu(s)" in ok.stdout

    await Receipt.filter(id=receipts[0].id).update(leaf_hash=uuid.uuid4().hex * 2)
    broken = await run_desk("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "anomalie" in broken.stdout and receipts[0].id in broken.stdout
    assert await Delivery.filter(receipt__id=receipts[0].id).exists()
