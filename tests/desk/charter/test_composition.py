"""The committee's composition: kept by an administrator in the back office, public on
/charte/comite with colleges and mandate dates; nobody else may change it."""

from __future__ import annotations

import httpx

from desk.charter.models import CommitteeSeat
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.desk.staff.support import post_form, staff_log_in, text

GOOD = {
    "full_name": "Anne Le Bris",
    "college": "citizens",
    "office": "Ancienne jurée de la conférence de consensus",
    "mandate_start": "2025-01-01",
    "mandate_end": "",
}


async def test_an_admin_keeps_the_composition_and_the_public_sees_it(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink, email="admin@exemple.invalid", role="admin")
    page = await client.get("/back-office/comite")
    assert page.status_code == 200 and "Ajouter un membre" in text(page)
    for change, words in (
        ({"full_name": " "}, "Indiquez le nom du membre"),
        ({"full_name": "x" * 201}, "trop long"),
        ({"college": "maires"}, "Choisissez le collège"),
        ({"mandate_start": "31/01/2026"}, "Indiquez la date de début"),
        ({"mandate_end": "2024-12-31"}, "doit suivre la date de début"),
        ({"office": "x" * 201}, "La fonction est trop longue"),
    ):
        refused = await post_form(client, "/back-office/comite", GOOD | change)
        assert refused.status_code == 422, change
        assert words in text(refused)
    absurd = await post_form(client, "/back-office/comite", GOOD | {"office": "x" * 100_000})
    assert absurd.status_code == 422 and "trop long" in text(absurd)
    assert await CommitteeSeat.all().count() == 0

    assert (await post_form(client, "/back-office/comite", GOOD)).status_code == 303
    former = GOOD | {
        "full_name": "Yann Kerével",
        "college": "elected",
        "mandate_start": "2022-10-13",
        "mandate_end": "2024-10-12",
        "office": "Conseiller métropolitain",
    }
    assert (await post_form(client, "/back-office/comite", former)).status_code == 303
    public = text(await client.get("/charte/comite"))
    members, _, past = public.partition("Anciens membres")
    assert "Anne Le Bris" in members and "Habitants, dont des membres du jury citoyen" in members
    assert "Yann Kerével" in past

    seat = await CommitteeSeat.get(name="Anne Le Bris")
    ended = await post_form(
        client, f"/back-office/comite/{seat.id}", GOOD | {"mandate_end": "2025-06-30"}
    )
    assert ended.status_code == 303
    public = text(await client.get("/charte/comite"))
    assert "La composition du comité n'est pas encore publiée." in public
    assert (await post_form(client, "/back-office/comite/99999", GOOD)).status_code == 404
    english = text(await client.get("/charte/comite?lang=en"))
    assert "Former members" in english and "The charter's ethics committee" in english


async def test_the_committee_itself_cannot_change_its_composition(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink, email="comite@exemple.invalid", role="committee")
    assert (await client.get("/back-office/comite")).status_code == 403
    assert (await post_form(client, "/back-office/comite", GOOD)).status_code == 403
    assert await CommitteeSeat.all().count() == 0
