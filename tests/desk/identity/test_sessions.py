"""Server-side sessions: what a stolen, planted or forgotten cookie can still open (nothing)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from desk.audit.models import AuditRecord
from desk.core import clock
from desk.identity.models import WebSession
from desk.identity.sessions import COOKIE, SECURE_COOKIE
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents.models import Resident
from desk.settings import Settings
from desk.staff.services import deactivate_staff
from tests.desk.identity.sessions_support import (
    browser,
    cookie_attributes,
    row_of,
    running_app,
    set_cookies,
)
from tests.desk.residents.helpers import log_in, page_text, post_form
from tests.desk.staff.support import staff_log_in, text

AGENT = "agent@guichet.exemple.invalid"


def _plant(client: httpx.AsyncClient, value: str) -> None:
    # The domain httpx files the desk's own cookie under, so the desk's answer replaces it.
    client.cookies.set(COOKIE, value, domain="testserver.local", path="/")


async def test_an_anonymous_visit_writes_no_session(client: httpx.AsyncClient) -> None:
    for path in ("/", "/connexion", "/signataires", "/equipe/connexion", "/comprendre"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert not set_cookies(response, COOKIE), path
    assert await WebSession.all().count() == 0


async def test_login_replaces_a_planted_session_value(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    # Someone sets a session cookie of their choosing in the resident's browser beforehand.
    planted = secrets.token_urlsafe(32)
    _plant(client, planted)
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    value = client.cookies[COOKIE]
    assert value != planted
    resident = await Resident.get(email="camille@exemple.fr")
    row = await row_of(value)
    assert row is not None and row.resident_id == resident.id
    # The planted value opens nothing: the one who planted it is not logged in.
    async with browser(app) as intruder:
        _plant(intruder, planted)
        assert (await intruder.get("/mon-espace")).status_code == 303


async def test_the_pre_login_session_does_not_survive_the_staff_login(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    # Asking for a staff page first stores where to go back to: a real anonymous session.
    assert (await client.get("/back-office")).status_code == 303
    before = client.cookies[COOKIE]
    anonymous = await row_of(before)
    assert anonymous is not None and anonymous.staff_id is None
    staff = await staff_log_in(client, worker, mail_sink, email=AGENT)
    after = client.cookies[COOKIE]
    assert after != before
    assert await row_of(before) is None
    logged_in = await row_of(after)
    assert logged_in is not None and logged_in.staff_id == staff.id
    assert (await client.get("/back-office")).status_code == 200
    async with browser(app) as other:
        _plant(other, before)
        assert (await other.get("/back-office")).status_code == 303


async def test_an_old_cookie_replayed_after_logout_is_not_logged_in(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "sacha@exemple.fr")
    stolen = client.cookies[COOKIE]
    out = await post_form(client, "/deconnexion", {})
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert await row_of(stolen) is None
    async with browser(app) as thief:
        _plant(thief, stolen)
        replay = await thief.get("/mon-espace")
        assert replay.status_code == 303 and replay.headers["location"] == "/connexion"
        # The dead cookie is cleared in that browser.
        (cleared,) = set_cookies(replay, COOKIE)
        assert cookie_attributes(cleared)["max-age"] == "0"
    resident = await Resident.get(email="sacha@exemple.fr")
    record = await AuditRecord.get(action="resident.logout")
    assert record.actor == f"resident:{resident.id}"


async def test_log_out_everywhere_ends_the_session_in_every_browser(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "lou@exemple.fr")
    async with browser(app) as phone:
        await log_in(phone, worker, mail_sink, "lou@exemple.fr")
        assert (await phone.get("/mon-espace")).status_code == 200
        dashboard = await client.get("/mon-espace")
        assert "Se déconnecter de tous les appareils" in page_text(dashboard)
        out = await post_form(client, "/deconnexion/partout", {})
        assert out.status_code == 303 and out.headers["location"] == "/"
        home = await client.get("/")
        assert "Vous êtes déconnecté de tous vos appareils." in page_text(home)
        assert (await client.get("/mon-espace")).status_code == 303
        assert (await phone.get("/mon-espace")).status_code == 303
    resident = await Resident.get(email="lou@exemple.fr")
    assert not await WebSession.filter(resident_id=resident.id).exists()
    record = await AuditRecord.get(action="resident.logout_everywhere")
    assert record.actor == f"resident:{resident.id}" and record.detail == {"sessions": 2}


async def test_staff_log_out_everywhere_and_deactivation_close_every_desk(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    staff = await staff_log_in(client, worker, mail_sink, email=AGENT)
    async with browser(app) as other_desk:
        await staff_log_in(other_desk, worker, mail_sink, email=AGENT)
        home = await client.get("/equipe")
        assert "Se déconnecter de tous les appareils" in text(home)
        out = await post_form(client, "/equipe/deconnexion/partout", {})
        assert out.status_code == 303 and out.headers["location"] == "/equipe/connexion"
        assert (await client.get("/equipe")).status_code == 303
        assert (await other_desk.get("/equipe")).status_code == 303
        record = await AuditRecord.get(action="staff.logout_everywhere")
        assert record.actor == f"staff:{staff.id}" and record.detail == {"sessions": 2}

        # Logged in again, then the account is closed: its sessions go with it.
        await staff_log_in(other_desk, worker, mail_sink, email=AGENT)
        assert await WebSession.filter(staff_id=staff.id).count() == 1
        assert await deactivate_staff(email=AGENT) is True
        assert not await WebSession.filter(staff_id=staff.id).exists()
        assert (await other_desk.get("/equipe")).status_code == 303
    closed = await AuditRecord.get(action="staff.deactivate")
    assert closed.subject == f"staff:{staff.id}" and closed.detail == {"sessions_ended": 1}


async def test_a_session_ends_after_thirty_idle_minutes(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "alex@exemple.fr")
    value = client.cookies[COOKIE]
    row = await row_of(value)
    assert row is not None

    # Under a minute since the last write: a visit writes nothing.
    recent = clock.now() - timedelta(seconds=30)
    await WebSession.filter(id=row.id).update(last_seen_at=recent)
    assert (await client.get("/mon-espace")).status_code == 200
    touched = await row_of(value)
    assert touched is not None and abs(touched.last_seen_at - recent) < timedelta(seconds=1)

    # 29 minutes away: still logged in, and the visit counts as activity.
    await WebSession.filter(id=row.id).update(last_seen_at=clock.now() - timedelta(minutes=29))
    assert (await client.get("/mon-espace")).status_code == 200
    touched = await row_of(value)
    assert touched is not None
    assert touched.last_seen_at > clock.now() - timedelta(minutes=1)

    # 31 minutes away: logged out, the row deleted and the cookie cleared.
    await WebSession.filter(id=row.id).update(last_seen_at=clock.now() - timedelta(minutes=31))
    after = await client.get("/mon-espace")
    assert after.status_code == 303 and after.headers["location"] == "/connexion"
    assert await row_of(value) is None
    assert cookie_attributes(set_cookies(after, COOKIE)[-1])["max-age"] == "0"


async def test_a_session_ends_at_its_absolute_end_however_active(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, settings: Settings
) -> None:
    await log_in(client, worker, mail_sink, "eden@exemple.fr")
    row = await row_of(client.cookies[COOKIE])
    assert row is not None
    life = row.expires_at - row.created_at
    assert abs(life - timedelta(seconds=settings.session_max_age)) < timedelta(minutes=1)
    await WebSession.filter(id=row.id).update(expires_at=clock.now() - timedelta(seconds=1))
    assert (await client.get("/mon-espace")).status_code == 303
    assert not await WebSession.filter(id=row.id).exists()


async def test_a_staff_session_lasts_two_hours_and_says_when_it_expired(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await staff_log_in(client, worker, mail_sink, email=AGENT)
    row = await row_of(client.cookies[COOKIE])
    assert row is not None
    assert abs(row.expires_at - row.created_at - timedelta(hours=2)) < timedelta(minutes=1)
    await WebSession.filter(id=row.id).update(last_seen_at=clock.now() - timedelta(minutes=31))
    expired = await client.get("/back-office")
    assert expired.status_code == 303 and expired.headers["location"] == "/equipe/connexion"
    login = await client.get("/equipe/connexion")
    assert "Votre session d'équipe a expiré" in text(login)


async def test_the_worker_purges_ended_sessions(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await log_in(client, worker, mail_sink, "noa@exemple.fr")
    row = await row_of(client.cookies[COOKIE])
    assert row is not None
    await worker.maintain()
    assert await WebSession.filter(id=row.id).exists()
    await WebSession.filter(id=row.id).update(last_seen_at=clock.now() - timedelta(hours=1))
    await worker.maintain()
    assert not await WebSession.filter(id=row.id).exists()


async def test_over_https_the_cookie_is_host_only_secure_and_httponly(
    settings: Settings, mail_sink: MailSink
) -> None:
    async with (
        running_app(settings, mail_sink, https_only=True, base_url="https://testserver") as app,
        browser(app, "https://testserver") as client,
    ):
        response = await client.get("/back-office")  # remembers the page: a session is written
        assert not set_cookies(response, COOKIE)
        (header,) = set_cookies(response, SECURE_COOKIE)
        attributes = cookie_attributes(header)
        assert attributes["path"] == "/"
        assert "secure" in attributes and "httponly" in attributes
        assert attributes["samesite"].lower() == "lax"
        assert "domain" not in attributes
        # And a real login works with it.
        await log_in(client, build_worker(app.state.runtime), mail_sink, "tls@exemple.fr")
        assert (await client.get("/mon-espace")).status_code == 200


async def test_over_http_the_cookie_is_httponly_and_lax(client: httpx.AsyncClient) -> None:
    response = await client.get("/back-office")
    (header,) = set_cookies(response, COOKIE)
    attributes = cookie_attributes(header)
    assert "httponly" in attributes and attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/" and "domain" not in attributes
