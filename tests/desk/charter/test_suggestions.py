"""The charter's text and "Proposer une amélioration": anyone suggests, the committee answers in
public, the author hears of it by mail and their address is then erased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from desk.charter import suggestions
from desk.charter.models import CharterSuggestion
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.registry.charter_versions import PRINCIPLES, VERSIONS
from desk.registry.joining import change_status
from tests.desk.organisations.test_space import _candidate
from tests.desk.staff.support import post_form, staff_log_in, text
from tests.helpers import csrf_token

AUTHOR = "habitante@exemple.invalid"


async def test_the_charter_page_has_eleven_principles_versions_and_who_signed_which(
    client: httpx.AsyncClient,
) -> None:
    assert [p.number for p in PRINCIPLES] == list(range(1, 12))
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    await change_status(slug=signatory.slug, status="signed", reason="Signée.", actor="t")
    page = text(await client.get("/charte"))
    for number in range(1, 12):
        assert f"Principe {number} :" in page
    assert "Seul le texte officiel publié par Brest métropole fait foi." in page
    assert 'href="https://www.brest.fr/"' in page
    for version in VERSIONS:
        assert version.number in page
    assert "non adoptée (travail préparatoire)" in page
    assert f"{signatory.name}</a></td><td>2022-10</td>" in page
    english = text(await client.get("/charte?lang=en"))
    assert "Principle 11" in english and "Serve the public interest" in english
    assert "Only the official text published by Brest métropole is authoritative." in english


async def test_signing_an_unknown_charter_version_is_refused(client: httpx.AsyncClient) -> None:
    signatory = await _candidate()
    await change_status(slug=signatory.slug, status="capacity_shown", reason="Vu.", actor="t")
    try:
        await change_status(
            slug=signatory.slug, status="signed", reason="x", actor="t", charter_version="2021-12"
        )
    except Exception as exc:  # noqa: BLE001 - the French refusal is what we check
        assert "version en vigueur" in str(getattr(exc, "message", exc))
    else:
        raise AssertionError("a draft version was signed")


async def _suggest(client: httpx.AsyncClient, **data: str) -> httpx.Response:
    token = await csrf_token(client, "/charte/ameliorations")
    return await client.post("/charte/ameliorations", data={"csrftoken": token, **data})


async def test_bad_suggestions_are_answered_in_french_and_nothing_is_kept(
    client: httpx.AsyncClient,
) -> None:
    cases = [
        ({"text": "   ", "principle": "", "email": ""}, "Écrivez votre proposition"),
        ({"text": "x" * 4001, "principle": "", "email": ""}, "trop long"),
        ({"text": "Une idée", "principle": "12", "email": ""}, "Choisissez un principe"),
        ({"text": "Une idée", "principle": "٣", "email": ""}, "Choisissez un principe"),
        ({"text": "Une idée", "principle": "", "email": "pas-une-adresse"}, "pas valide"),
    ]
    for data, words in cases:
        response = await _suggest(client, **data)
        assert response.status_code == 422, (data["principle"], response.status_code)
        assert words in text(response)
    absurd = await _suggest(client, text="x" * 200_000, principle="", email="")
    assert absurd.status_code in (413, 422)
    assert "trop" in text(absurd)
    assert await CharterSuggestion.all().count() == 0


async def test_the_committee_answers_publicly_and_the_author_is_told_then_forgotten(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    sent = await _suggest(
        client,
        text="Ajouter un principe sur les capteurs dans l'espace public. Je suis Marie Dupont.",
        principle="10",
        email=AUTHOR,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/charte/ameliorations"
    thanked = text(await client.get("/charte/ameliorations"))
    assert "Merci : votre proposition est transmise" in thanked
    assert "capteurs" not in thanked  # published only once answered
    suggestion = await CharterSuggestion.get()
    assert suggestion.principle == 10 and suggestion.author_email == AUTHOR

    await staff_log_in(client, worker, mail_sink, email="comite@exemple.invalid", role="committee")
    committee = text(await client.get("/comite"))
    assert f"Répondre à la proposition n° {suggestion.id}" in committee
    url = f"/comite/ameliorations/{suggestion.id}"
    assert "Marie Dupont" in text(await client.get(url))
    refused = await post_form(client, url, {"outcome": "peut-être", "answer": "x", "text": ""})
    assert refused.status_code == 422 and "Choisissez la suite" in text(refused)
    empty = await post_form(client, url, {"outcome": "studied", "answer": " ", "text": ""})
    assert empty.status_code == 422 and "Écrivez la réponse du comité" in text(empty)
    answered = await post_form(
        client,
        url,
        {
            "outcome": "studied",
            "answer": "Le comité étudie ce point pour la prochaine version.",
            "text": "Ajouter un principe sur les capteurs dans l'espace public.",
        },
    )
    assert answered.status_code == 303
    again = await post_form(client, url, {"outcome": "declined", "answer": "Non.", "text": ""})
    assert again.status_code == 409 and "déjà répondu" in text(again)

    public = text(await client.get("/charte/ameliorations"))
    assert "capteurs dans l'espace public" in public
    assert "mise à l'étude par le comité" in public
    assert "Marie Dupont" not in public and AUTHOR not in public

    await worker.run_until_idle()
    mails = mail_sink.to(AUTHOR)
    assert len(mails) == 1 and "la réponse du comité" in mails[0].subject
    assert "Le comité étudie ce point" in mails[0].text
    await suggestion.refresh_from_db()
    assert suggestion.author_email == ""

    decisions = text(await client.get("/charte/comite"))
    assert "Proposition d'amélioration de la charte" in decisions


async def test_an_unanswered_authors_address_is_erased_after_a_year(
    client: httpx.AsyncClient,
) -> None:
    now = datetime.now(UTC)
    old = await suggestions.submit_suggestion(
        text="Une idée ancienne.", principle="", email=AUTHOR, now=now - timedelta(days=366)
    )
    recent = await suggestions.submit_suggestion(
        text="Une idée récente.", principle="3", email=AUTHOR, now=now
    )
    assert await suggestions.purge_unanswered_addresses(now=now) == 1
    await old.refresh_from_db()
    await recent.refresh_from_db()
    assert old.author_email == "" and recent.author_email == AUTHOR
