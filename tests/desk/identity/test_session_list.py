""" "Mes connexions": a person sees their sessions and ends one, and nobody else's (ASVS 3.3.4)."""

from __future__ import annotations

import contextlib
import html
import re
import secrets
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.identity.models import WebSession
from desk.identity.sessions import COOKIE
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents.models import Resident
from tests.desk.identity.sessions_support import row_of
from tests.desk.residents.helpers import log_in, post_form
from tests.desk.staff.support import staff_log_in

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0"
)
PAGE = "/mon-espace/connexions"
END = "/mon-espace/connexions/fermer"
PARIS = ZoneInfo("Europe/Paris")


@contextlib.asynccontextmanager
async def device(app: Starlette, user_agent: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser, with its own cookies and User-Agent."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"user-agent": user_agent}
    ) as browser:
        yield browser


def words(page: httpx.Response) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def handles(page: httpx.Response) -> list[str]:
    return re.findall(r'name="session" value="([0-9a-f]+)"', page.text)


async def test_a_resident_sees_both_browsers_and_ends_the_other(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    async with device(app, FIREFOX_LINUX) as laptop, device(app, CHROME_ANDROID) as phone:
        await log_in(laptop, worker, mail_sink, "ines@exemple.fr")
        await log_in(phone, worker, mail_sink, "ines@exemple.fr")
        dashboard = await laptop.get("/mon-espace")
        assert f'href="{PAGE}"' in dashboard.text

        listing = await laptop.get(PAGE)
        assert listing.status_code == 200
        shown = words(listing)
        assert "Firefox sur Linux (cet appareil)" in shown
        assert "Chrome sur Android" in shown and "Chrome sur Android (cet appareil)" not in shown
        # Times in Paris, French style ("26 novembre 2026 à 17:28").
        phone_row = await row_of(phone.cookies[COOKIE])
        assert phone_row is not None
        seen = phone_row.last_seen_at.astimezone(PARIS)
        assert re.search(rf"\d{{1,2}}(er)? \w+ {seen.year} à {seen:%H:%M}", shown)
        # One button, for the other browser only; no row id nor cookie on the page.
        assert len(handles(listing)) == 1
        for row in await WebSession.all():
            assert row.id not in listing.text
            assert "Mozilla" not in str(row.data)  # the label only, never the User-Agent
        assert phone.cookies[COOKIE] not in listing.text

        ended = await post_form(laptop, END, {"session": handles(listing)[0]})
        assert ended.status_code == 303 and ended.headers["location"] == PAGE
        after = words(await laptop.get(PAGE))
        assert "La connexion a été fermée" in after
        assert "Firefox sur Linux (cet appareil)" in after and "Chrome sur Android" not in after
        # The phone is logged out; the laptop is not.
        gone = await phone.get("/mon-espace")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/connexion")
        assert (await laptop.get("/mon-espace")).status_code == 200
    resident = await Resident.get(email="ines@exemple.fr")
    record = await AuditRecord.get(action="resident.session_ended")
    assert record.actor == f"resident:{resident.id}"
    assert await WebSession.filter(resident_id=resident.id).count() == 1


async def test_a_handle_opens_nothing_for_another_browser_of_the_same_resident(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    async with device(app, SAFARI_IPHONE) as a, device(app, EDGE_WINDOWS) as b:
        await log_in(a, worker, mail_sink, "noe@exemple.fr")
        await log_in(b, worker, mail_sink, "noe@exemple.fr")
        seen_by_a = handles(await a.get(PAGE))
        b_page = await b.get(PAGE)
        assert "Edge sur Windows (cet appareil)" in words(b_page)
        assert "Safari sur iOS" in words(b_page)
        seen_by_b = handles(b_page)
        assert len(seen_by_a) == len(seen_by_b) == 1 and seen_by_a != seen_by_b
        # B replays the handle A was shown (it names B's own session), then made-up ones,
        # A's row id itself included: only a handle shown to this very browser names a row.
        a_row = await row_of(a.cookies[COOKIE])
        assert a_row is not None
        for forged in (seen_by_a[0], secrets.token_hex(16), a_row.id, a_row.id[:32]):
            refused = await post_form(b, END, {"session": forged})
            assert refused.status_code == 404
            assert "Cette connexion est introuvable" in words(refused)
        empty = await post_form(b, END, {"session": ""})
        assert empty.status_code == 422
        assert (await a.get("/mon-espace")).status_code == 200
        assert (await b.get("/mon-espace")).status_code == 200
    assert not await AuditRecord.filter(action="resident.session_ended").exists()


async def test_a_resident_cannot_end_another_residents_session(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    async with (
        device(app, FIREFOX_LINUX) as y_laptop,
        device(app, CHROME_ANDROID) as y_phone,
        device(app, FIREFOX_LINUX) as x,
    ):
        await log_in(y_laptop, worker, mail_sink, "yanis@exemple.fr")
        await log_in(y_phone, worker, mail_sink, "yanis@exemple.fr")
        await log_in(x, worker, mail_sink, "xavier@exemple.fr")
        y_handle = handles(await y_laptop.get(PAGE))[0]
        x_page = await x.get(PAGE)
        assert handles(x_page) == [] and "Chrome sur Android" not in words(x_page)
        refused = await post_form(x, END, {"session": y_handle})
        assert refused.status_code == 404
        assert (await y_phone.get("/mon-espace")).status_code == 200
        # Not logged in at all: the login page, not a 404 that would say something exists.
        async with device(app, FIREFOX_LINUX) as stranger:
            anonymous = await post_form(stranger, END, {"session": y_handle})
            assert anonymous.status_code == 303
        assert (await y_phone.get("/mon-espace")).status_code == 200


async def test_staff_see_their_desks_and_end_one(
    app: Starlette, worker: Worker, mail_sink: MailSink
) -> None:
    async with device(app, FIREFOX_LINUX) as desk_a, device(app, EDGE_WINDOWS) as desk_b:
        staff = await staff_log_in(desk_a, worker, mail_sink, email="agent@guichet.exemple.invalid")
        await staff_log_in(desk_b, worker, mail_sink, email="agent@guichet.exemple.invalid")
        assert 'href="/equipe/connexions"' in (await desk_a.get("/equipe")).text
        listing = await desk_a.get("/equipe/connexions")
        assert listing.status_code == 200
        assert "Firefox sur Linux (cet appareil)" in words(listing)
        assert "Edge sur Windows" in words(listing)
        refused = await post_form(desk_a, "/equipe/connexions/fermer", {"session": "f" * 32})
        assert refused.status_code == 404
        ended = await post_form(
            desk_a, "/equipe/connexions/fermer", {"session": handles(listing)[0]}
        )
        assert ended.status_code == 303
        gone = await desk_b.get("/equipe")
        assert gone.status_code == 303 and gone.headers["location"] == "/equipe/connexion"
        assert (await desk_a.get("/equipe")).status_code == 200
    record = await AuditRecord.get(action="staff.session_ended")
    assert record.actor == f"staff:{staff.id}"
