"""Logs carry ids, never people: a whole journey logged at DEBUG, then searched for every
email address and name it went through. And the lines an operator collects are JSON with the
request id, the route template, the status and the duration."""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Iterator

import httpx
import pytest

from desk.demo.seed import DEMO_RESIDENT_EMAIL, demo_dpo_email, seed_demo
from desk.demo.seed_data import SIGNATORIES
from desk.logs import (
    ContextFilter,
    JsonFormatter,
    configure_logging,
    job_context,
    request_id_var,
)
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.desk.mediation.support import log_in_staff, open_session, session_form
from tests.desk.residents.helpers import log_in

RAW_FORMAT = "%(levelname)s %(name)s %(message)s"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Everything logged, at DEBUG, as the raw message (what the code wrote) and as the JSON
    lines `desk serve` writes. The logging set-up is put back afterwards."""
    root = logging.getLogger()
    level = root.level
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    pytest_handlers = list(root.handlers)
    configure_logging("json", "DEBUG")
    ours = list(root.handlers)
    for handler in pytest_handlers:  # configure_logging replaced them; pytest removes its own
        root.addHandler(handler)
    raw, lines = io.StringIO(), io.StringIO()
    for stream, formatter in (
        (raw, logging.Formatter(RAW_FORMAT)),
        (lines, JsonFormatter()),
    ):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
        ours.append(handler)
    try:
        yield raw, lines
    finally:
        for handler in ours:
            root.removeHandler(handler)
        root.setLevel(level)
        for name, saved in saved_levels.items():
            logging.getLogger(name).setLevel(saved)
        logging.captureWarnings(False)


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def _answer_as_dpo(client: httpx.AsyncClient, link: str) -> None:
    page = await client.get(_path(link))
    assert page.status_code == 200, page.text
    answer = await client.post(
        _path(link),
        data={
            "csrftoken": client.cookies["csrftoken"],
            "action": "fulfil",
            "result": "erased",
            "erased_categories": "identité",
            "recipients_notified": "",
        },
    )
    assert answer.status_code == 303, answer.text


async def test_a_whole_journey_logs_no_email_name_or_token(
    captured: tuple[io.StringIO, io.StringIO],
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
) -> None:
    raw, lines = captured
    await seed_demo()

    # The demo resident logs in by the emailed link and erases their data everywhere.
    await log_in(client, worker, mail_sink, DEMO_RESIDENT_EMAIL)
    login_token = next(
        link for m in mail_sink.to(DEMO_RESIDENT_EMAIL) for link in m.links if "/connexion/" in link
    ).rsplit("/", 1)[1]
    key = secrets.token_urlsafe(16)
    filed = await client.post(
        "/mon-espace/demandes",
        data={"csrftoken": client.cookies["csrftoken"], "kind": "erasure", "submission_key": key},
    )
    assert filed.status_code == 303, filed.text
    await worker.run_until_idle()

    # Signatories on the email channel answer from their signed links; simulated ones alone.
    answer_links = {
        link for m in mail_sink.messages() for link in m.links if "/partenaires/reponse/" in link
    }
    email_signatories = [s for s in SIGNATORIES if s["adapter"] == "email"]
    assert len(answer_links) == len(email_signatories)
    for link in answer_links:
        await _answer_as_dpo(client, link)
    for _ in range(5):
        await worker.run_until_idle()
    request_page = await client.get(_path(filed.headers["location"]))
    assert request_page.status_code == 200
    assert "reçu" in request_page.text.lower()

    # A mediator opens an assisted session for a resident without email.
    mediator = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with mediator:
        staff = await log_in_staff(mediator, worker, mail_sink)
        opened = await open_session(mediator)
        assert opened.status_code == 303, opened.text
    await worker.run_until_idle()

    people = session_form()
    secrets_and_people = {
        DEMO_RESIDENT_EMAIL,
        staff.email,
        staff.display_name,
        str(people["full_name"]),
        str(people["street"]),
        login_token,
        key,
        *(demo_dpo_email(s["slug"]) for s in SIGNATORIES),
        *(s["name"] for s in SIGNATORIES),
        *(link.rsplit("/", 1)[1] for link in answer_links),
    }
    for text in (raw.getvalue(), lines.getvalue()):
        assert len(text.splitlines()) > 50  # the journey was logged, at DEBUG too
        # Case matters: a signatory's slug (an id, "sotraval") may be its name in lower case.
        found = sorted(s for s in secrets_and_people if s in text)
        assert not found, f"found in the logs: {found}"
        # Message-IDs (<key@desk.invalid>) are the only addresses allowed.
        addresses = re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", text)
        assert all(a.endswith("@desk.invalid") for a in addresses), addresses

    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    access = [r for r in records if r["logger"] == "desk.access"]
    assert access
    for line in access:
        assert {"request_id", "method", "route", "status", "duration_ms"} <= line.keys()
        assert "?" not in line["route"]
    routes = {line["route"] for line in access}
    assert "/connexion/{token}" in routes and "/partenaires/reponse/{token}" in routes
    jobs = [r for r in records if "job_id" in r]
    assert {"mail.login", "delivery.dispatch"} <= {r["job_kind"] for r in jobs}


def test_lines_carry_the_request_and_job_they_belong_to() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("desk.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        token = request_id_var.set("req-12345678")
        try:
            with job_context(42, "mail.login"):
                logger.info(
                    "sent to %s as %s", "someone@exemple.invalid", "<mail-login-7@desk.invalid>"
                )
        finally:
            request_id_var.reset(token)
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "req-12345678"
    assert (inside["job_id"], inside["job_kind"]) == (42, "mail.login")
    # An address that slipped through is masked; the desk's Message-IDs are not addresses.
    assert inside["msg"] == "sent to [email] as <mail-login-7@desk.invalid>"
    assert "request_id" not in outside and "job_id" not in outside
