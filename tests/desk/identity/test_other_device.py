"""A login link opened on another device than the one that asked (issue 17, item 7): the
browser binding protects, it does not block. The PC asks, the phone opens the mailed link; the
phone logs in after typing the code the PC shows, or once the PC confirms it, and only the phone.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.identity import login_links
from desk.identity.models import LoginChallenge
from desk.identity.other_device import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_CODE_ATTEMPTS,
    code_for,
    normalise_code,
)
from desk.mail.sink import MailSink
from desk.organisations.models import MemberRole, OrganisationMember
from desk.outbox.worker import Worker
from desk.residents.models import Resident
from desk.staff.services import add_staff
from tests.desk.identity.other_device_support import (
    ORGANISATION,
    REF_RE,
    RESIDENT,
    STAFF,
    Area,
    ask_on_pc,
    code_on_pc,
    phone,
    post,
    words,
)
from tests.factories import make_signatory

EMAIL = "camille@exemple.fr"
AGENT = "agent@guichet.exemple.invalid"


def _wrong(code: str) -> str:
    """Another well-formed code (one symbol changed)."""
    return ("1" if code[0] != "1" else "2") + code[1:]


async def _prepare(area: Area) -> str:
    if area is STAFF:
        await add_staff(email=AGENT, display_name="Agent", role="back_office")
        return AGENT
    return EMAIL


@pytest.mark.parametrize("area", [RESIDENT, STAFF], ids=["resident", "staff"])
async def test_the_phone_logs_in_with_the_code_the_pc_shows_and_the_pc_does_not(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, area: Area
) -> None:
    email = await _prepare(area)
    link = await ask_on_pc(client, worker, mail_sink, area, email)
    code = await code_on_pc(client, area)
    async with phone(app) as mobile:
        opened = await mobile.get(link)
        # Not the asking browser: a page that asks for the code (or the PC's confirmation).
        assert opened.status_code == 403
        assert opened.headers["referrer-policy"] == "no-referrer"
        assert f'action="{link}/code"' in opened.text
        assert f'action="{link}/autre-appareil"' in opened.text
        # Or a new link asked from this browser, at the audience's own login form.
        assert f'action="{area.prefix}"' in opened.text
        assert "Tapez le code affiché sur l'appareil qui a demandé le lien" in words(opened)
        # Typed as people type it: lower case, a space instead of the dash.
        typed = code.lower().replace("-", " ")
        done = await post(mobile, f"{link}/code", code=typed)
        assert done.status_code == 303 and done.headers["location"] == area.home
        assert done.headers["referrer-policy"] == "no-referrer"
        assert (await mobile.get(area.home)).status_code == 200
    # The PC asked, but only the phone is logged in; the link is spent.
    assert (await client.get(area.home)).status_code == 303
    again = await post(client, link)
    assert again.status_code == 410 and "déjà été utilisé" in words(again)
    audience = "staff" if area is STAFF else "resident"
    (login,) = await AuditRecord.filter(action=f"{audience}.login")
    assert login.detail == {"method": "email", "via": "code"}


async def test_wrong_codes_burn_the_link_with_a_clear_message(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    link = await ask_on_pc(client, worker, mail_sink, RESIDENT, EMAIL)
    code = await code_on_pc(client, RESIDENT)
    async with phone(app) as stranger:
        await stranger.get(link)
        # A malformed code is explained and spends no try.
        malformed = await post(stranger, f"{link}/code", code="abc")
        assert malformed.status_code == 422
        assert "Un code a 6 caractères" in words(malformed)
        assert 'aria-invalid="true"' in malformed.text
        for left in range(MAX_CODE_ATTEMPTS - 1, 0, -1):
            wrong = await post(stranger, f"{link}/code", code=_wrong(code))
            assert wrong.status_code == 403
            text = words(wrong)
            assert "Ce code n'est pas le bon" in text
            assert f"Il vous reste {left} essai(s)" in text
        last = await post(stranger, f"{link}/code", code=_wrong(code))
        assert last.status_code == 410
        assert "Trop de codes erronés ont été tapés" in words(last)
        assert "Lien bloqué" in words(last)
        # Burned: even the right code, or the PC itself, no longer logs in.
        right = await post(stranger, f"{link}/code", code=code)
        assert right.status_code == 410
        assert (await stranger.get(RESIDENT.home)).status_code == 303
    on_pc = await post(client, link)
    assert on_pc.status_code == 410 and "Trop de codes erronés" in words(on_pc)
    assert (await client.get(RESIDENT.home)).status_code == 303
    assert await Resident.filter(email=EMAIL).count() == 0
    # The link forgot its address; every step is in the audit log, without the address.
    assert await LoginChallenge.filter(email__isnull=False).count() == 0
    wrongs = await AuditRecord.filter(action="login.code_wrong")
    assert [r.detail["remaining"] for r in wrongs] == list(range(MAX_CODE_ATTEMPTS - 1, -1, -1))
    (burned,) = await AuditRecord.filter(action="login.link_burned")
    assert burned.actor == "anonymous" and burned.subject.startswith("login:")
    assert "camille" not in repr([(r.actor, r.subject, r.detail) for r in wrongs])


@pytest.mark.parametrize("area", [RESIDENT, STAFF], ids=["resident", "staff"])
async def test_the_pc_confirms_the_phone_which_then_logs_in(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, area: Area
) -> None:
    email = await _prepare(area)
    link = await ask_on_pc(client, worker, mail_sink, area, email)
    nobody_yet = await client.get(area.other_device)
    assert "Aucun autre appareil n'attend pour l'instant" in words(nobody_yet)
    async with phone(app) as mobile:
        await mobile.get(link)
        asked = await post(mobile, f"{link}/autre-appareil")
        assert asked.status_code == 303 and asked.headers["location"] == link
        waiting = await mobile.get(link)
        assert waiting.status_code == 200
        assert "En attente de confirmation" in words(waiting)
        assert f'href="{link}"' in waiting.text  # the plain link that checks again
        # Not confirmed yet: the button would not log in.
        assert (await post(mobile, link)).status_code == 403

        # On the PC: which kind of device asks, and a question.
        page = await client.get(area.other_device)
        text = words(page)
        assert "Un autre appareil (Firefox, Android) demande à se connecter" in text
        ref = REF_RE.search(page.text)
        assert ref is not None
        confirmed = await post(client, area.other_device, demande=ref.group(1), reponse="confirmer")
        assert confirmed.status_code == 303
        assert "Connexion confirmée" in words(await client.get(confirmed.headers["location"]))

        ready = await mobile.get(link)
        assert ready.status_code == 200 and 'method="post"' in ready.text
        assert f'action="{link}"' in ready.text
        done = await post(mobile, link)
        assert done.status_code == 303 and done.headers["location"] == area.home
        assert (await mobile.get(area.home)).status_code == 200
    assert (await client.get(area.home)).status_code == 303
    audience = "staff" if area is STAFF else "resident"
    (login,) = await AuditRecord.filter(action=f"{audience}.login")
    assert login.detail == {"method": "email", "via": "confirmed"}
    steps = await AuditRecord.filter(action__startswith="login.")
    assert [r.action for r in steps] == ["login.other_device_asked", "login.other_device_approved"]


async def test_the_pc_refuses_and_the_link_dies(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    link = await ask_on_pc(client, worker, mail_sink, RESIDENT, EMAIL)
    async with phone(app) as stranger:
        await post(stranger, f"{link}/autre-appareil")
        page = await client.get(RESIDENT.other_device)
        ref = REF_RE.search(page.text)
        assert ref is not None
        refused = await post(client, RESIDENT.other_device, demande=ref.group(1), reponse="refuser")
        assert "Connexion refusée" in words(await client.get(refused.headers["location"]))
        gone = await stranger.get(link)
        assert gone.status_code == 410
        assert "a refusé cette connexion" in words(gone)
    assert (await post(client, link)).status_code == 410
    assert await AuditRecord.filter(action="login.link_refused").count() == 1
    # Answering again: nothing waits any more.
    again = await post(client, RESIDENT.other_device, demande=ref.group(1), reponse="confirmer")
    assert again.status_code == 409


async def test_one_other_device_at_a_time_and_a_confirmation_lets_in_only_that_one(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    link = await ask_on_pc(client, worker, mail_sink, RESIDENT, EMAIL)
    async with phone(app) as mobile, phone(app) as third:
        await post(mobile, f"{link}/autre-appareil")
        await third.get(link)
        late = await post(third, f"{link}/autre-appareil")
        assert late.status_code == 409
        assert "Un autre appareil attend déjà" in words(late)
        ref = REF_RE.search((await client.get(RESIDENT.other_device)).text)
        assert ref is not None
        await post(client, RESIDENT.other_device, demande=ref.group(1), reponse="confirmer")
        # The confirmation names the phone's browser, not any browser holding the link.
        assert (await post(third, link)).status_code == 403
        assert (await post(mobile, link)).status_code == 303


async def test_the_code_page_says_so_in_a_browser_that_asked_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(RESIDENT.other_device)
    assert page.status_code == 200
    assert "Aucun lien de connexion n'est en cours dans ce navigateur" in words(page)
    assert 'class="login-code"' not in page.text
    answer = await post(client, RESIDENT.other_device, demande="0" * 32, reponse="peut-etre")
    assert answer.status_code == 422
    assert "Choisissez de confirmer ou de refuser" in words(answer)


async def test_an_organisations_dpo_logs_in_on_the_phone_with_the_code(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    signatory = await make_signatory("ports-iroise")
    dpo = "dpo@ports-iroise.exemple.invalid"
    member = await OrganisationMember.create(
        signatory=signatory, email=dpo, display_name="Maël", role=MemberRole.DPO
    )
    link = await ask_on_pc(client, worker, mail_sink, ORGANISATION, dpo)
    code = await code_on_pc(client, ORGANISATION)
    async with phone(app) as mobile:
        opened = await mobile.get(link)
        assert opened.status_code == 403
        assert 'action="/organisation/connexion"' in opened.text
        done = await post(mobile, f"{link}/code", code=code)
        assert done.status_code == 303 and done.headers["location"] == ORGANISATION.home
        assert (await mobile.get(ORGANISATION.home)).status_code == 200
    assert (await client.get(ORGANISATION.home)).status_code == 303
    (login,) = await AuditRecord.filter(action="organisation.login")
    assert login.actor == f"member:{member.id}" and login.detail == {"via": "code"}


async def test_a_link_of_one_audience_is_no_link_on_another_s_code_form(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    link = await ask_on_pc(client, worker, mail_sink, RESIDENT, EMAIL)
    code = await code_on_pc(client, RESIDENT)
    token = link.rsplit("/", 1)[1]
    async with phone(app) as mobile:
        await mobile.get(STAFF.prefix)
        staff_side = await post(mobile, f"{STAFF.prefix}/{token}/code", code=code)
        assert staff_side.status_code == 404
        assert (await mobile.get(STAFF.home)).status_code == 303
    # No try was spent on the resident's link.
    assert (await LoginChallenge.get(audience="resident")).code_attempts == 0


def test_codes_are_six_unambiguous_symbols_and_read_as_people_type_them() -> None:
    kind = login_links.RESIDENT
    code = code_for(kind=kind, secret_key="k", browser_digest="a" * 64)
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert not set("ILOU") & set(CODE_ALPHABET)
    # Another browser, audience or key: another code.
    others = {
        code_for(kind=kind, secret_key="k", browser_digest="b" * 64),
        code_for(kind=login_links.STAFF, secret_key="k", browser_digest="a" * 64),
        code_for(kind=kind, secret_key="autre", browser_digest="a" * 64),
    }
    assert code not in others
    assert normalise_code(" 7kq-2mx ") == "7KQ2MX"
    assert normalise_code("0O1 IL2") == "001112"
    for bad in ("", "7KQ2M", "7KQ2MXX", "7KQ-2MU", "ÉÉÉÉÉÉ", "x" * 400):
        assert normalise_code(bad) is None, bad
