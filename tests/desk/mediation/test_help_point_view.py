"""A help point's mediators share a view of the people followed there; the mandate rules hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from desk.core import clock
from desk.helppoints.models import HelpPoint
from desk.helppoints.services import form_of, update_help_point
from desk.mail.sink import MailSink
from desk.mediation.models import Mandate, MediationEvent
from desk.outbox.worker import Worker
from desk.requests.models import RightsRequest
from desk.staff.models import StaffMember
from tests.desk.mediation.support import (
    HELP_POINT,
    log_in_staff,
    open_session,
    post,
    resident_id_of,
)
from tests.desk.staff.support import text
from tests.factories import make_signatory

OTHER_POINT = "Maison France Services de Lambézellec"


@pytest.fixture
async def team(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Maëlle and Yann at one help point, Nolwenn at another, Erwan at none."""
    made = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        for name in ("maelle", "yann", "nolwenn", "erwan")
    }
    try:
        await log_in_staff(made["maelle"], worker, mail_sink)
        await log_in_staff(
            made["yann"], worker, mail_sink, email="yann@guichet.exemple.invalid",
            name="Yann Collègue",
        )  # fmt: skip
        await log_in_staff(
            made["nolwenn"], worker, mail_sink, email="nolwenn@guichet.exemple.invalid",
            name="Nolwenn Ailleurs", help_point=OTHER_POINT,
        )  # fmt: skip
        await log_in_staff(
            made["erwan"], worker, mail_sink, email="erwan@guichet.exemple.invalid",
            name="Erwan Sans Lieu", help_point="",
        )  # fmt: skip
        yield made
    finally:
        for c in made.values():
            await c.aclose()


async def test_colleagues_share_the_view_other_help_points_see_nothing(
    team: dict[str, httpx.AsyncClient],
) -> None:
    eau = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    maelle, yann, nolwenn = team["maelle"], team["yann"], team["nolwenn"]
    yvonne = resident_id_of(await open_session(maelle))
    jean = resident_id_of(await open_session(maelle, full_name="Jean Kervella"))
    mandate = await Mandate.get(resident_id=yvonne)
    assert mandate.help_point == HELP_POINT
    filed = await post(
        maelle, f"/mediation/habitants/{yvonne}/demandes",
        {"kind": "discovery", "signatory": [str(eau.id)], "submission_key": "cle-vue-0123456789"},
    )  # fmt: skip
    assert filed.status_code == 303
    reference = (await RightsRequest.get(resident_id=yvonne)).reference
    # A colleague of another help point follows someone too: Maëlle's view does not list him.
    resident_id_of(await open_session(nolwenn, full_name="Goulven Ailleurs"))

    shared = text(await yann.get("/mediation/point-d-aide"))
    assert "Yvonne Le Gall" in shared and "Jean Kervella" in shared
    assert "Mandat détenu par Maëlle Médiatrice" in shared
    assert reference in shared and "Eau du Ponant" in shared
    assert "Goulven" not in shared
    # The view shares; it does not hand over the mandate: Yann still opens nothing himself.
    assert (await yann.get(f"/mediation/habitants/{yvonne}")).status_code == 404
    assert (await yann.get(f"/mediation/habitants/{yvonne}/qui-detient")).status_code == 404
    # The holder's own rows link to the file.
    own = text(await maelle.get("/mediation/point-d-aide"))
    assert f'href="/mediation/habitants/{yvonne}"' in own
    assert f'href="/mediation/habitants/{yvonne}"' not in shared

    elsewhere = text(await nolwenn.get("/mediation/point-d-aide"))
    assert "Goulven Ailleurs" in elsewhere
    assert "Yvonne" not in elsewhere and "Jean Kervella" not in elsewhere

    # Revoked: Yvonne drops out at once. Expired: Jean too.
    revoked = await post(maelle, f"/mediation/habitants/{yvonne}/mandats/{mandate.id}/retirer")
    assert revoked.status_code == 303
    await Mandate.filter(resident_id=jean).update(valid_until=clock.now() - timedelta(minutes=1))
    after = text(await yann.get("/mediation/point-d-aide"))
    assert "Yvonne" not in after and "Jean Kervella" not in after
    assert "Personne n'est suivi au point d'aide en ce moment." in after
    # Each look is audited, with ids only.
    yann_id = (await StaffMember.get(email="yann@guichet.exemple.invalid")).id
    looks = await MediationEvent.filter(mediator_id=yann_id, action="view_help_point")
    assert set(looks[0].detail["residents"]) == {yvonne, jean}
    assert looks[-1].detail["residents"] == []


