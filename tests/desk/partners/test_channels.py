"""Configuring a signatory's channel: refused early with French messages, secrets encrypted at
rest, rotation keeping two secrets, and a real webhook receiver getting a delivery it trusts."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from tortoise import connections

from desk.demo.reference_partner import create_reference_partner, serve_in_thread
from desk.outbox.worker import Worker
from desk.partners.channels import ChannelError, configure_channel, parse_assignments
from desk.partners.webhooks import new_secret
from desk.registry.models import Signatory
from desk.requests.models import Delivery, DeliveryState, RequestKind
from desk.requests.services import file_request
from tests.factories import make_resident, make_signatory

KEY = "clé-du-guichet-pour-les-tests"


async def _raw_row(slug: str) -> str:
    """The signatory row as stored in the database, every column as text."""
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT adapter, adapter_settings FROM signatory WHERE slug = ?"
        if conn.capabilities.dialect == "sqlite"
        else "SELECT adapter, adapter_settings FROM signatory WHERE slug = $1",
        [slug],
    )
    return json.dumps(rows, default=str, ensure_ascii=False)


async def test_a_webhook_without_secret_gets_one_shown_once_and_stored_encrypted(
    app: Starlette,
) -> None:
    await make_signatory("bibus")
    result = await configure_channel(
        slug="bibus",
        adapter="webhook",
        settings={"url": "https://si.bibus.exemple.fr/webhooks"},
        secret_key=KEY,
    )
    (secret,) = result.generated
    assert secret.startswith("whsec_")
    assert result.secrets == {"secrets": [secret]}
    assert secret not in json.dumps(result.settings)  # safe to print

    stored = await _raw_row("bibus")
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert "enc:v1:" in stored
    signatory = await Signatory.get(slug="bibus")
    assert signatory.adapter == "webhook"
    assert signatory.adapter_settings["url"] == "https://si.bibus.exemple.fr/webhooks"


async def test_a_rest_token_is_never_stored_in_clear(app: Starlette) -> None:
    await make_signatory("eau-du-ponant")
    result = await configure_channel(
        slug="eau-du-ponant",
        adapter="rest",
        settings={"base_url": "https://api.eau.exemple.fr/", "token": "jeton-tres-secret-123"},
        secret_key=KEY,
    )
    assert result.generated == []
    assert result.settings["base_url"] == "https://api.eau.exemple.fr"
    assert "jeton-tres-secret-123" not in json.dumps(result.settings)
    assert "jeton-tres-secret-123" not in await _raw_row("eau-du-ponant")


@pytest.mark.parametrize(
    ("adapter", "given", "expected"),
    [
        ("webhok", {}, "Aucun connecteur nommé « webhok » : choisissez parmi"),
        ("webhook", {}, "Indiquez l'adresse web (URL) du partenaire"),
        ("webhook", {"url": "http://si.exemple.fr/hook"}, "n'est pas chiffrée"),
        ("webhook", {"url": "ftp://si.exemple.fr/hook"}, "doit commencer par https://"),
        (
            "webhook",
            {"url": "https://si.exemple.fr/hook", "secrets": ["motdepasse"]},
            "Le secret de signature n° 1 n'a pas la bonne forme",
        ),
        ("rest", {"base_url": "https://api.exemple.fr"}, "Indiquez le jeton d'accès"),
        ("postal", {}, "Indiquez l'adresse postale"),
    ],
)
async def test_bad_settings_are_refused_at_configuration_with_a_french_message(
    app: Starlette, adapter: str, given: dict[str, object], expected: str
) -> None:
    await make_signatory("bibus")
    with pytest.raises(ChannelError) as refused:
        await configure_channel(slug="bibus", adapter=adapter, settings=given, secret_key=KEY)
    assert expected in refused.value.message
    assert "adapter" not in refused.value.message.lower()
    signatory = await Signatory.get(slug="bibus")
    assert (signatory.adapter, signatory.adapter_settings) == ("email", {})


async def test_an_unknown_signatory_is_named_in_the_refusal(app: Starlette) -> None:
    with pytest.raises(ChannelError) as refused:
        await configure_channel(
            slug="inconnu", adapter="webhook", settings={"url": "https://a.fr"}, secret_key=KEY
        )
    assert refused.value.code == "not_found"
    assert "« inconnu »" in refused.value.message


async def test_rotation_keeps_the_newest_previous_secret_and_two_at_most(app: Starlette) -> None:
    await make_signatory("bibus")
    url = {"url": "https://si.bibus.exemple.fr/webhooks"}
    first = await configure_channel(slug="bibus", adapter="webhook", settings=url, secret_key=KEY)
    second = await configure_channel(
        slug="bibus", adapter="webhook", settings={}, secret_key=KEY, rotate=True
    )
    third = await configure_channel(
        slug="bibus", adapter="webhook", settings={}, secret_key=KEY, rotate=True
    )
    (s1,), (s2,), (s3,) = first.generated, second.generated, third.generated
    assert second.secrets["secrets"] == [s1, s2]
    assert third.secrets["secrets"] == [s2, s3]
    stored = await _raw_row("bibus")
    assert all(s not in stored for s in (s1, s2, s3))
    # Changing only the URL keeps the secrets the partner already holds.
    moved = await configure_channel(
        slug="bibus",
        adapter="webhook",
        settings={"url": "https://nouveau.bibus.exemple.fr/webhooks"},
        secret_key=KEY,
    )
    assert moved.generated == []
    assert moved.secrets["secrets"] == [s2, s3]


async def test_rotation_is_refused_where_nothing_rotates(app: Starlette) -> None:
    await make_signatory("bibus")
    with pytest.raises(ChannelError) as refused:
        await configure_channel(
            slug="bibus",
            adapter="rest",
            settings={"base_url": "https://api.exemple.fr", "token": "abc"},
            secret_key=KEY,
            rotate=True,
        )
    assert "rotation" in refused.value.message


def test_command_line_pairs_accept_json_for_lists() -> None:
    assert parse_assignments(["url=https://a.fr/x?y=1", 'secrets=["whsec_a", "whsec_b"]']) == {
        "url": "https://a.fr/x?y=1",
        "secrets": ["whsec_a", "whsec_b"],
    }
    with pytest.raises(ChannelError, match="clé=valeur"):
        parse_assignments(["url"])
    with pytest.raises(ChannelError, match="JSON"):
        parse_assignments(["secrets=[oops"])


async def test_a_configured_webhook_reaches_a_real_receiver_with_the_decrypted_secret(
    app: Starlette, worker: Worker
) -> None:
    """The partner checks the signature with the secret it was given (and, after a rotation,
    with either the old or the new one): the desk signed with the decrypted secrets."""
    await make_signatory("bibus")
    key = app.state.settings.secret_key
    old_partner = create_reference_partner(
        desk_base_url="http://127.0.0.1:9", client_id="", client_secret="",
        webhook_secrets=[], auto_answer=False,
    )  # fmt: skip
    with serve_in_thread(old_partner) as partner_url:
        first = await configure_channel(
            slug="bibus",
            adapter="webhook",
            settings={"url": f"{partner_url}/webhooks/desk"},
            secret_key=key,
            # The partner runs on this machine: the tests' allow-list says 127.0.0.1/32.
            allowed_networks=app.state.settings.partner_networks,
        )
        old_partner.state.partner.webhook_secrets = list(first.generated)
        resident = await make_resident()
        filed = await file_request(resident_id=resident.id, kind=RequestKind.ERASURE)
        await worker.run_until_idle()

        state = old_partner.state.partner
        assert state.rejected == []
        assert [w.payload["data"]["kind"] for w in state.webhooks] == ["erasure"]
        delivery = await Delivery.get(request_id=filed.id)
        assert delivery.state == DeliveryState.SENT

        # Rotation: a partner that already switched to the new secret accepts the next one.
        rotated = await configure_channel(
            slug="bibus",
            adapter="webhook",
            settings={},
            secret_key=key,
            rotate=True,
            allowed_networks=app.state.settings.partner_networks,
        )
        state.webhook_secrets = list(rotated.generated)
        again = await file_request(resident_id=resident.id, kind=RequestKind.OBJECTION)
        await worker.run_until_idle()
        assert state.rejected == []
        assert [w.payload["data"]["kind"] for w in state.webhooks] == ["erasure", "objection"]
        assert (await Delivery.get(request_id=again.id)).state == DeliveryState.SENT

        # A partner holding a secret the desk never had refuses the message.
        state.webhook_secrets = [new_secret()]
        await file_request(resident_id=resident.id, kind=RequestKind.ACCESS)
        await worker.run_until_idle()
        assert state.rejected == ["bad_signature"]
