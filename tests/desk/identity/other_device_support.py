"""For the other-device tests: one person, two browsers (the PC that asks, the phone that opens
the mailed link), through the app and the real SMTP sink."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.helpers import csrf_token, form_token

PHONE_AGENT = (
    "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"  # "Firefox, Android"
)
CODE_RE = re.compile(r'class="login-code"><strong>([0-9A-Z]{3}-[0-9A-Z]{3})</strong>')
REF_RE = re.compile(r'name="demande" value="([0-9a-f]{32})"')


@dataclass(frozen=True)
class Area:
    """Where an audience logs in, and where a logged-in person of it lands."""

    prefix: str
    home: str

    @property
    def other_device(self) -> str:
        return f"{self.prefix}/autre-appareil"


RESIDENT = Area("/connexion", "/mon-espace")
STAFF = Area("/equipe/connexion", "/back-office")
ORGANISATION = Area("/organisation/connexion", "/organisation")


def phone(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"user-agent": PHONE_AGENT},
    )


def words(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def ask_on_pc(
    pc: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, area: Area, email: str
) -> str:
    """The PC asks for a link; the path of the link the mail carries."""
    token = await csrf_token(pc, area.prefix)
    sent = await pc.post(area.prefix, data={"csrftoken": token, "email": email})
    assert sent.status_code == 200
    # The "check your mail" page leads to the page that shows the code.
    assert f'href="{area.other_device}"' in sent.text
    await worker.run_until_idle()
    mails = mail_sink.to(email)
    assert mails, "no login mail arrived"
    link = next(x for x in mails[-1].links if f"{area.prefix}/" in x)
    return link.removeprefix("http://testserver")


async def code_on_pc(pc: httpx.AsyncClient, area: Area) -> str:
    page = await pc.get(area.other_device)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    found = CODE_RE.search(page.text)
    assert found, "the asking browser's page shows no code"
    return found.group(1)


async def post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    token = form_token(client) or await csrf_token(client)
    return await client.post(path, data={"csrftoken": token, **data})
