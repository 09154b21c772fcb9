"""Joining the charter over real HTTP: apply, be acknowledged, be reviewed, show capacity, sign."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from frictionless import Resource, Schema

from desk.mail.sink import MailSink
from desk.organisations.models import MemberRole, OrganisationMember
from desk.outbox.worker import Worker
from desk.registry.models import CharterApplication, CharterStatus, Signatory
from desk.registry.siret import check_siret
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.helpers import csrf_token

APPLICATION = {
    "name": "Régie des Ports de l'Iroise",
    "kind": "public_operator",
    "siret": "443 061 841 00047",
    "address": "1 quai de la Douane\n29200 Brest",
    "website": "https://ports-iroise.exemple.invalid",
    "dpo_name": "Maël Le Gall",
    "dpo_email": "DPO@ports-iroise.exemple.invalid",
    "applicant_name": "Anne Kerouac",
    "applicant_email": "anne@ports-iroise.exemple.invalid",
}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("443061841", "443061841"),
        ("443 061 841 00047", "44306184100047"),
        ("35600000049837", "35600000049837"),  # La Poste: digits add up to a multiple of 5
    ],
)
def test_siren_and_siret_with_a_good_key_are_accepted(raw: str, expected: str) -> None:
    assert check_siret(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "Indiquez"),
        ("44306184", "9 chiffres"),
        ("4430618410004x", "9 chiffres"),
        ("443061842", "clé de contrôle"),
        ("44306184100048", "clé de contrôle"),
        ("３３３３３３３３３", "9 chiffres"),
    ],
)
def test_bad_siren_or_siret_says_what_is_wrong(raw: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_siret(raw)


async def _apply(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    token = await csrf_token(client, "/charte/rejoindre")
    return await client.post(
        "/charte/rejoindre", data={"csrftoken": token, **APPLICATION, **changes}
    )


async def test_bad_applications_are_answered_in_french_with_every_field_kept(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/charte/rejoindre")
    assert page.status_code == 200
    assert '<label for="f-siret">' in page.text

    bad = await _apply(client, siret="443061842", kind="castle", dpo_email="pas-une-adresse")
    assert bad.status_code == 422
    body = text(bad)
    assert "clé de contrôle ne correspond pas" in body
    assert "Choisissez le type d'organisation" in body
    assert "L'adresse du DPO n'est pas valide" in body
    assert 'value="Régie des Ports de l\'Iroise"' in body  # nothing typed is lost
    assert 'aria-invalid="true"' in bad.text
    assert await CharterApplication.all().count() == 0

    missing = await _apply(client, name="  ", website="ftp://x")
    assert missing.status_code == 422
    assert "Indiquez le nom de l'organisation." in text(missing)
    assert "doit commencer par https://" in text(missing)

    # Longer than any short field: the input guard answers before the route, never a 500.
    too_long = await _apply(client, name="x" * 300)
    assert too_long.status_code in (400, 413, 422)


async def test_an_organisation_applies_is_accepted_shows_capacity_and_signs(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    sent = await _apply(client)
    assert sent.status_code == 200
    assert "Candidature reçue" in text(sent)
    application = await CharterApplication.get(name=APPLICATION["name"])
    assert application.siret == "44306184100047"
    assert application.dpo_email == "dpo@ports-iroise.exemple.invalid"
    await worker.run_until_idle()
    (ack,) = mail_sink.to("anne@ports-iroise.exemple.invalid")
    assert "bien reçue" in ack.subject
    assert f"référence n° {application.id}" in ack.text

    # Only the register role (or an admin) reviews applications.
    await staff_log_in(client, worker, mail_sink, email="bo@guichet.exemple.invalid")
    assert (await client.get("/back-office/candidatures")).status_code == 403
    await post_form(client, "/equipe/deconnexion", {})
    await staff_log_in(
        client, worker, mail_sink, email="registre@guichet.exemple.invalid", role="register"
    )
    listing = await client.get("/back-office/candidatures")
    assert listing.status_code == 200 and APPLICATION["name"] in text(listing)
    path = f"/back-office/candidatures/{application.id}"

    no_reason = await post_form(client, path, {"action": "refuse", "reason": " "})
    assert no_reason.status_code == 422
    assert "Indiquez la raison" in text(no_reason)
    no_action = await post_form(client, path, {"action": "", "reason": ""})
    assert no_action.status_code == 422
    assert (await client.get("/back-office/candidatures/999999")).status_code == 404

    more = await post_form(client, path, {"action": "more", "reason": "Votre statut juridique ?"})
    assert more.status_code == 303
    accepted = await post_form(client, path, {"action": "accept", "reason": ""})
    assert accepted.status_code == 303
    page = await client.get(path)
    assert "Candidature acceptée" in text(page)
    again = await post_form(client, path, {"action": "refuse", "reason": "Trop tard"})
    assert again.status_code == 409

    await worker.run_until_idle()
    subjects = [m.subject for m in mail_sink.to("anne@ports-iroise.exemple.invalid")]
    assert any("il nous manque" in s for s in subjects)
    assert any("acceptée" in s for s in subjects)

    signatory = await Signatory.get(siret="44306184100047")
    assert signatory.charter_status == CharterStatus.CANDIDATE and signatory.signed_on is None
    dpo = await OrganisationMember.get(signatory_id=signatory.id)
    assert dpo.role == MemberRole.DPO and dpo.email == "dpo@ports-iroise.exemple.invalid"

    public = text(await client.get(f"/signataires/{signatory.slug}"))
    assert "Candidat" in public and "pas encore signée" in public
    assert "Son parcours dans la charte" in public

    status_path = f"/back-office/statut/{signatory.slug}"
    skip = await post_form(client, status_path, {"status": "signed", "reason": "Trop tôt"})
    assert skip.status_code == 409
    assert "n'est pas possible" in text(skip)
    shown = await post_form(
        client,
        status_path,
        {"status": "capacity_shown", "reason": "Déclarations et auto-évaluation examinées."},
    )
    assert shown.status_code == 303
    signed = await post_form(
        client, status_path, {"status": "signed", "reason": "Signature en conseil."}
    )
    assert signed.status_code == 303
    signatory = await Signatory.get(id=signatory.id)
    assert signatory.charter_status == CharterStatus.SIGNED
    assert signatory.charter_version == "2022-10" and signatory.signed_on is not None

    public = text(await client.get(f"/signataires/{signatory.slug}"))
    assert "version 2022-10 de la charte" in public
    assert "Déclarations et auto-évaluation examinées." in public

    data = await client.get("/donnees-ouvertes/statuses.json")
    steps = [row["status"] for row in data.json() if row["signatory_slug"] == signatory.slug]
    assert steps == ["candidate", "capacity_shown", "signed"]
    schema = (await client.get("/donnees-ouvertes/statuses.schema.json")).json()
    csv_text = (await client.get("/donnees-ouvertes/statuses.csv")).text
    report = Resource(
        data=list(csv.reader(io.StringIO(csv_text))), schema=Schema.from_descriptor(schema)
    ).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
