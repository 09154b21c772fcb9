"""Helpers for the residents' tests: log in for real, through the mailed link."""

from __future__ import annotations

import html
from collections.abc import Mapping

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.helpers import csrf_token, form_token


async def ask_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await csrf_token(client, "/connexion")
    return await client.post("/connexion", data={"csrftoken": token, "email": email})


async def mailed_link(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, email: str
) -> str:
    response = await ask_link(client, email)
    assert response.status_code == 200
    await worker.run_until_idle()
    mails = mail_sink.to(email)
    assert mails, "no login mail arrived"
    links = [link for link in mails[-1].links if "/connexion/" in link]
    assert links
    return links[0]


async def log_in(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, email: str
) -> None:
    link = await mailed_link(client, worker, mail_sink, email)
    path = link.removeprefix("http://testserver")
    page = await client.get(path)
    assert page.status_code == 200
    response = await client.post(path, data={"csrftoken": form_token(client)})
    assert response.status_code == 303
    assert response.headers["location"] == "/mon-espace"


async def post_form(
    client: httpx.AsyncClient, path: str, data: Mapping[str, str | list[str]]
) -> httpx.Response:
    token = form_token(client) or await csrf_token(client)
    return await client.post(path, data={"csrftoken": token, **data})


def page_text(response: httpx.Response) -> str:
    """The page as a reader sees it (entities such as &#39; decoded)."""
    return html.unescape(response.text)