async def test_a_mediator_who_moves_takes_nothing_along(
    team: dict[str, httpx.AsyncClient],
) -> None:
    maelle, nolwenn = team["maelle"], team["nolwenn"]
    yvonne = resident_id_of(await open_session(maelle))
    # Maëlle moves to Nolwenn's help point: her mandate was given at the first one, stays there.
    await StaffMember.filter(email="mediatrice@guichet.exemple.invalid").update(
        help_point=OTHER_POINT
    )
    assert "Yvonne" not in text(await nolwenn.get("/mediation/point-d-aide"))
    assert "Yvonne" in text(await team["yann"].get("/mediation/point-d-aide"))
    # She still holds the mandate herself: her own file is unchanged.
    assert (await maelle.get(f"/mediation/habitants/{yvonne}")).status_code == 200


async def test_a_mediator_without_a_help_point_shares_nothing(
    team: dict[str, httpx.AsyncClient],
) -> None:
    resident_id_of(await open_session(team["maelle"]))
    page = await team["erwan"].get("/mediation/point-d-aide")
    assert page.status_code == 200
    assert "Votre compte ne nomme aucun point d'aide" in text(page)
    assert "Yvonne" not in text(page)
    english = text(await team["erwan"].get("/mediation/point-d-aide?lang=en"))
    assert "Votre compte" not in english


async def test_renaming_the_help_point_keeps_its_people_together(
    team: dict[str, httpx.AsyncClient],
) -> None:
    maelle, yann, nolwenn = team["maelle"], team["yann"], team["nolwenn"]
    yvonne = resident_id_of(await open_session(maelle))
    jean = resident_id_of(await open_session(maelle, full_name="Jean Kervella"))
    resident_id_of(await open_session(nolwenn, full_name="Goulven Ailleurs"))
    # Jean's mandate ended before the rename: its dated record keeps the old name.
    await Mandate.filter(resident_id=jean).update(valid_until=clock.now() - timedelta(minutes=1))
    point = await HelpPoint.get(name=HELP_POINT)
    form = form_of(point)
    form.name = "Espace numérique de Bellevue — Médiathèque"
    await update_help_point(help_point_id=point.id, form=form, actor="system")

    places = dict(await StaffMember.all().values_list("email", "help_point"))
    assert places["mediatrice@guichet.exemple.invalid"] == form.name
    assert places["yann@guichet.exemple.invalid"] == form.name
    assert places["nolwenn@guichet.exemple.invalid"] == OTHER_POINT
    assert (await Mandate.get(resident_id=yvonne)).help_point == form.name
    assert (await Mandate.get(resident_id=jean)).help_point == HELP_POINT

    shared = text(await yann.get("/mediation/point-d-aide"))
    assert form.name in shared
    assert "Yvonne Le Gall" in shared
    assert "Jean Kervella" not in shared and "Goulven" not in shared
    assert "absent de l'annuaire" not in shared
    # A mandate given after the rename carries the new name and joins the same view.
    anne = resident_id_of(await open_session(maelle, full_name="Anne Quéré"))
    assert (await Mandate.get(resident_id=anne)).help_point == form.name
    after = text(await yann.get("/mediation/point-d-aide"))
    assert "Yvonne Le Gall" in after and "Anne Quéré" in after and "Goulven" not in after


async def test_an_old_free_text_help_point_keeps_working_and_is_flagged(
    team: dict[str, httpx.AsyncClient],
) -> None:
    # Written before the directory existed: no entry bears this name.
    old = "Cyber-base de Pontanézen"
    await StaffMember.filter(help_point=HELP_POINT).update(help_point=old)
    yvonne = resident_id_of(await open_session(team["maelle"]))
    assert (await Mandate.get(resident_id=yvonne)).help_point == old
    shared = text(await team["yann"].get("/mediation/point-d-aide"))
    assert "Yvonne Le Gall" in shared
    assert "point d'aide absent de l'annuaire" in shared
    assert "Yvonne" not in text(await team["nolwenn"].get("/mediation/point-d-aide"))
    english = text(await team["yann"].get("/mediation/point-d-aide?lang=en"))
    assert "help point missing from the directory" in english
    assert "absent de l'annuaire" not in english
