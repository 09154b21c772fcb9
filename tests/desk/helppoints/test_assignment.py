"""The back office's list of help points says where each mediator works; an administrator picks
the place from the directory (a select), and renaming an entry reaches the accounts naming it."""

from __future__ import annotations

import httpx

from desk.helppoints.models import HelpPoint
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.staff.models import StaffMember
from desk.staff.services import add_staff
from tests.desk.helppoints.support import directory_entry
from tests.desk.helppoints.test_directory import point_form
from tests.desk.mediation.support import log_in_staff
from tests.desk.staff.support import post_form, text

KERINOU = "Centre social de Kérinou"
PONTANEZEN = "Cyber-base de Pontanézen"


async def _team() -> tuple[StaffMember, StaffMember]:
    await directory_entry(KERINOU)
    await directory_entry("Point fermé de Saint-Marc", published=False)
    placed = await add_staff(
        email="placee@exemple.invalid", display_name="Morgane Placée", role="mediator",
        help_point=KERINOU,
    )  # fmt: skip
    old = await add_staff(
        email="ancien@exemple.invalid", display_name="Loïc Ancien", role="mediator"
    )
    # Typed before the directory existed: no entry bears this name.
    await StaffMember.filter(id=old.id).update(help_point=PONTANEZEN)
    return placed, old


async def test_admin_chooses_a_mediators_help_point_from_the_directory(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    placed, old = await _team()
    await log_in_staff(
        client, worker, mail_sink, email="admin@exemple.invalid", name="Ada", role="admin",
        help_point="",
    )  # fmt: skip
    page = text(await client.get("/back-office/points-d-aide"))
    assert "Loïc Ancien" in page and "Morgane Placée" in page
    assert page.count("point d'aide absent de l'annuaire") == 1
    assert f"<option>{KERINOU}</option>" in page or f"<option selected>{KERINOU}</option>" in page
    assert "Point fermé de Saint-Marc</option>" not in page  # unpublished: not a choice

    path = f"/back-office/points-d-aide/mediateurs/{old.id}"
    for wrong in ("Kérinou", "Point fermé de Saint-Marc"):
        refused = await post_form(client, path, {"help_point": wrong})
        assert refused.status_code == 422, wrong
        assert "Ce point d'aide n'est pas dans l'annuaire" in text(refused)
        assert 'aria-invalid="true"' in refused.text
    # An absurd length is refused before it reaches the service (desk.web.inputguard).
    huge = await post_form(client, path, {"help_point": "x" * 50_000})
    assert huge.status_code in (413, 422)
    assert (await StaffMember.get(id=old.id)).help_point == PONTANEZEN

    chosen = await post_form(client, path, {"help_point": KERINOU})
    assert chosen.status_code == 303
    assert (await StaffMember.get(id=old.id)).help_point == KERINOU
    after = text(await client.get("/back-office/points-d-aide"))
    assert "Le point d'aide du médiateur est enregistré." in after
    assert "absent de l'annuaire" not in after
    # "None" is a choice too; an account that does not exist is a 404.
    assert (await post_form(client, path, {"help_point": ""})).status_code == 303
    assert (await StaffMember.get(id=old.id)).help_point == ""
    missing = await post_form(client, "/back-office/points-d-aide/mediateurs/999999", {})
    assert missing.status_code == 404

    english = text(await client.get("/back-office/points-d-aide?lang=en"))
    assert "Morgane Placée" in english and "Le point d'aide des médiateurs" not in english


async def test_back_office_sees_the_flag_but_only_an_admin_assigns(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    _placed, old = await _team()
    await log_in_staff(
        client, worker, mail_sink, email="bo@exemple.invalid", name="Bo", role="back_office",
        help_point="",
    )  # fmt: skip
    page = text(await client.get("/back-office/points-d-aide"))
    assert "point d'aide absent de l'annuaire" in page
    assert "/back-office/points-d-aide/mediateurs/" not in page
    refused = await post_form(
        client, f"/back-office/points-d-aide/mediateurs/{old.id}", {"help_point": KERINOU}
    )
    assert refused.status_code == 403
    assert (await StaffMember.get(id=old.id)).help_point == PONTANEZEN


async def test_renaming_an_entry_reaches_the_accounts_that_name_it(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    placed, old = await _team()
    await log_in_staff(
        client, worker, mail_sink, email="bo@exemple.invalid", name="Bo", role="back_office",
        help_point="",
    )  # fmt: skip
    point = await HelpPoint.get(name=KERINOU)
    renamed = point_form(name="Centre social Horizons de Kérinou")
    saved = await post_form(client, f"/back-office/points-d-aide/{point.id}", renamed)
    assert saved.status_code == 303
    assert (await StaffMember.get(id=placed.id)).help_point == "Centre social Horizons de Kérinou"
    assert (await StaffMember.get(id=old.id)).help_point == PONTANEZEN
    page = text(await client.get("/back-office/points-d-aide"))
    assert page.count("point d'aide absent de l'annuaire") == 1
