"""The DPO connects the organisation from its space: identifiers, channel, API clients and
their secrets, holdings status; audited with who did it; editors and other organisations
can do none of it; bad and absurd input answered in French."""

from __future__ import annotations

import re

import httpx

from desk.audit.models import AuditRecord
from desk.core import crypto
from desk.holdings.models import Holding
from desk.mail.sink import MailSink
from desk.organisations.models import OrganisationMember
from desk.outbox.worker import Worker
from desk.partners import clients
from desk.partners.models import ClientSecret, PartnerClient
from desk.registry.models import Signatory
from tests.desk.organisations.support import member_log_in
from tests.desk.staff.support import post_form, text
from tests.factories import make_signatory

DPO = "dpo@eau-du-ponant.exemple.invalid"
EDITOR = "redaction@eau-du-ponant.exemple.invalid"
PAGE = "/organisation/raccordement"


async def _organisation() -> Signatory:
    signatory = await make_signatory("eau-du-ponant", adapter="email")
    await OrganisationMember.create(signatory=signatory, email=DPO, display_name="D", role="dpo")
    await OrganisationMember.create(
        signatory=signatory, email=EDITOR, display_name="E", role="editor"
    )
    return signatory


def _secret(response: httpx.Response) -> str:
    found = re.search(r"<code>(dsk_[A-Za-z0-9_-]+)</code>", response.text)
    assert found, "no secret shown"
    return found.group(1)


async def test_the_dpo_sets_identifiers_channel_and_api_clients(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await _organisation()
    await Holding.create(signatory=signatory, subject_hash="a" * 64, identifier_kind="email")
    await member_log_in(client, worker, mail_sink, DPO)
    page = await client.get(PAGE)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "1 personnes déclarées" in text(page)

    # Identifiers: none, unknown, then a good choice.
    none = await post_form(client, f"{PAGE}/identifiants", {})
    assert none.status_code == 422 and "au moins un identifiant" in text(none)
    unknown = await post_form(client, f"{PAGE}/identifiants", {"identifiers": ["iban"]})
    assert unknown.status_code == 422 and "dans la liste" in text(unknown)
    done = await post_form(
        client, f"{PAGE}/identifiants", {"identifiers": ["postal_address", "email"]}
    )
    assert done.status_code == 303
    assert (await Signatory.get(id=signatory.id)).accepted_identifiers == [
        "email", "postal_address",
    ]  # fmt: skip

    # Channel: the demo's own adapter is not offered, a private address is refused.
    assert 'value="simulated"' not in page.text
    simulated = await post_form(client, f"{PAGE}/canal", {"channel": "simulated"})
    assert simulated.status_code == 422 and "dans la liste" in text(simulated)
    private = await post_form(
        client, f"{PAGE}/canal", {"channel": "webhook", "settings": "url=http://10.1.2.3/hook"}
    )
    assert private.status_code == 422 and "refusés" in text(private)
    garbled = await post_form(client, f"{PAGE}/canal", {"channel": "webhook", "settings": "nope"})
    assert garbled.status_code == 422 and "clé=valeur" in text(garbled)
    absurd = await post_form(
        client, f"{PAGE}/canal", {"channel": "webhook", "settings": "u" * 9000}
    )
    assert absurd.status_code in (400, 413, 422) and "trop long" in text(absurd)
    webhook = await post_form(
        client, f"{PAGE}/canal", {"channel": "webhook", "settings": "url=http://127.0.0.1:9/hook"}
    )
    assert webhook.status_code == 200 and "whsec_" in webhook.text  # shown once
    stored = await Signatory.get(id=signatory.id)
    assert stored.adapter == "webhook"
    secrets = stored.adapter_settings["secrets"]
    assert isinstance(secrets, list) and all(crypto.is_encrypted(s) for s in secrets)
    again = await client.get(PAGE)
    assert "whsec_" not in again.text and "secret enregistré" in text(again)

    # API clients: create (secret shown once), rotate (two live), revoke a secret, revoke all.
    no_label = await post_form(client, f"{PAGE}/clients", {"label": "  "})
    assert no_label.status_code == 422 and "Donnez un nom" in text(no_label)
    long_label = await post_form(client, f"{PAGE}/clients", {"label": "L" * 240})
    assert long_label.status_code == 422
    created = await post_form(client, f"{PAGE}/clients", {"label": "Logiciel abonnés"})
    assert created.status_code == 200
    first = _secret(created)
    client_id = (await PartnerClient.get(signatory_id=signatory.id)).client_id
    assert first not in (await client.get(PAGE)).text
    assert await clients.authenticate(client_id=client_id, client_secret=first)
    rotated = await post_form(client, f"{PAGE}/clients/{client_id}/secret", {})
    second = _secret(rotated)
    assert await clients.authenticate(client_id=client_id, client_secret=first)
    assert await clients.authenticate(client_id=client_id, client_secret=second)
    revoked = await post_form(
        client, f"{PAGE}/clients/{client_id}/secrets/{first[:8]}/revoquer", {}
    )
    assert revoked.status_code == 303
    assert not await clients.authenticate(client_id=client_id, client_secret=first)
    bad_prefix = await post_form(client, f"{PAGE}/clients/{client_id}/secrets/%3Cx%3E/revoquer", {})
    assert bad_prefix.status_code == 404
    closed = await post_form(client, f"{PAGE}/clients/{client_id}/revoquer", {})
    assert closed.status_code == 303
    assert not await clients.authenticate(client_id=client_id, client_secret=second)
    assert not await ClientSecret.filter(client__client_id=client_id, revoked_at=None).exists()
    twice = await post_form(client, f"{PAGE}/clients/{client_id}/revoquer", {})
    assert twice.status_code == 404

    dpo = await OrganisationMember.get(email=DPO)
    actions = set(
        await AuditRecord.filter(actor=f"member:{dpo.id}").values_list("action", flat=True)
    )
    assert {
        "partner.identifiers_configured", "partner.channel_configured", "partner.client_created",
        "partner.secret_rotated", "partner.secret_revoked", "partner.client_revoked",
    } <= actions  # fmt: skip


async def test_editors_and_other_organisations_cannot_touch_the_connection(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _organisation()
    other = await make_signatory("bibus", adapter="email")
    foreign = await clients.create_client(slug=other.slug, label="Bibus")
    await member_log_in(client, worker, mail_sink, EDITOR)
    assert (await client.get(PAGE)).status_code == 403
    assert (await post_form(client, f"{PAGE}/clients", {"label": "X"})).status_code == 403
    await post_form(client, "/organisation/deconnexion", {})
    await member_log_in(client, worker, mail_sink, DPO)
    stolen = await post_form(client, f"{PAGE}/clients/{foreign.client_id}/secret", {})
    assert stolen.status_code == 404
    closed = await post_form(client, f"{PAGE}/clients/{foreign.client_id}/revoquer", {})
    assert closed.status_code == 404
    prefix = foreign.client_secret[:8]
    theirs = await post_form(
        client, f"{PAGE}/clients/{foreign.client_id}/secrets/{prefix}/revoquer", {}
    )
    assert theirs.status_code == 404
    assert await clients.authenticate(
        client_id=foreign.client_id, client_secret=foreign.client_secret
    )
