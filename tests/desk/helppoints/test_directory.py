"""The directory of help points: staff keep it, the public reads it, the home page leads there."""

from __future__ import annotations

import httpx

from desk.helppoints.demo import DEMO_HELP_POINTS, seed_help_points
from desk.helppoints.models import HelpPoint
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.desk.mediation.support import log_in_staff
from tests.desk.staff.support import post_form


def point_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Centre social de Kérinou",
        "street": "12 rue de Kérinou",
        "postcode": "29200",
        "city": "Brest",
        "opening_hours": "lundi : 9 h – 12 h\r\n\r\njeudi :   14 h – 17 h",
        "phone": "02.98.12.34.56",
        "accessibility": "Accès de plain-pied",
        "languages": "français, breton ; arabe, breton",
        "published": "1",
    }
    data.update(overrides)
    return data


async def _back_office(client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink) -> None:
    await log_in_staff(
        client, worker, mail_sink, email="bo@guichet.exemple.invalid", name="Bo",
        role="back_office", help_point="",
    )  # fmt: skip


async def test_staff_add_a_point_the_public_finds_it(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _back_office(client, worker, mail_sink)
    added = await post_form(client, "/back-office/points-d-aide/nouveau", point_form())
    assert added.status_code == 303
    point = await HelpPoint.get(slug="centre-social-de-kerinou")
    assert point.phone == "02 98 12 34 56"
    assert point.languages == ["français", "breton", "arabe"]
    assert point.opening_hours == "lundi : 9 h – 12 h\njeudi : 14 h – 17 h"
    assert point.city == "BREST"
    listing = await client.get("/back-office/points-d-aide")
    assert "Centre social de Kérinou" in listing.text
    # One name, one place: the same name again is refused, the form kept.
    again = await post_form(client, "/back-office/points-d-aide/nouveau", point_form())
    assert again.status_code == 409
    assert "porte déjà ce nom" in again.text.replace("&#39;", "'")
    assert await HelpPoint.all().count() == 1

    page = await client.get("/points-d-aide")
    assert page.status_code == 200
    html = page.text
    for text in ("Centre social de Kérinou", "12 rue de Kérinou", "29200 BREST", "jeudi : 14 h",
                 "02 98 12 34 56", "Accès de plain-pied", "français, breton, arabe"):  # fmt: skip
        assert text in html, text
    assert 'href="/donnees-ouvertes/points-d-aide.csv"' in html

    # Unpublished: gone from the public directory, still in the back office.
    edit = point_form(published="")
    saved = await post_form(client, f"/back-office/points-d-aide/{point.id}", edit)
    assert saved.status_code == 303
    assert "Kérinou" not in (await client.get("/points-d-aide")).text
    assert "Kérinou" in (await client.get("/back-office/points-d-aide")).text


async def test_bad_or_absurd_input_is_a_french_422(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await _back_office(client, worker, mail_sink)
    cases = {
        "name": ("", "Indiquez le nom du point d'aide"),
        "postcode": ("2920", "5 chiffres"),
        "phone": ("0298", "10 chiffres"),
        "opening_hours": ("   ", "horaires d'ouverture"),
        "languages": (", ".join(f"langue {i}" for i in range(30)), "au plus 20 langues"),
        "city": ("x" * 150, "commune"),
    }
    for name, (value, expected) in cases.items():
        response = await post_form(
            client, "/back-office/points-d-aide/nouveau", point_form(**{name: value})
        )
        assert response.status_code == 422, name
        assert expected in response.text.replace("&#39;", "'"), name
        # The form comes back filled in.
        assert "12 rue de Kérinou" in response.text
    # Longer than any field allows: refused before the route, in French, never a 500.
    huge = await post_form(
        client, "/back-office/points-d-aide/nouveau", point_form(opening_hours="x" * 100_000)
    )
    assert huge.status_code in (413, 422)
    assert await HelpPoint.all().count() == 0
    # An id that cannot exist, or does not: 404.
    assert (await client.get("/back-office/points-d-aide/99999999999")).status_code == 404
    assert (await client.get("/back-office/points-d-aide/12")).status_code == 404
    missing = await post_form(client, "/back-office/points-d-aide/12", point_form())
    assert missing.status_code == 404


async def test_only_back_office_manages_the_directory(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    anonymous = await client.get("/back-office/points-d-aide", follow_redirects=False)
    assert anonymous.status_code == 303
    await log_in_staff(client, worker, mail_sink)  # a mediator
    assert (await client.get("/back-office/points-d-aide")).status_code == 403
    refused = await post_form(client, "/back-office/points-d-aide/nouveau", point_form())
    assert refused.status_code == 403
    # Only the mediator's own help point is in the directory: nothing was added.
    assert not await HelpPoint.filter(name="Centre social de Kérinou").exists()


async def test_home_and_help_pages_lead_to_the_directory(client: httpx.AsyncClient) -> None:
    for path in ("/", "/connexion", "/accessibilite", "/comprendre"):
        html = (await client.get(path)).text
        assert 'href="/points-d-aide"' in html, path


async def test_seed_adds_demo_points_once_and_filters_work(client: httpx.AsyncClient) -> None:
    assert await seed_help_points() == len(DEMO_HELP_POINTS)
    assert await seed_help_points() == 0
    page = (await client.get("/points-d-aide")).text
    assert page.count('class="card" id=') == len(DEMO_HELP_POINTS)
    guipavas = (await client.get("/points-d-aide?commune=GUIPAVAS")).text
    assert "Guipavas" in guipavas and "Recouvrance" not in guipavas
    signs = (await client.get("/points-d-aide?langue=langue des signes française")).text
    assert "Recouvrance" in signs and "Bellevue" not in signs
    # An unknown town shows every point rather than an empty page.
    unknown = (await client.get("/points-d-aide?commune=Atlantis")).text
    assert unknown.count('class="card" id=') == len(DEMO_HELP_POINTS)


async def test_the_directory_and_the_staff_form_speak_english(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await seed_help_points()
    page = (await client.get("/points-d-aide?lang=en")).text
    assert "Digital help points: find help near you" in page
    assert "Opening hours" in page and "Languages spoken" in page
    assert "trouver de l'aide" not in page and "Horaires d'ouverture" not in page
    index = (await client.get("/donnees-ouvertes/")).text
    assert "/donnees-ouvertes/points-d-aide.schema.json" in index
    await _back_office(client, worker, mail_sink)
    refused = await post_form(
        client, "/back-office/points-d-aide/nouveau", point_form(postcode="abc")
    )
    assert refused.status_code == 422
    assert "The postcode is made of 5 digits" in refused.text
