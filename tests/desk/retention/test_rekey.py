"""A new DESK_SECRET_KEY: `desk keys reencrypt` moves every secret stored encrypted under the old
key to the new one, so channels, hashing keys and pending login links keep working."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.core import crypto
from desk.identity import login_links, login_mail
from desk.outbox.models import OutboxJob
from desk.partners import clients
from desk.partners.channels import configure_channel
from desk.registry.models import Signatory
from desk.retention.rekey import UnreadableSecret, reencrypt_secrets
from tests.factories import make_signatory

OLD = "ancienne-clé-du-guichet"
NEW = "nouvelle-clé-du-guichet"


async def _stored_under_old_key() -> tuple[str, str]:
    """A webhook channel, a REST channel, a hashing key and a pending login link, all sealed
    with OLD; returns the webhook secret and the hashing key in clear."""
    bibus = await make_signatory("bibus")
    await make_signatory("eau-rekey")
    webhook = await configure_channel(
        slug="bibus", adapter="webhook", settings={"url": "https://si.bibus.fr/h"}, secret_key=OLD
    )
    await configure_channel(
        slug="eau-rekey",
        adapter="rest",
        settings={"base_url": "https://api.eau.fr", "token": "jeton-rest"},
        secret_key=OLD,
    )
    hashing_key = await clients.hashing_key(signatory=bibus, secret_key=OLD)
    assert hashing_key
    await login_links.create_link(
        kind=login_links.RESIDENT, email="camille@exemple.invalid", browser="b", secret_key=OLD
    )
    return webhook.generated[0], hashing_key


async def test_every_stored_secret_opens_with_the_new_key_and_no_longer_with_the_old(
    app: Starlette,
) -> None:
    webhook_secret, hashing_key = await _stored_under_old_key()

    report = await reencrypt_secrets(old_key=OLD, new_key=NEW)
    assert (report.hashing_keys, report.channel_settings, report.outbox_jobs) == (1, 2, 1)

    # The channel, read back with the new key, has its secret; the token moved too.
    again = await configure_channel(slug="bibus", adapter="webhook", settings={}, secret_key=NEW)
    assert again.secrets == {"secrets": [webhook_secret]}
    rest = await Signatory.get(slug="eau-rekey")
    assert crypto.decrypt(NEW, str(rest.adapter_settings["token"])) == "jeton-rest"
    with pytest.raises(ValueError):
        crypto.decrypt(OLD, str(rest.adapter_settings["token"]))
    bibus = await Signatory.get(slug="bibus")
    assert await clients.hashing_key(signatory=bibus, secret_key=NEW) == hashing_key
    # The login link waiting for its mail is sent with a working token.
    job = await OutboxJob.get(kind=login_links.RESIDENT.mail_job)
    mailed = await login_mail.link_to_mail(
        job, kind=login_links.RESIDENT, secret_key=NEW, max_age=600
    )
    assert mailed is not None and mailed.url_path.startswith("/connexion/")

    audit = await AuditRecord.get(action="keys.secret_key_rotated")
    assert webhook_secret not in json.dumps(audit.detail) and hashing_key not in str(audit.detail)
    # Twice is harmless: everything is already under the new key.
    second = await reencrypt_secrets(old_key=OLD, new_key=NEW)
    assert second.values == 0 and second.already_new == 4


async def test_a_secret_neither_key_opens_stops_the_run_with_nothing_changed(
    app: Starlette,
) -> None:
    await _stored_under_old_key()
    stranger = await make_signatory("inconnu")
    stranger.hashing_key = crypto.encrypt("une-troisième-clé", "k")
    await stranger.save()
    before = await Signatory.get(slug="bibus")

    with pytest.raises(UnreadableSecret) as stopped:
        await reencrypt_secrets(old_key=OLD, new_key=NEW)
    assert stopped.value.where == f"signatory:{stranger.id}"
    after = await Signatory.get(slug="bibus")
    assert after.hashing_key == before.hashing_key
    assert after.adapter_settings == before.adapter_settings
    assert not await AuditRecord.filter(action="keys.secret_key_rotated").exists()


async def test_desk_keys_reencrypt_wants_both_keys_then_reports(app: Starlette) -> None:
    webhook_secret, _ = await _stored_under_old_key()
    settings = app.state.settings
    env = {"DESK_DATABASE_URL": settings.database_url, "DESK_DATA_DIR": str(settings.data_dir),
           "DESK_SECRET_KEY": NEW, "PATH": "/usr/bin:/bin"}  # fmt: skip

    def desk(**extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "desk.cli", "keys", "reencrypt"]
        return subprocess.run(
            command, env={**env, **extra}, capture_output=True, text=True, timeout=120
        )

    missing = await asyncio.to_thread(desk)
    assert missing.returncode == 1
    assert "DESK_PREVIOUS_SECRET_KEY" in missing.stderr
    done = await asyncio.to_thread(desk, DESK_PREVIOUS_SECRET_KEY=OLD)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 clé(s) de hachage, 2 canal(aux), 1 envoi(s) en attente" in done.stdout
    again = await configure_channel(slug="bibus", adapter="webhook", settings={}, secret_key=NEW)
    assert again.secrets == {"secrets": [webhook_secret]}
