"""Login mails sent many at once by one worker (its lanes read the challenges and forget the
tokens together): each person gets their own link, once, and no job keeps its token."""

from __future__ import annotations

import asyncio
import hashlib

from aiosmtpd.smtp import Envelope
from starlette.applications import Starlette

from desk.core import clock
from desk.identity.login import request_login
from desk.identity.models import LoginChallenge
from desk.jobs import build_worker
from desk.mail.sender import MailError
from desk.mail.sink import MailSink
from desk.outbox.models import JobState, OutboxJob
from desk.outbox.worker import PermanentJobError
from desk.residents import jobs as resident_jobs
from desk.residents.services import AUDIENCE as RESIDENTS
from desk.runtime import Runtime
from desk.staff import services as staff_services
from desk.staff.services import AUDIENCE as STAFF
from desk.staff.services import add_staff, deactivate_staff

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


async def test_a_refused_address_fails_its_own_job_and_its_retry_sends_only_that_mail(
    app: Starlette, mail_sink: MailSink
) -> None:
    """One batch: the server refuses one recipient for now (4xx) and another for good (5xx).
    Those two jobs fail alone; the others' mails go out. Run again (as after a worker killed
    before it recorded the batch), the batch sends only the mail that had failed."""
    runtime: Runtime = app.state.runtime
    key = runtime.settings.secret_key
    await add_staff(email="agent@guichet.exemple.fr", display_name="Agent", role="back_office")
    await add_staff(email="parti@guichet.exemple.fr", display_name="Parti", role="back_office")
    await deactivate_staff(email="parti@guichet.exemple.fr")
    residents = ["un@exemple.fr", "occupe@exemple.fr", "deux@exemple.fr", "refuse@exemple.fr"]
    for n, address in enumerate(residents):
        await request_login(audience=RESIDENTS, email=address, browser=f"b{n}", secret_key=key)
    for n, address in enumerate(["agent@guichet.exemple.fr", "parti@guichet.exemple.fr"]):
        await request_login(audience=STAFF, email=address, browser=f"s{n}", secret_key=key)
    busy = {"occupe@exemple.fr"}

    async def handle_rcpt(
        server: object, session: object, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in busy:
            return "450 4.2.1 Mailbox busy, try again later"
        if address == "refuse@exemple.fr":
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    # aiosmtpd reads the handler's hooks at each new connection.
    mail_sink.handle_RCPT = handle_rcpt  # type: ignore[attr-defined]
    await runtime.mailer.close()

    async def run_batches() -> dict[str, Exception | None]:
        outcomes: dict[str, Exception | None] = {}
        for kind, handler in [
            ("mail.login", resident_jobs.send_login_links),
            ("mail.staff_login", staff_services.send_staff_login_links),
        ]:
            jobs = list(await OutboxJob.filter(kind=kind).order_by("id"))
            challenges = {
                c.id: c.email
                for c in await LoginChallenge.filter(
                    id__in=[j.payload["challenge_id"] for j in jobs]
                )
            }
            results = await handler(jobs, runtime)
            for job, result in zip(jobs, results, strict=True):
                outcomes[str(challenges[job.payload["challenge_id"]])] = result
        return outcomes

    first = await run_batches()
    assert isinstance(first["occupe@exemple.fr"], MailError)
    assert not isinstance(first["occupe@exemple.fr"], PermanentJobError)
    assert isinstance(first["refuse@exemple.fr"], PermanentJobError)
    assert [a for a, outcome in first.items() if outcome is None] == [
        "un@exemple.fr",
        "deux@exemple.fr",
        "agent@guichet.exemple.fr",
        "parti@guichet.exemple.fr",
    ]
    sent = ["un@exemple.fr", "deux@exemple.fr", "agent@guichet.exemple.fr"]
    assert sorted(m.to[0] for m in mail_sink.messages()) == sorted(sent)
    # A job's last_error keeps no address (desk.mail.sender).
    assert "@" not in str(first["occupe@exemple.fr"]) + str(first["refuse@exemple.fr"])

    busy.clear()
    again = await run_batches()
    assert [a for a, outcome in again.items() if outcome is not None] == ["refuse@exemple.fr"]
    # Only the mail that had failed went out now: nobody got theirs twice.
    assert sorted(m.to[0] for m in mail_sink.messages()) == sorted([*sent, "occupe@exemple.fr"])
    assert mail_sink.to("parti@guichet.exemple.fr") == []
