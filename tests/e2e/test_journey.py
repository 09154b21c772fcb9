"""The resident's whole journey, through the real app, real SMTP and the real worker:
login by emailed link → discovery → access → erasure → partners answer by signed links
→ signed receipt verified with the published keys."""

from __future__ import annotations

import json
import re
import secrets

import httpx
from joserfc import jws
from joserfc.jwk import KeySet

from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from tests.factories import make_signatory
from tests.helpers import csrf_token

EMAIL = "Camille.Le-Gall@Exemple.invalid"
ADDRESS = EMAIL.lower()


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _only_link(mail_sink: MailSink, to: str, fragment: str) -> str:
    links = [link for m in mail_sink.to(to) for link in m.links if fragment in link]
    assert links, f"no {fragment} link mailed to {to}"
    return _path(links[-1])


async def _login(client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink) -> None:
    token = await csrf_token(client, "/connexion")
    sent = await client.post("/connexion", data={"csrftoken": token, "email": EMAIL})
    assert sent.status_code == 200
    await worker.run_until_idle()
    link = _only_link(mail_sink, ADDRESS, "/connexion/")
    confirm = await client.get(link)
    assert confirm.status_code == 200 and "Me connecter" in confirm.text
    logged = await client.post(link, data={"csrftoken": token})
    assert logged.status_code == 303 and logged.headers["location"].endswith("/mon-espace")


async def _file(client: httpx.AsyncClient, **fields: str) -> str:
    token = client.cookies["csrftoken"]
    response = await client.post(
        "/mon-espace/demandes",
        data={"csrftoken": token, "submission_key": secrets.token_urlsafe(16), **fields},
    )
    assert response.status_code == 303, response.text
    return _path(response.headers["location"])


async def _partner_answers(
    client: httpx.AsyncClient,
    mail_sink: MailSink,
    dpo: str,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> httpx.Response:
    link = _only_link(mail_sink, dpo, "/partenaires/reponse/")
    page = await client.get(link)
    assert page.status_code == 200
    token = client.cookies["csrftoken"]
    answer = await client.post(link, data={"csrftoken": token, **data}, files=files)
    assert answer.status_code == 303, answer.text
    return answer


async def test_whole_journey(
    client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    water = await make_signatory("eau-du-ponant", name="Eau du Ponant")  # answers by email
    await make_signatory("bibus", name="Bibus", adapter="simulated")  # answers by itself

    await _login(client, worker, mail_sink)
    dashboard = await client.get("/mon-espace")
    assert dashboard.status_code == 200

    # 1. Who holds my data? One request to every signatory.
    discovery_page = await _file(client, kind="discovery")
    await worker.run_until_idle()
    assert (
        "0 signataires sur 2" in (await client.get("/mon-espace")).text
        or "1 signataire sur 2" in (await client.get("/mon-espace")).text
    )
    await _partner_answers(
        client,
        mail_sink,
        water.dpo_email,
        {"action": "fulfil", "holds_data": "yes", "declarations": "traitement-1"},
    )
    await worker.run_until_idle()
    dashboard = await client.get("/mon-espace")
    assert "2 signataires sur 2 ont répondu" in dashboard.text
    assert "Eau du Ponant" in dashboard.text
    assert (await client.get(discovery_page)).status_code == 200
    assert any(
        "Tous les signataires" in m.subject or "répondu" in m.subject for m in mail_sink.to(ADDRESS)
    )

    # 2. A copy of my data from the water operator, uploaded by its DPO.
    mail_sink.clear()
    access_page = await _file(client, kind="access", signatory="eau-du-ponant")
    await worker.run_until_idle()
    export = json.dumps({"abonné": "Camille", "consommation_m3": 42}).encode()
    await _partner_answers(
        client,
        mail_sink,
        water.dpo_email,
        {"action": "fulfil"},
        files={"copy": ("export.json", export, "application/json")},
    )
    await worker.run_until_idle()
    assert any("copie" in m.subject.lower() for m in mail_sink.to(ADDRESS))
    page = (await client.get(access_page)).text
    (download,) = set(re.findall(r'href="(/mon-espace/copies/[^"/]+)"', page))
    got = await client.get(download)
    assert got.status_code == 200 and got.content == export
    # The same browser may take it again for a short while (an interrupted download); then
    # it is erased (tests/desk/residents/test_copies.py).
    assert (await client.get(download)).content == export

    # 3. Erase everywhere data is held: one click, one confirmation.
    mail_sink.clear()
    confirm = await client.get("/mon-espace/supprimer?tous=1")
    assert confirm.status_code == 200
    fields = dict(re.findall(r'name="(kind|submission_key)" value="([^"]+)"', confirm.text))
    slugs = re.findall(r'name="signatory" value="([^"]+)"', confirm.text)
    assert sorted(slugs) == ["bibus", "eau-du-ponant"]
    erased = await client.post(
        "/mon-espace/demandes",
        data={"csrftoken": client.cookies["csrftoken"], **fields, "signatory": slugs},
    )
    assert erased.status_code == 303
    again = await client.post(  # a double click files nothing more
        "/mon-espace/demandes",
        data={"csrftoken": client.cookies["csrftoken"], **fields, "signatory": slugs},
    )
    assert again.headers["location"] == erased.headers["location"]
    await worker.run_until_idle()
    await _partner_answers(
        client,
        mail_sink,
        water.dpo_email,
        {
            "action": "fulfil",
            "result": "erased",
            "erased_categories": "identité\ncoordonnées\nconsommation",
            "recipients_notified": "Trésor public",
        },
    )
    await worker.run_until_idle()

    # 4. The receipts: emailed, printable, and verifiable by anyone with the published key.
    receipt_links = [
        _path(link) for m in mail_sink.to(ADDRESS) for link in m.links if "/recus/" in link
    ]
    assert len(set(receipt_links)) == 2
    jwks = (await client.get("/.well-known/jwks.json")).json()
    for link in set(receipt_links):
        receipt_page = await client.get(link)
        assert receipt_page.status_code == 200 and "<svg" in receipt_page.text
        assert ADDRESS not in receipt_page.text
        token = (await client.get(link + ".jws")).text
        payload = json.loads(jws.deserialize_compact(token, KeySet.import_key_set(jwks)).payload)
        assert payload["kind"] == "erasure"
        assert payload["status"] == "RequestFulfilled"
        assert ADDRESS not in token and "Camille" not in json.dumps(payload)
        verified = await client.post(
            "/verifier", data={"csrftoken": client.cookies["csrftoken"], "jws": token}
        )
        assert verified.status_code == 200
    water_receipt = [
        json.loads(
            jws.deserialize_compact(
                (await client.get(link + ".jws")).text, KeySet.import_key_set(jwks)
            ).payload
        )
        for link in set(receipt_links)
    ]
    assert any(
        p["signatory"]["slug"] == "eau-du-ponant" and "consommation" in p["erased_categories"]
        for p in water_receipt
    )
