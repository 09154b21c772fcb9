"""The desk's own audit log: one hash chain, verified row by row, and signed checkpoints that
show a log cut short after them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import KeySet
from starlette.applications import Starlette

from desk.audit.checkpoint import (
    CHECKPOINT_TYPE,
    CheckpointError,
    audit_log,
    read_checkpoint,
    sign_head,
)
from desk.audit.log import GENESIS, record_action, verify_records
from desk.audit.models import AuditRecord
from desk.staff.services import add_staff, deactivate_staff
from tests.helpers import column, run_desk


async def _five_actions() -> list[AuditRecord]:
    return [
        await record_action(action="resident.login", actor=f"resident:{n}", detail={"n": n})
        for n in range(1, 6)
    ]


async def test_an_untouched_log_verifies_and_names_its_head(app: Starlette) -> None:
    rows = await _five_actions()
    head, problems = await verify_records()
    assert problems == []
    assert (head.count, head.last_id, head.last_digest) == (5, rows[-1].id, rows[-1].digest)
    assert rows[0].prev_digest == GENESIS


async def test_edited_deleted_and_moved_rows_are_each_reported(app: Starlette) -> None:
    rows = await _five_actions()
    await AuditRecord.filter(id=rows[1].id).update(actor="resident:99")
    _, problems = await verify_records()
    assert [(p.record_id, p.reason_fr) for p in problems] == [
        (rows[1].id, "Action modifiée après son enregistrement.")
    ]
    await AuditRecord.filter(id=rows[1].id).update(actor=rows[1].actor)

    await AuditRecord.filter(id=rows[2].id).delete()
    _, problems = await verify_records()
    assert [p.record_id for p in problems] == [rows[3].id]
    assert "Maillon manquant ou déplacé" in problems[0].reason_fr

    # Rows 4 and 5 swap places (each keeps its own digest): both links break.
    a, b = rows[3], rows[4]
    fields = ("at", "actor", "action", "subject", "detail", "prev_digest", "digest")
    await AuditRecord.filter(id=a.id).update(**{f: getattr(b, f) for f in fields})
    await AuditRecord.filter(id=b.id).update(**{f: getattr(a, f) for f in fields})
    _, problems = await verify_records()
    assert {p.record_id for p in problems} >= {a.id, b.id}


async def test_a_checkpoint_verifies_offline_and_shows_truncation(app: Starlette) -> None:
    keyring = app.state.runtime.keyring
    rows = await _five_actions()
    head, _ = await verify_records()
    document = sign_head(head=head, keyring=keyring, issuer="http://testserver")

    # Any JOSE library, given only the published keys, checks it.
    keys = KeySet.import_key_set(keyring.jwks())
    signed = jws.deserialize_compact(document["jws"], keys, algorithms=["ES256"])
    assert signed.headers()["typ"] == CHECKPOINT_TYPE
    payload = json.loads(signed.payload)
    assert (payload["count"], payload["last_id"]) == (5, rows[-1].id)
    assert (await audit_log(checkpoint=document, jwks=keyring.jwks())).problems == []

    # More actions after the checkpoint are fine; losing what it covers is not.
    await record_action(action="resident.logout", actor="resident:1")
    assert (await audit_log(checkpoint=document, jwks=keyring.jwks())).problems == []
    await AuditRecord.filter(id__gte=rows[-1].id).delete()
    result = await audit_log(checkpoint=document, jwks=keyring.jwks())
    assert (await verify_records())[1] == []  # the shorter chain alone looks fine
    assert any("tronqué" in p.reason_fr for p in result.problems)


async def test_a_forged_checkpoint_is_refused(app: Starlette) -> None:
    keyring = app.state.runtime.keyring
    await _five_actions()
    head, _ = await verify_records()
    document = sign_head(head=head, keyring=keyring, issuer="http://testserver")
    with pytest.raises(CheckpointError, match="ne sont pas celles qui ont été signées"):
        read_checkpoint({**document, "count": 3}, jwks=keyring.jwks())
    header, body, signature = document["jws"].split(".")
    with pytest.raises(CheckpointError, match="Signature invalide"):
        read_checkpoint({"jws": f"{header}.{body}x.{signature}"}, jwks=keyring.jwks())
    with pytest.raises(CheckpointError, match="clé que le guichet ne publie pas"):
        read_checkpoint(document, jwks={"keys": []})


async def test_staff_changes_are_recorded(app: Starlette) -> None:
    member = await add_staff(email="agent@exemple.invalid", display_name="Agent", role="admin")
    await deactivate_staff(email="agent@exemple.invalid")
    await add_staff(email="agent@exemple.invalid", display_name="Agent", role="mediator")
    actions = await column(AuditRecord.filter(subject=f"staff:{member.id}"), "action")
    assert list(actions) == ["staff.add", "staff.deactivate", "staff.reactivate"]
    # Ids only: never the address nor the name.
    dumped = json.dumps(await AuditRecord.all().values(), default=str)
    assert "agent@" not in dumped and "Agent" not in dumped


async def test_desk_audit_checkpoint_then_verify_finds_a_cut(
    app: Starlette, tmp_path: Path
) -> None:
    settings = app.state.settings
    rows = await _five_actions()
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    saved = tmp_path / "journal-checkpoint.json"
    made = await run_desk("audit", "checkpoint", "--out", str(saved), env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    assert json.loads(saved.read_text())["count"] == 5

    ok = await run_desk("audit", "verify", "--checkpoint", str(saved), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Journal des actions : 5 action(s)" in ok.stdout
    assert "toujours là, inchangées" in ok.stdout

    await AuditRecord.filter(id=rows[-1].id).delete()
    cut = await run_desk("audit", "verify", "--checkpoint", str(saved), env=env)
    assert cut.returncode == 1
    assert f"action n° {rows[-1].id}" in cut.stdout and "tronqué" in cut.stdout


async def test_partner_credentials_and_channels_are_recorded_without_secrets(
    app: Starlette,
) -> None:
    from desk.partners import clients
    from desk.partners.channels import configure_channel
    from tests.factories import make_signatory

    signatory = await make_signatory("bibus")
    created = await clients.create_client(slug="bibus")
    rotated = await clients.rotate_secret(client_id=created.client_id)
    channel = await configure_channel(
        slug="bibus",
        adapter="webhook",
        settings={"url": "https://si.bibus.exemple.fr/webhooks"},
        secret_key="test-secret-key-not-for-production",
    )
    records = await AuditRecord.all().order_by("id")
    assert [(r.action, r.subject) for r in records] == [
        ("partner.client_created", f"client:{created.client_id}"),
        ("partner.secret_rotated", f"client:{created.client_id}"),
        ("partner.channel_configured", f"signatory:{signatory.id}"),
    ]
    dumped = json.dumps([r.detail for r in records])
    for secret in (created.client_secret, rotated.client_secret, *channel.generated):
        assert secret not in dumped
    assert (await verify_records())[1] == []
