"""Whether an address (or a partner's client id) is known can be told neither from the answer
nor from the work done to give it (issue 14, item 5).

Timings are not asserted here (bench/login_timing.py measures them); what is asserted is what
makes them equal: the same status, body, headers and cookies, and the same database writes of
the same kinds, for a known, a deactivated and an unknown address.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from desk.core import crypto
from desk.identity.models import LoginChallenge
from desk.mail.sink import MailSink
from desk.outbox.models import OutboxJob
from desk.outbox.worker import Worker
from desk.partners import clients
from desk.registry.models import CharterStatus, Signatory
from desk.staff.services import add_staff, deactivate_staff
from tests.desk.identity.sessions_support import browser
from tests.factories import make_resident, make_signatory
from tests.helpers import csrf_token

TOKEN_FIELD = re.compile(r'name="csrftoken" value="[^"]*"')
# Values that differ on every answer whoever asks: random cookie values, the request id.
RANDOM_HEADERS = {"x-request-id"}


def observable(response: httpx.Response) -> tuple[object, ...]:
    """Everything a client sees, but the values that are random for everyone alike."""
    headers = []
    for name, value in response.headers.multi_items():
        if name in RANDOM_HEADERS:
            continue
        if name == "set-cookie":
            cookie, _, attributes = value.partition(";")
            value = f"{cookie.partition('=')[0]}=…;{attributes}"
        headers.append((name, value))
    body = TOKEN_FIELD.sub('name="csrftoken" value="…"', response.text)
    return response.status_code, sorted(headers), body


async def writes() -> dict[str, int]:
    challenges = await LoginChallenge.all().values_list("audience", flat=True)
    jobs = await OutboxJob.all().values_list("kind", flat=True)
    counted: dict[str, int] = {}
    for kind in [f"challenge:{a}" for a in challenges] + [f"job:{k}" for k in jobs]:
        counted[kind] = counted.get(kind, 0) + 1
    return counted


async def ask(app: Starlette, path: str, email: str) -> tuple[httpx.Response, dict[str, int]]:
    """One fresh browser asks for a link; the answer, and the rows it added, by kind."""
    before = await writes()
    async with browser(app) as client:
        token = await csrf_token(client, path)
        response = await client.post(path, data={"csrftoken": token, "email": email})
    after = await writes()
    return response, {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k)}


@pytest.mark.parametrize(
    ("path", "prepare"),
    [("/equipe/connexion", "staff"), ("/connexion", "resident")],
    ids=["staff", "resident"],
)
async def test_known_deactivated_and_unknown_addresses_get_the_same_answer_and_work(
    app: Starlette, worker: Worker, mail_sink: MailSink, path: str, prepare: str
) -> None:
    known, gone, unknown = (
        "connu@guichet.exemple.invalid",
        "parti@guichet.exemple.invalid",
        "inconnu@guichet.exemple.invalid",
    )
    if prepare == "staff":
        await add_staff(email=known, display_name="Connu", role="back_office")
        await add_staff(email=gone, display_name="Parti", role="admin")
        assert await deactivate_staff(email=gone)
    else:
        await make_resident(known)
        await make_resident(gone)
    answers = {email: await ask(app, path, email) for email in (known, gone, unknown)}

    seen = {email: observable(response) for email, (response, _) in answers.items()}
    assert seen[known] == seen[gone] == seen[unknown]
    assert seen[known][0] == 200
    rows = {email: added for email, (_, added) in answers.items()}
    assert rows[known] == rows[gone] == rows[unknown]
    audience = "staff" if prepare == "staff" else "resident"
    assert rows[known] == {f"challenge:{audience}": 1, f"job:mail.{_job(audience)}": 1}

    await worker.run_until_idle()
    if prepare == "staff":
        # Only the active member gets a mail; the other jobs kept no token.
        assert len(mail_sink.to(known)) == 1
        assert mail_sink.to(gone) == [] and mail_sink.to(unknown) == []
    else:
        # Residents: everyone gets a link (following it opens or creates the account).
        assert all(len(mail_sink.to(e)) == 1 for e in (known, gone, unknown))
    assert all("token" not in job.payload for job in await OutboxJob.all())


def _job(audience: str) -> str:
    return "staff_login" if audience == "staff" else "login"


async def test_the_token_endpoint_does_the_same_work_for_any_client_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_signatory("bibus")
    await make_signatory("exclue")
    one = await clients.create_client(slug="bibus")
    two = await clients.create_client(slug="bibus")
    await clients.rotate_secret(client_id=two.client_id)  # two active secrets
    excluded = await clients.create_client(slug="exclue")
    await Signatory.filter(slug="exclue").update(charter_status=CharterStatus.EXCLUDED)

    runs: list[int] = []
    real = crypto.check_secret

    def counting(secret: str, stored: str) -> bool:
        runs[-1] += 1
        return real(secret, stored)

    monkeypatch.setattr(crypto, "check_secret", counting)

    async def post(client_id: str, secret: str) -> httpx.Response:
        runs.append(0)
        return await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )

    attempts: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "unknown client": lambda: post("inconnu-" + one.client_id[8:], one.client_secret),
        "one secret, wrong": lambda: post(one.client_id, "faux-secret"),
        "two secrets, wrong": lambda: post(two.client_id, "faux-secret"),
        "excluded, right secret": lambda: post(excluded.client_id, excluded.client_secret),
    }
    refused = {name: await attempt() for name, attempt in attempts.items()}
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(attempts, 401)
    assert len({r.text for r in refused.values()}) == 1
    accepted = await post(one.client_id, one.client_secret)
    assert accepted.status_code == 200
    # The same number of scrypt runs whatever the answer.
    assert runs == [runs[0]] * len(runs) and runs[0] >= 2
