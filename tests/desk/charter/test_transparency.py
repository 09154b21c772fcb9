"""The receipts' transparency log: a signed checkpoint per receipt, and the audit that finds
a tampered receipt row or a tampered checkpoint."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.charter.models import TransparencyCheckpoint
from desk.charter.transparency import CHECKPOINT_TYPE, audit
from desk.receipts.models import Receipt
from tests.desk.receipts.conftest import fulfil_all, tamper


async def _desk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the `desk` command for real, off the event loop."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "desk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


async def test_each_receipt_updates_the_signed_checkpoint(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    empty = (await client.get("/transparence/checkpoint.json")).json()
    assert empty["size"] == 0 and empty["jws"] is None
    assert "la chaîne est vide" in (await client.get("/transparence")).text

    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    assert await TransparencyCheckpoint.all().count() == 2
    document = (await client.get("/transparence/checkpoint.json")).json()
    assert document["size"] == 2 and document["head"] == receipts[1].digest

    # Anyone can check the checkpoint with the published keys, and recompute the chain.
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    verified = jws.deserialize_compact(document["jws"], keys, algorithms=["ES256"])
    assert verified.headers()["typ"] == CHECKPOINT_TYPE
    assert json.loads(verified.payload) | {} == _payload(document["jws"])
    assert _payload(document["jws"])["size"] == 2

    chain = (await client.get("/transparence/chaine.json?from=1")).json()
    entries = chain["receipts"]
    assert [e["sequence"] for e in entries] == [1, 2] and chain["next"] is None
    assert entries[1]["prev"] == hashlib.sha256(entries[0]["jws"].encode()).hexdigest()
    assert hashlib.sha256(entries[1]["jws"].encode()).hexdigest() == document["head"]

    page = (await client.get("/transparence/chaine.json?from=1&limit=1")).json()
    assert len(page["receipts"]) == 1 and page["next"] == "/transparence/chaine.json?from=2"

    html = (await client.get("/transparence")).text
    assert receipts[1].digest in html and "desk audit verify" in html

    report = await audit(keyring=app.state.runtime.keyring)
    assert report.ok and report.receipts == 2 and report.checkpoints == 2


async def test_bad_chain_parameters_are_refused_in_french(client: httpx.AsyncClient) -> None:
    for query in ("from=abc", "from=0", "from=-1", "limit=9999", "limit=0"):
        response = await client.get(f"/transparence/chaine.json?{query}")
        assert response.status_code == 400, query
        assert "nombre entier" in response.text


async def test_tampered_receipt_row_is_found(app: Starlette) -> None:
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus", "brest-metropole-habitat"])
    forged = tamper(receipts[1].jws, lambda p: p.update(erased_categories=["rien"]))
    await Receipt.filter(id=receipts[1].id).update(jws=forged)

    report = await audit(keyring=app.state.runtime.keyring)
    assert not report.ok
    text = " ".join(f"{f.where} {f.message_fr}" for f in report.findings)
    assert "reçu n° 2" in text and "Signature invalide" in text
    # The checkpoint signed when receipt 2 was issued no longer matches the chain.
    assert "taille 2" in text and "la chaîne a été réécrite" in text


async def test_tampered_checkpoint_is_found(app: Starlette) -> None:
    await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    checkpoint = await TransparencyCheckpoint.get(size=2)
    header, _, signature = checkpoint.jws.split(".")
    fake = (
        base64.urlsafe_b64encode(json.dumps({"size": 2, "head": "f" * 64, "iat": 0}).encode())
        .rstrip(b"=")
        .decode()
    )
    await TransparencyCheckpoint.filter(id=checkpoint.id).update(
        jws=f"{header}.{fake}.{signature}", head="f" * 64
    )
    report = await audit(keyring=app.state.runtime.keyring)
    assert [f.message_fr for f in report.findings] == [
        "Signature invalide : ce point de contrôle a été modifié."
    ]

    # A head changed in the row only (signature intact) is found too.
    await TransparencyCheckpoint.filter(id=checkpoint.id).update(jws=checkpoint.jws)
    report = await audit(keyring=app.state.runtime.keyring)
    assert any(
        "ne correspond pas au point de contrôle signé" in f.message_fr for f in report.findings
    )


async def test_desk_audit_verify_command_exits_1_on_a_break(app: Starlette, tmp_path: Path) -> None:
    settings = app.state.settings
    receipts = await fulfil_all(app, slugs=["eau-du-ponant", "bibus"])
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    ok = await _desk("audit", "verify", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Aucune anomalie" in ok.stdout

    await Receipt.filter(id=receipts[0].id).update(digest="0" * 63 + "1")
    broken = await _desk("audit", "verify", env=env)
    assert broken.returncode == 1
    assert "anomalie" in broken.stdout and "reçu n° 1" in broken.stdout
