"""Login links (residents and staff): hashed, single use, short-lived, bound to one browser."""

from __future__ import annotations

import hashlib

import httpx
from starlette.applications import Starlette
from tortoise import connections

from desk.audit.log import record_digest
from desk.audit.models import AuditRecord
from desk.identity.models import LoginChallenge
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents.models import Resident
from desk.staff.services import add_staff
from tests.conftest import TABLES
from tests.desk.residents.helpers import ask_link, mailed_link, page_text
from tests.desk.staff.support import staff_link, text


async def _everything_stored() -> str:
    """Every row of every table, as text: what someone reading the database would see."""
    conn = connections.get("default")
    dump = []
    for table in TABLES:
        dump.append(repr(await conn.execute_query_dict(f"SELECT * FROM {table}")))
    return "\n".join(dump)


def _token(path: str) -> str:
    return path.rsplit("/", 1)[1]


async def test_the_database_never_holds_the_token_of_a_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await ask_link(client, "camille@exemple.fr")
    stored_before_mail = await _everything_stored()
    await worker.run_until_idle()
    (mail,) = mail_sink.to("camille@exemple.fr")
    path = next(link for link in mail.links if "/connexion/" in link).removeprefix(
        "http://testserver"
    )
    token = _token(path)
    assert len(token) >= 43  # 32 random bytes: 256 bits
    assert token not in stored_before_mail
    challenge = await LoginChallenge.get(audience="resident")
    assert challenge.id == hashlib.sha256(token.encode()).hexdigest()
    assert token not in await _everything_stored()

    await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert (await client.get("/mon-espace")).status_code == 200
    assert token not in await _everything_stored()


async def test_opening_the_link_shows_a_page_and_only_the_button_logs_in(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path = (await mailed_link(client, worker, mail_sink, "lea@exemple.fr")).removeprefix(
        "http://testserver"
    )
    for _ in range(2):  # a mail scanner may open it more than once
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer"
        assert 'method="post"' in page.text and 'name="csrftoken"' in page.text
    assert (await client.get("/mon-espace")).status_code == 303
    assert await Resident.filter(email="lea@exemple.fr").count() == 0

    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303
    assert done.headers["referrer-policy"] == "no-referrer"
    assert (await client.get("/mon-espace")).status_code == 200
    # Used once: the same link is gone, in French, and still says nothing to other sites.
    again = await client.get(path)
    assert again.status_code == 410 and "déjà été utilisé" in page_text(again)
    assert again.headers["referrer-policy"] == "no-referrer"


async def test_a_link_opened_in_another_browser_explains_and_logs_nobody_in(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path = (await mailed_link(client, worker, mail_sink, "noe@exemple.fr")).removeprefix(
        "http://testserver"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        page = await other.get(path)
        assert page.status_code == 403
        words = page_text(page)
        assert "ne fonctionne que dans le navigateur où vous l'avez demandé" in words
        assert page.headers["referrer-policy"] == "no-referrer"
        # ... and offers to ask for a new link from here.
        assert 'action="/connexion"' in page.text and 'name="email"' in page.text
        # Copying the other browser's CSRF cookie is not enough either.
        posted = await other.post(path, data={"csrftoken": other.cookies["csrftoken"]})
        assert posted.status_code == 403
        assert (await other.get("/mon-espace")).status_code == 303
        # A forged nonce cookie does not help.
        other.cookies.set("desk_login_browser", "A" * 43, path="/connexion")
        assert (await other.get(path)).status_code == 403
    # The link is still good where it was asked for.
    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303 and done.headers["location"] == "/mon-espace"


async def test_the_browser_cookie_is_httponly_short_lived_and_shared_by_two_links(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    first = await ask_link(client, "ines@exemple.fr")
    cookie = first.headers["set-cookie"]
    assert "desk_login_browser=" in cookie
    assert "HttpOnly" in cookie and "Max-Age=600" in cookie and "Path=/connexion" in cookie
    nonce = client.cookies["desk_login_browser"]
    await ask_link(client, "ines@exemple.fr")
    assert client.cookies["desk_login_browser"] == nonce
    challenges = await LoginChallenge.filter(audience="resident")
    assert {c.browser_digest for c in challenges} == {hashlib.sha256(nonce.encode()).hexdigest()}
    await worker.run_until_idle()
    older, newer = (
        next(link for link in m.links if "/connexion/" in link).removeprefix("http://testserver")
        for m in mail_sink.to("ines@exemple.fr")
    )
    # The first link still works after a second one was asked.
    done = await client.post(older, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303
    assert "desk_login_browser" not in client.cookies  # forgotten once logged in


async def test_logins_are_in_the_audit_log(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    path = (await mailed_link(client, worker, mail_sink, "remi@exemple.fr")).removeprefix(
        "http://testserver"
    )
    await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    resident = await Resident.get(email="remi@exemple.fr")
    (record,) = await AuditRecord.filter(action="resident.login")
    assert record.actor == f"resident:{resident.id}"
    assert record.detail == {"method": "email"}
    assert "remi" not in repr(record.detail) + record.actor + record.subject
    assert record.digest == record_digest(
        prev=record.prev_digest or "",
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        detail=record.detail,
    )


async def test_staff_links_are_bound_to_the_browser_and_audited(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    staff = await add_staff(email="agent@guichet.exemple.invalid", display_name="A", role="admin")
    path = await staff_link(client, worker, mail_sink, "agent@guichet.exemple.invalid")
    assert (
        hashlib.sha256(_token(path).encode()).hexdigest()
        == (await LoginChallenge.get(audience="staff")).id
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        elsewhere = await other.get(path)
        assert elsewhere.status_code == 403
        assert "ne fonctionne que dans le navigateur" in text(elsewhere)
        assert 'action="/equipe/connexion"' in elsewhere.text
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    done = await client.post(path, data={"csrftoken": client.cookies["csrftoken"]})
    assert done.status_code == 303 and done.headers["referrer-policy"] == "no-referrer"
    (record,) = await AuditRecord.filter(action="staff.login")
    assert record.actor == f"staff:{staff.id}" and record.detail == {"method": "email"}
