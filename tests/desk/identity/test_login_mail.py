"""Login mails sent many at once by one worker (its lanes read the challenges and forget the
tokens together): each person gets their own link, once, and no job keeps its token."""

from __future__ import annotations

import asyncio
import hashlib

from starlette.applications import Starlette

from desk.core import clock
from desk.identity.login import request_login
from desk.identity.models import LoginChallenge
from desk.jobs import build_worker
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.residents.services import AUDIENCE as RESIDENTS
from desk.runtime import Runtime
from desk.staff.services import AUDIENCE as STAFF

GUARD = 30


async def _drain(app: Starlette) -> None:
    runtime: Runtime = app.state.runtime
    worker = build_worker(runtime)
    assert worker.concurrency > 1
    task = asyncio.create_task(worker.run_forever())
    for _ in range(GUARD * 20):
        if not await OutboxJob.filter(state__in=[JobState.PENDING, JobState.RUNNING]).exists():
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(task, timeout=GUARD)


async def test_each_of_many_login_mails_sent_at_once_carries_its_own_link(
    app: Starlette, mail_sink: MailSink
) -> None:
    key = app.state.runtime.settings.secret_key
    addresses = [f"personne-{n}@exemple.fr" for n in range(12)]
    for n, address in enumerate(addresses):
        await request_login(
            audience=RESIDENTS,
            email=address,
            browser=f"navigateur-{n}",
            secret_key=key,
            locale="en" if n % 3 == 0 else "fr",
        )
    # Among them, a link already used (no mail), and a staff address nobody holds (no mail).
    used = await request_login(
        audience=RESIDENTS, email="deja@exemple.fr", browser="b", secret_key=key
    )
    assert used is not None
    await LoginChallenge.filter(id=used.id).update(used_at=clock.now())
    await request_login(audience=STAFF, email="inconnu@exemple.fr", browser="c", secret_key=key)

    await _drain(app)

    assert await OutboxJob.filter(state=JobState.DONE).count() == len(addresses) + 2
    challenges = {c.email: c.id for c in await LoginChallenge.filter(audience="resident")}
    for n, address in enumerate(addresses):
        (mail,) = mail_sink.to(address)
        (link,) = [link for link in mail.links if "/connexion/" in link]
        token = link.rsplit("/", 1)[1]
        assert hashlib.sha256(token.encode()).hexdigest() == challenges[address]
        english = n % 3 == 0
        assert ("Hello" in mail.text) is english, mail.text
    assert mail_sink.to("deja@exemple.fr") == [] and mail_sink.to("inconnu@exemple.fr") == []
    # Sent, or nobody to send to: the job forgets the token (the used link's job is left as is).
    jobs = [job for job in await OutboxJob.all() if job.payload["challenge_id"] != used.id]
    assert len(jobs) == len(addresses) + 1
    assert all("token" not in job.payload for job in jobs)
