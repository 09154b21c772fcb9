"""Logging in to an organisation's space through the mailed link, as its people do."""

from __future__ import annotations

import httpx

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.helpers import csrf_token, form_token


async def member_log_in(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink, email: str
) -> httpx.Response:
    token = await csrf_token(client, "/organisation/connexion")
    sent = await client.post("/organisation/connexion", data={"csrftoken": token, "email": email})
    assert sent.status_code == 200
    await worker.run_until_idle()
    mails = mail_sink.to(email)
    assert mails, "no organisation login mail arrived"
    link = next(x for x in mails[-1].links if "/organisation/connexion/" in x)
    path = link.removeprefix("http://testserver")
    confirm = await client.get(path)
    assert confirm.status_code == 200
    return await client.post(path, data={"csrftoken": form_token(client)})
