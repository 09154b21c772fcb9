"""The alert ladder: reminder → formal notice → exclusion proposed, each public, each once;
signatories answer through the signed link or the API."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from desk.charter import alerts
from desk.charter.alerts import Thresholds
from desk.charter.models import Alert, AlertLevel
from desk.core import clock
from desk.mail.sink import MailSink
from desk.outbox.worker import Worker
from desk.requests import transitions
from desk.runtime import Runtime
from tests.desk.charter.support import bearer, install_clock, one_delivery
from tests.factories import make_resident, make_signatory
from tests.helpers import csrf_token

LADDER = Thresholds(formal_notice_days=15, rolling_overdue=5, exclusion_days=30)


async def _evaluate() -> list[Alert]:
    return await alerts.evaluate_alerts(now=clock.now(), thresholds=LADDER)


async def test_the_ladder_climbs_one_step_at_a_time_and_is_public(
    client: httpx.AsyncClient,
    worker: Worker,
    mail_sink: MailSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = install_clock(monkeypatch)
    late = await make_signatory("eau-du-ponant", name="Eau du Ponant")
    good = await make_signatory("bibus", name="Bibus")
    resident = await make_resident()
    delivery = await one_delivery(late, resident.id)
    await one_delivery(good, resident.id)
    await worker.run_until_idle()
    runtime: Runtime = worker.context
    fresh = await one_delivery(good, (await make_resident("b@exemple.invalid")).id)
    await transitions.fulfil(
        delivery_id=fresh.id,
        actor="t",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"holds_data": False},
    )

    fake.moment = delivery.due_at - timedelta(hours=1)
    assert await _evaluate() == []

    fake.moment = delivery.due_at + timedelta(hours=1)
    first = await _evaluate()
    # Bibus is late too (its first delivery is unanswered): each signatory has its own ladder.
    assert {(a.signatory_id, a.level) for a in first} == {  # type: ignore[attr-defined]
        (late.id, AlertLevel.REMINDER),
        (good.id, AlertLevel.REMINDER),
    }
    mine = next(a for a in first if a.signatory_id == late.id)  # type: ignore[attr-defined]
    assert mine.delivery_ids == [delivery.id]
    assert f"n° {delivery.id}" in mine.reason
    assert await _evaluate() == []  # never twice the same step

    await worker.run_until_idle()
    notice = mail_sink.to(late.dpo_email)[-1]
    assert "Alerte 1" in notice.subject
    link = next(x for x in notice.links if "/partenaires/charte/" in x)

    fake.advance(days=14)
    assert await _evaluate() == []
    fake.advance(days=1, minutes=1)
    second = await _evaluate()
    assert [a.level for a in second if a.signatory_id == late.id] == [  # type: ignore[attr-defined]
        AlertLevel.FORMAL_NOTICE
    ]
    fake.advance(days=29)
    assert [a for a in await _evaluate() if a.signatory_id == late.id] == []  # type: ignore[attr-defined]
    fake.advance(days=1, minutes=1)
    third = [a for a in await _evaluate() if a.signatory_id == late.id]  # type: ignore[attr-defined]
    assert [a.level for a in third] == [AlertLevel.EXCLUSION_PROPOSED]
    fake.advance(days=60)
    assert [a for a in await _evaluate() if a.signatory_id == late.id] == []  # type: ignore[attr-defined]
    await worker.run_until_idle()
    assert "Alerte 3" in mail_sink.to(late.dpo_email)[-1].subject

    page = await client.get("/signataires/eau-du-ponant/alertes")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Alerte 1 : rappel" in text
    assert "Alerte 2 : mise en demeure" in text
    assert "Alerte 3 : exclusion proposée au comité d'éthique" in text
    data = (await client.get("/signataires/eau-du-ponant/alertes.json")).json()
    assert [a["level"] for a in data["alerts"]] == [3, 2, 1]
    assert all(a["delivery_ids"] == [delivery.id] for a in data["alerts"])

    # The signatory answers through the link of the alert email.
    path = link.removeprefix("http://testserver")
    assert (await client.get(path)).status_code == 200
    token = await csrf_token(client, path)
    alert_id = third[0].id
    empty = await client.post(
        f"{path}/alertes/{alert_id}", data={"csrftoken": token, "explanation": " ", "plan": "x"}
    )
    assert empty.status_code == 422
    assert "Écrivez votre explication" in html.unescape(empty.text)
    done = await client.post(
        f"{path}/alertes/{alert_id}",
        data={
            "csrftoken": token,
            "explanation": "Notre DPO était absent.",
            "plan": "Un suppléant est nommé.",
        },
    )
    assert done.status_code == 303
    public = html.unescape((await client.get("/signataires/eau-du-ponant/alertes")).text)
    assert "Notre DPO était absent." in public and "Un suppléant est nommé." in public

    assert (await client.get("/partenaires/charte/faux-lien")).status_code == 404
    assert (await client.get("/signataires/nobody/alertes")).status_code == 404


async def test_an_episode_resolved_closes_and_a_new_one_starts_at_alert_1(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = worker.context
    fake = install_clock(monkeypatch)
    signatory = await make_signatory("eau-du-ponant", adapter="postal")
    resident = await make_resident()
    first = await one_delivery(signatory, resident.id)
    fake.moment = first.due_at + timedelta(days=1)
    assert [a.level for a in await _evaluate()] == [AlertLevel.REMINDER]
    await transitions.fulfil(
        delivery_id=first.id,
        actor="t",
        keyring=runtime.keyring,
        issuer=runtime.issuer,
        outcome={"holds_data": False},
    )
    assert await _evaluate() == []
    assert await Alert.filter(closed_at__isnull=True).count() == 0

    second = await one_delivery(signatory, resident.id)
    fake.moment = second.due_at + timedelta(days=1)
    again = await _evaluate()
    assert [a.level for a in again] == [AlertLevel.REMINDER]
    assert again[0].delivery_ids == [second.id]


async def test_repeated_lateness_in_a_rolling_year_brings_the_formal_notice(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = worker.context
    fake = install_clock(monkeypatch)
    signatory = await make_signatory("eau-du-ponant", adapter="postal")
    resident = await make_resident()
    for _ in range(4):  # four answered late, a day after each deadline
        delivery = await one_delivery(signatory, resident.id)
        fake.moment = delivery.due_at + timedelta(days=1)
        await transitions.fulfil(
            delivery_id=delivery.id,
            actor="t",
            keyring=runtime.keyring,
            issuer=runtime.issuer,
            outcome={"holds_data": False},
        )
        fake.advance(days=1)
    fifth = await one_delivery(signatory, resident.id)
    fake.moment = fifth.due_at + timedelta(hours=2)
    assert [a.level for a in await _evaluate()] == [AlertLevel.REMINDER]
    fake.advance(days=1)
    notice = await _evaluate()
    assert [a.level for a in notice] == [AlertLevel.FORMAL_NOTICE]
    assert "5 demandes ont dépassé leur date limite" in notice[0].reason


async def test_signatories_read_and_answer_alerts_through_the_api(
    client: httpx.AsyncClient, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    signatory = await make_signatory("eau-du-ponant", adapter="postal")
    other = await make_signatory("bibus", adapter="postal")
    resident = await make_resident()
    delivery = await one_delivery(signatory, resident.id)
    await one_delivery(other, resident.id)
    fake = install_clock(monkeypatch)
    fake.moment = delivery.due_at + timedelta(hours=1)
    raised = await _evaluate()
    mine = next(a for a in raised if a.signatory_id == signatory.id)  # type: ignore[attr-defined]
    theirs = next(a for a in raised if a.signatory_id == other.id)  # type: ignore[attr-defined]
    fake.moment = datetime.now(UTC)  # tokens are checked against real time
    headers = await bearer(client, "eau-du-ponant")

    listed = await client.get("/api/v1/alerts", headers=headers)
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["alerts"]] == [mine.id]

    url = f"/api/v1/alerts/{mine.id}/response"
    missing = await client.post(url, json={"explanation": "Retard"}, headers=headers)
    assert missing.status_code == 422
    assert "plan d'action" in missing.json()["detail"]
    not_json = await client.post(
        url, content=b"{", headers={**headers, "content-type": "application/json"}
    )
    assert not_json.status_code == 400
    foreign = await client.post(
        f"/api/v1/alerts/{theirs.id}/response",
        json={"explanation": "a", "corrective_plan": "b"},
        headers=headers,
    )
    assert foreign.status_code == 404
    ok = await client.post(
        url,
        json={"explanation": "Retard de courrier", "corrective_plan": "Relance"},
        headers=headers,
    )
    assert ok.status_code == 200
    assert ok.json()["response"] == "Retard de courrier"
    assert (await client.get("/api/v1/alerts")).status_code == 401

    spec = (await client.get("/api/openapi.json")).json()
    assert "post" in spec["paths"]["/api/v1/alerts/{alert_id}/response"]
    assert "put" in spec["paths"]["/api/v1/self-evaluations/{year}"]
