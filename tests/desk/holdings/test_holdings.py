from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from tortoise.backends.base.executor import EXECUTOR_CACHE

from desk.app import create_app
from desk.core import clock
from desk.holdings import api as holdings
from desk.holdings.hashing import keyed_hash
from desk.holdings.models import Holding, LineageEvent
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.residents import dashboard, views
from desk.residents.models import Resident
from desk.settings import Settings
from tests.desk.residents.helpers import log_in, page_text
from tests.factories import make_resident, make_signatory
from tests.helpers import partner_token, resolved

PROBLEM = "application/problem+json"


@pytest.fixture
async def app(settings: Settings, mail_sink: MailSink) -> AsyncIterator[Starlette]:
    """The app, with the holdings routes mounted even before desk/app.py lists them."""
    EXECUTOR_CACHE.clear()
    application = create_app(settings, mail_sink=mail_sink)
    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/api/v1/holdings" not in paths:
        application.router.routes.extend(holdings.routes)
    async with LifespanManager(application):
        yield application


class Partner:
    """A signatory's system calling the API with its own bearer token."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    async def key(self) -> str:
        response = await self.client.get("/api/v1/hashing-key", headers=self.headers)
        assert response.status_code == 200, response.text
        key: str = response.json()["key"]
        return key

    async def send(
        self, method: str, path: str, body: Any, idempotency_key: str | None = None
    ) -> httpx.Response:
        headers = dict(self.headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return await self.client.request(method, path, json=body, headers=headers)


async def partner(client: httpx.AsyncClient, slug: str) -> Partner:
    return Partner(client, await partner_token(client, slug))


def h(n: int) -> str:
    return f"{n:064x}"


async def stored(slug: str) -> dict[str, list[str]]:
    rows = await Holding.filter(signatory__slug=slug)
    return {row.subject_hash: list(row.declarations) for row in rows}


def assert_problem(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    detail: str = response.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


async def test_hashing_key_is_created_once_and_shared_by_the_signatory_only(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("eau-du-ponant")
    await make_signatory("bibus")
    first = await partner(client, "eau-du-ponant")
    second = await partner(client, "eau-du-ponant")
    other = await partner(client, "bibus")
    response = await client.get("/api/v1/hashing-key", headers=first.headers)
    body = response.json()
    assert body["algorithm"] == "HMAC-SHA256"
    assert "minuscules" in body["normalisation"] and "+33" in body["normalisation"]
    assert response.headers["cache-control"] == "no-store"
    assert await first.key() == body["key"] == await second.key()
    assert await other.key() != body["key"]
    anonymous = await client.get("/api/v1/hashing-key")
    assert_problem(anonymous, 401, "Jeton")


async def test_put_replaces_the_whole_set_and_post_only_adds(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant", declarations=2)
    eau = await partner(client, "eau-du-ponant")
    first = await eau.send(
        "PUT",
        "/api/v1/holdings",
        {
            "holdings": [
                {"hash": h(1), "kind": "email", "declarations": ["traitement-1"]},
                {"hash": h(2), "kind": "phone"},
            ]
        },
    )
    assert first.status_code == 200 and first.json() == {"count": 2, "removed": 0}
    assert await stored("eau-du-ponant") == {h(1): ["traitement-1"], h(2): []}

    replaced = await eau.send(
        "PUT",
        "/api/v1/holdings",
        {"holdings": [{"hash": h(2).upper(), "kind": "phone"}, {"hash": h(3), "kind": "email"}]},
    )
    assert replaced.json() == {"count": 2, "removed": 1}
    assert await stored("eau-du-ponant") == {h(2): [], h(3): []}

    added = await eau.send(
        "POST",
        "/api/v1/holdings",
        {
            "holdings": [
                {"hash": h(4), "kind": "email"},
                {"hash": h(3), "kind": "email", "declarations": ["traitement-2"]},
            ]
        },
    )
    assert added.status_code == 200 and added.json() == {"count": 2}
    assert await stored("eau-du-ponant") == {h(2): [], h(3): ["traitement-2"], h(4): []}

    emptied = await eau.send("PUT", "/api/v1/holdings", {"holdings": []})
    assert emptied.json() == {"count": 0, "removed": 3}
    assert await stored("eau-du-ponant") == {}


async def test_many_different_updates_in_one_call(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant", declarations=25)
    eau = await partner(client, "eau-du-ponant")
    first = {"holdings": [{"hash": h(n), "kind": "email"} for n in range(25)]}
    assert (await eau.send("PUT", "/api/v1/holdings", first)).status_code == 200
    codes = {
        "holdings": [
            {"hash": h(n), "kind": "phone", "declarations": [f"traitement-{n + 1}"]}
            for n in range(25)
        ]
    }
    assert (await eau.send("POST", "/api/v1/holdings", codes)).json() == {"count": 25}
    assert await stored("eau-du-ponant") == {h(n): [f"traitement-{n + 1}"] for n in range(25)}
    assert {row.identifier_kind for row in await Holding.all()} == {"phone"}


async def test_bad_holdings_are_refused_with_french_problems(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant")
    eau = await partner(client, "eau-du-ponant")
    await eau.send("PUT", "/api/v1/holdings", {"holdings": [{"hash": h(9), "kind": "email"}]})

    async def put(body: Any) -> httpx.Response:
        return await eau.send("PUT", "/api/v1/holdings", body)

    assert_problem(
        await put({"holdings": [{"hash": "ab" * 31 + "a", "kind": "email"}]}),
        422,
        "64 caractères",
        "élément n° 1",
    )
    assert_problem(
        await put({"holdings": [{"hash": "zz" * 32, "kind": "email"}]}), 422, "hexadécimal"
    )
    assert_problem(await put({"holdings": [{"hash": h(1), "kind": "fax"}]}), 422, "« phone »")
    unknown = await put(
        {"holdings": [{"hash": h(1), "kind": "email", "declarations": ["inconnu-42"]}]}
    )
    assert_problem(unknown, 422, "Code de traitement inconnu", "« inconnu-42 »")
    assert_problem(
        await put({"holdings": [{"hash": h(1), "kind": "email"}, {"hash": h(1), "kind": "email"}]}),
        422,
        "élément n° 1",
        "élément n° 2",
    )
    assert_problem(await put({"holdings": {"hash": h(1)}}), 422, "liste")
    assert_problem(await put({"holding": []}), 422, "champ inconnu « holding »")
    assert_problem(
        await put({"holdings": [{"hash": h(1), "kind": "email", "hashh": "x"}]}),
        422,
        "champ inconnu",
    )
    too_many = {"holdings": [{"hash": h(n), "kind": "email"} for n in range(10_001)]}
    assert_problem(await put(too_many), 413, "10000 au plus")

    not_json = await eau.client.put(
        "/api/v1/holdings",
        content=b"{holdings: ",
        headers={**eau.headers, "Content-Type": "application/json"},
    )
    assert_problem(not_json, 400, "JSON valide")
    as_form = await eau.client.put("/api/v1/holdings", data={"holdings": "x"}, headers=eau.headers)
    assert_problem(as_form, 415, "application/json")
    huge = b'{"holdings": [' + b" " * (5 * 1024 * 1024) + b"]}"
    too_large = await eau.client.put(
        "/api/v1/holdings",
        content=huge,
        headers={**eau.headers, "Content-Type": "application/json"},
    )
    assert_problem(too_large, 413, "trop volumineux")

    # Nothing refused touched what was stored.
    assert await stored("eau-du-ponant") == {h(9): []}


async def test_a_signatory_never_sees_nor_changes_another_signatorys_holdings(
    client: httpx.AsyncClient,
) -> None:
    await make_signatory("eau-du-ponant", declarations=2)
    await make_signatory("bibus", declarations=1)
    eau = await partner(client, "eau-du-ponant")
    bibus = await partner(client, "bibus")
    await eau.send(
        "PUT",
        "/api/v1/holdings",
        {"holdings": [{"hash": h(1), "kind": "email", "declarations": ["traitement-2"]}]},
    )
    # Bibus replaces its own set: Eau du Ponant's holdings stay; the same hash may exist twice.
    replaced = await bibus.send(
        "PUT", "/api/v1/holdings", {"holdings": [{"hash": h(1), "kind": "email"}]}
    )
    assert replaced.json() == {"count": 1, "removed": 0}
    emptied = await bibus.send("PUT", "/api/v1/holdings", {"holdings": []})
    assert emptied.json() == {"count": 0, "removed": 1}
    assert await stored("eau-du-ponant") == {h(1): ["traitement-2"]}
    assert await stored("bibus") == {}
    # Another signatory's declaration codes are unknown to Bibus.
    foreign = await bibus.send(
        "POST",
        "/api/v1/holdings",
        {"holdings": [{"hash": h(2), "kind": "email", "declarations": ["traitement-2"]}]},
    )
    assert_problem(foreign, 422, "« traitement-2 »")
    # Idempotency keys belong to one signatory: Bibus reusing Eau du Ponant's key is not a replay.
    body = {"holdings": [{"hash": h(5), "kind": "email"}]}
    assert (await eau.send("POST", "/api/v1/holdings", body, "cle-1")).status_code == 200
    reused = await bibus.send("POST", "/api/v1/holdings", body, "cle-1")
    assert reused.status_code == 200 and "idempotent-replayed" not in reused.headers
    assert h(5) in await stored("bibus")


async def test_lineage_events_are_checked_and_recorded(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant")
    eau = await partner(client, "eau-du-ponant")
    today = clock.local(clock.now()).date()
    event = {
        "subject_hash": h(1),
        "category": "coordonnées",
        "purpose": "relève des compteurs",
        "recipient": "Brest métropole",
        "occurred_on": today.isoformat(),
    }
    ok = await eau.send(
        "POST",
        "/api/v1/lineage-events",
        {
            "events": [
                event,
                {"subject_hash": h(1), "category": "index", "occurred_on": "2024-02-29"},
            ]
        },
    )
    assert ok.status_code == 200 and ok.json() == {"count": 2}
    assert await LineageEvent.filter(signatory__slug="eau-du-ponant").count() == 2

    async def post(**change: Any) -> httpx.Response:
        return await eau.send("POST", "/api/v1/lineage-events", {"events": [{**event, **change}]})

    tomorrow = (today + timedelta(days=1)).isoformat()
    assert_problem(await post(occurred_on=tomorrow), 422, "dans le futur")
    assert_problem(await post(occurred_on="2023-02-30"), 422, "AAAA-MM-JJ")
    assert_problem(await post(occurred_on="15/03/2024"), 422, "AAAA-MM-JJ")
    assert_problem(await post(category="  "), 422, "« category » est obligatoire")
    assert_problem(await post(subject_hash="abc"), 422, "64 caractères")
    assert_problem(await post(recipient="x" * 201), 422, "200 caractères")
    many = {"events": [event] * 1001}
    assert_problem(await eau.send("POST", "/api/v1/lineage-events", many), 413, "1000 au plus")
    assert await LineageEvent.filter(signatory__slug="eau-du-ponant").count() == 2


async def test_a_replayed_write_is_applied_once(client: httpx.AsyncClient) -> None:
    await make_signatory("eau-du-ponant")
    eau = await partner(client, "eau-du-ponant")
    body = {"events": [{"subject_hash": h(1), "category": "index", "occurred_on": "2024-03-01"}]}
    first = await eau.send("POST", "/api/v1/lineage-events", body, "envoi-2024-03-01")
    again = await eau.send("POST", "/api/v1/lineage-events", body, "envoi-2024-03-01")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == {"count": 1}
    assert again.headers["idempotent-replayed"] == "true"
    assert await LineageEvent.all().count() == 1
    other_body = await eau.send(
        "POST", "/api/v1/lineage-events", {"events": []}, "envoi-2024-03-01"
    )
    assert_problem(other_body, 422, "Idempotency-Key")

    # A replayed PUT does not undo what a later PUT did.
    one = {"holdings": [{"hash": h(1), "kind": "email"}]}
    two = {"holdings": [{"hash": h(2), "kind": "email"}]}
    await eau.send("PUT", "/api/v1/holdings", one, "liste-1")
    await eau.send("PUT", "/api/v1/holdings", two, "liste-2")
    replay = await eau.send("PUT", "/api/v1/holdings", one, "liste-1")
    assert replay.headers["idempotent-replayed"] == "true"
    assert await stored("eau-du-ponant") == {h(2): []}
    # Refusals are remembered too: the same key and body get the same problem.
    bad = {"holdings": [{"hash": h(1), "kind": "fax"}]}
    refused = await eau.send("PUT", "/api/v1/holdings", bad, "liste-3")
    replayed_refusal = await eau.send("PUT", "/api/v1/holdings", bad, "liste-3")
    assert refused.status_code == replayed_refusal.status_code == 422
    assert replayed_refusal.json()["detail"] == refused.json()["detail"]


async def test_operations_are_documented_in_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/v1/holdings"]) == {"put", "post"}
    put = paths["/api/v1/holdings"]["put"]
    schema = resolved(document, put["requestBody"]["content"]["application/json"]["schema"])
    assert schema["properties"]["holdings"]["maxItems"] == 10_000
    answer = resolved(document, put["responses"]["200"]["content"]["application/json"]["schema"])
    assert "removed" in answer["properties"]
    assert "get" in paths["/api/v1/hashing-key"]
    lineage = paths["/api/v1/lineage-events"]["post"]
    body = resolved(document, lineage["requestBody"]["content"]["application/json"]["schema"])
    event = resolved(document, body["properties"]["events"]["items"])
    assert "occurred_on" in event["properties"]
    assert "413" in lineage["responses"]


# --- the resident's dashboard -----------------------------------------------------------------


async def _declare_for(client: httpx.AsyncClient, email: str) -> None:
    """Eau du Ponant declares holding data about `email` and reports two events."""
    eau = await partner(client, "eau-du-ponant")
    key = await eau.key()
    subject = keyed_hash(key, "email", email.upper())  # partners' files keep any case
    await eau.send(
        "PUT",
        "/api/v1/holdings",
        {"holdings": [{"hash": subject, "kind": "email", "declarations": ["traitement-1"]}]},
    )
    await eau.send(
        "POST",
        "/api/v1/lineage-events",
        {
            "events": [
                {
                    "subject_hash": subject,
                    "category": "coordonnées",
                    "purpose": "envoi des factures",
                    "recipient": "Imprimerie du Léon",
                    "occurred_on": "2024-03-01",
                },
                {"subject_hash": subject, "category": "index", "occurred_on": "2024-05-14"},
            ]
        },
    )


async def _dashboard_html(app: Starlette, resident: Resident) -> str:
    """The real dashboard template, rendered from the real model (no request: no session)."""
    model = await dashboard.build_dashboard(
        resident_id=resident.id, secret_key=app.state.settings.secret_key
    )
    template = app.state.templates.env.get_template("resident/dashboard.html")
    return html.unescape(
        template.render(
            d=model,
            refresh=False,
            refresh_stopped=False,
            new_key=lambda: "cle",
            state_label=views.state_label,
            kind_label=views.kind_label,
            request=None,
        )
    )


async def test_dashboard_shows_declared_holding_and_lineage_to_that_resident_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await make_signatory("bibus", name="Bibus")
    camille = await make_resident("camille@exemple.fr")
    yann = await make_resident("yann@exemple.fr")
    await _declare_for(client, "camille@exemple.fr")

    mine = await _dashboard_html(app, camille)
    assert "Eau du Ponant a déclaré détenir des données vous concernant." in mine
    assert "Gestion des abonnés 1" in mine  # the declaration's title, not its code
    assert "Bibus a déclaré" not in mine
    assert "Le cheminement de mes données" in mine
    assert "Imprimerie du Léon" in mine and "envoi des factures" in mine
    assert mine.index("14 mai 2024") < mine.index("1er mars 2024")  # newest first
    assert "personne (usage interne)" in mine  # no recipient

    theirs = await _dashboard_html(app, yann)
    assert "a déclaré détenir des données vous concernant" not in theirs
    assert "Imprimerie du Léon" not in theirs
    assert "Aucun signataire n'a encore signalé avoir utilisé ou transmis vos données." in theirs
    assert "Aucun signataire n'a encore déclaré de lui-même" in theirs


async def test_lineage_shows_the_50_newest_and_says_there_are_more(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    camille = await make_resident("camille@exemple.fr")
    eau = await partner(client, "eau-du-ponant")
    subject = keyed_hash(await eau.key(), "email", "camille@exemple.fr")
    start = date(2024, 1, 1)
    events = [
        {
            "subject_hash": subject,
            "category": f"catégorie {n}",
            "occurred_on": (start + timedelta(days=n)).isoformat(),
        }
        for n in range(60)
    ]
    assert (await eau.send("POST", "/api/v1/lineage-events", {"events": events})).status_code == 200
    page = await _dashboard_html(app, camille)
    assert "catégorie 59" in page and "catégorie 10" in page
    assert "catégorie 9<" not in page
    assert "Seuls les 50 événements les plus récents sont affichés, sur 60 au total." in page


async def test_dashboard_queries_do_not_grow_with_signatories(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    camille = await make_resident("camille@exemple.fr")

    async def add_declaring_signatory(slug: str) -> None:
        await make_signatory(slug)
        signatory_partner = await partner(client, slug)
        subject = keyed_hash(await signatory_partner.key(), "email", "camille@exemple.fr")
        await signatory_partner.send(
            "PUT", "/api/v1/holdings", {"holdings": [{"hash": subject, "kind": "email"}]}
        )
        await signatory_partner.send(
            "POST",
            "/api/v1/lineage-events",
            {"events": [{"subject_hash": subject, "category": "x", "occurred_on": "2024-01-02"}]},
        )

    async def queries() -> int:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
            model = await dashboard.build_dashboard(
                resident_id=camille.id, secret_key=app.state.settings.secret_key
            )
        assert model.transparency is not None
        return len([r for r in caplog.records if r.name == "tortoise.db_client"])

    await add_declaring_signatory("eau-du-ponant")
    with_one = await queries()
    for n in range(4):
        await add_declaring_signatory(f"signataire-{n}")
    with_five = await queries()
    model = await dashboard.build_dashboard(
        resident_id=camille.id, secret_key=app.state.settings.secret_key
    )
    assert model.transparency is not None and len(model.transparency.holdings) == 5
    assert with_one > 0
    assert with_five == with_one


async def test_mon_espace_page_shows_the_holding_and_lineage(
    app: Starlette, client: httpx.AsyncClient, worker: Worker, mail_sink: MailSink
) -> None:
    await make_signatory("eau-du-ponant", name="Eau du Ponant")
    await _declare_for(client, "camille@exemple.fr")
    await log_in(client, worker, mail_sink, "camille@exemple.fr")
    page = page_text(await client.get("/mon-espace"))
    assert "Eau du Ponant a déclaré détenir des données vous concernant." in page
    assert "Le cheminement de mes données" in page and "Imprimerie du Léon" in page
